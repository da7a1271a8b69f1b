/**
 * The real-editor tests as part of `npm test`: runs scripts/real-editor/run-code-server.ts (the
 * packaged extension in code-server's VS Code, driven by headless Chromium; see that file) as a
 * child process and expects exit code 0. When a prerequisite is missing (not Linux x64, no
 * Chromium, no network for the one-time install of Node 24 and code-server, no libkrb5-dev) the
 * runner exits with EXIT_PREREQUISITES and the test is skipped with a loud warning, except under
 * CI=true, where it fails. The runner ends its code-server process group and browser itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_PREREQUISITES, REPO } from '../scripts/real-editor/shared.ts';
import { seconds } from './kernel/util.ts';

test('the packaged extension passes the real-editor suite in VS Code (code-server)', async (t) => {
  const started = Date.now();
  // `npm test` has just built dist/: package it as it is (no second build while other tests may be
  // running dist/cli.cjs). Run alone, this file has the runner build first.
  const builtByNpmTest = process.env.npm_lifecycle_event === 'test' && existsSync(join(REPO, 'dist/client.cjs'));
  const args = ['--import', 'tsx', join(REPO, 'scripts/real-editor/run-code-server.ts'), ...(builtByNpmTest ? ['--no-build'] : [])];
  // On a test timeout the runner gets SIGTERM and ends code-server, npm and the browser itself;
  // node --test may also end this whole file with SIGTERM, which is passed on the same way (and
  // the runner ends them too if this process disappears).
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], signal: t.signal });
  child.on('error', () => undefined);
  const onTerm = (): void => {
    child.once('close', () => process.exit(143));
    child.kill('SIGTERM');
    setTimeout(() => process.exit(143), 20_000).unref();
  };
  process.once('SIGTERM', onTerm);
  t.after(() => {
    process.removeListener('SIGTERM', onTerm);
  });
  let output = '';
  const collect = (d: Buffer): void => {
    output += d.toString();
    // The runner's own progress lines (setup, timings, result) show while it works.
    for (const line of d.toString().split('\n')) if (line.startsWith('[real-editor]') || line.includes('!!! RETRY') || /^\s+\d+ (passing|failing|pending)/.test(line)) console.log(line);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code === EXIT_PREREQUISITES) {
    const reason = output.match(/PREREQUISITE MISSING: (.*)/)?.[1] ?? 'a prerequisite is missing';
    if (process.env.CI === 'true') assert.fail(`the real-editor tests cannot run under CI: ${reason}\n${output}`);
    console.warn(`\n!!! WARNING: the real-editor tests cannot run here: ${reason}; SKIPPED !!!\n`);
    t.skip(reason);
    return;
  }
  // Mocha lists the failures after its "N failing" line, at the end of a long output: show them
  // first, both here and in the assertion, so that a report cut to its first lines still names them.
  const failures = output.match(/^\s+\d+ failing[\s\S]*/m)?.[0];
  if (failures) console.log(`[real-editor] the failures:\n${failures}`);
  assert.equal(code, 0, `the real-editor runner failed (exit ${code}) after ${seconds(Date.now() - started)}:\n${failures ? `${failures}\n--- the whole output:\n` : ''}${output}`);
  assert.match(output, /\d+ passing/);
  assert.doesNotMatch(output, /\d+ failing/);
});
