/**
 * Runs the TextMate grammar's tests (test/editor/grammar/*.rules, vscode-tmgrammar-test format:
 * `^^^ scope` assertions under each line) with vscode-tmgrammar-test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

test('TextMate grammar: scope assertions pass', () => {
  const bin = `${root}node_modules/vscode-tmgrammar-test/dist/unit.js`;
  const r = spawnSync(process.execPath, [bin, '-g', 'syntaxes/iptables.tmLanguage.json', 'test/editor/grammar/*.rules'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /neutron\.rules run successful/);
});
