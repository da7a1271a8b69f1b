/**
 * What the two real-editor runners share: the repository's paths, the bundling of the mocha suite
 * (test/real-editor/suite → out/real-editor/suite, CommonJS, `vscode` external), packaging the
 * extension as a .vsix, a throw-away copy of the test workspace, and the exit codes the
 * `node --test` wrapper (test/real-editor.test.ts) understands.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The repository's root directory (with a trailing separator removed). */
export const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** Where the bundled suite goes: inside the repository (git-ignored), next to nothing else. */
export const SUITE_OUT = join(REPO, 'out', 'real-editor', 'suite');

/** The test workspace's sources; runners open a copy, so no test can change tracked files. */
export const WORKSPACE_SOURCE = join(REPO, 'test', 'real-editor', 'workspace');

/** The packaged extension `npm run package` writes. */
export const VSIX = join(REPO, 'iptables-lsp.vsix');

/** The extension's identifier, as VS Code names its installed folder (`<id>-<version>`). */
export const EXTENSION_ID = 'iptables-lsp.iptables-lsp';

/** Exit code of a runner when something it needs is missing (no Chromium, no network, not Linux): the wrapper test skips (or fails under CI=true). */
export const EXIT_PREREQUISITES = 3;

/** A missing prerequisite: the runner exits with EXIT_PREREQUISITES and this message. */
export class PrerequisiteError extends Error {}

/** Prints a runner's progress line (stdout, so it interleaves with the suite's output). */
export function say(message: string): void {
  process.stdout.write(`[real-editor] ${message}\n`);
}

/** Seconds with one decimal, for timing lines. */
export function secondsSince(start: number): string {
  return `${((Date.now() - start) / 1000).toFixed(1)} s`;
}

/** Bundles the mocha suite: index.cjs (with mocha inside) and one .test.cjs per test file. */
export async function buildSuite(): Promise<string> {
  const dir = join(REPO, 'test', 'real-editor', 'suite');
  const entryPoints = readdirSync(dir).filter((f) => f === 'index.ts' || f.endsWith('.test.ts')).map((f) => join(dir, f));
  rmSync(SUITE_OUT, { recursive: true, force: true });
  await build({
    entryPoints,
    outdir: SUITE_OUT,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    external: ['vscode'],
    logLevel: 'warning',
    // Mocha's parallel mode (worker files found with require.resolve) is never used here.
    logOverride: { 'require-resolve-not-external': 'silent' },
  });
  return join(SUITE_OUT, 'index.cjs');
}

/**
 * Packages the extension: `npm run package` (build, then vsce) by default, or `npm run
 * package:vsix` (vsce on the current dist/) when the caller has just built, as `npm test` has.
 */
export function packageExtension(options: { build: boolean }): string {
  if (process.env.IPTABLES_LSP_VSIX) {
    if (!existsSync(process.env.IPTABLES_LSP_VSIX)) throw new Error(`IPTABLES_LSP_VSIX=${process.env.IPTABLES_LSP_VSIX} does not exist`);
    return process.env.IPTABLES_LSP_VSIX;
  }
  const script = options.build ? 'package' : 'package:vsix';
  const r = spawnSync('npm', ['run', '--silent', script], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(VSIX)) throw new Error(`npm run ${script} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
  return VSIX;
}

/** Copies the test workspace into `dir` (emptied first) and returns the copy's path. */
export function copyWorkspace(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(WORKSPACE_SOURCE, dir, { recursive: true });
  return dir;
}

/** The folder VS Code unpacked the extension into, under an extensions directory. */
export function installedExtension(extensionsDir: string): string {
  const found = readdirSync(extensionsDir).filter((f) => f.startsWith(`${EXTENSION_ID}-`));
  if (found.length !== 1) throw new Error(`expected one ${EXTENSION_ID}-* folder in ${extensionsDir}, found: ${found.join(', ') || 'none'}`);
  return join(extensionsDir, found[0]!);
}
