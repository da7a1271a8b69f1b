/**
 * Runner B of the real-editor tests: the same bundled suite in VS Code desktop (Electron) through
 * @vscode/test-electron, for machines that can download VS Code from Microsoft's update server
 * (developer laptops, public CI). This project's CI cannot (it reaches only the npm registry and
 * Debian's packages): there runner A, run-code-server.ts, is used.
 *
 * As in runner A, the packaged extension is what is tested: the .vsix is installed with VS Code's
 * CLI into a throw-away extensions directory and the folder it was unpacked into is passed as
 * extensionDevelopmentPath (the suite checks that no sources are next to it).
 *
 * Options: --no-build (package the current dist/); $VSCODE_VERSION (default "stable", e.g. "1.82.0"
 * for the oldest supported). On Linux without a display, run it under `xvfb-run -a`.
 * Exit code: the suite's (0 passed, 1 failed); 3 (EXIT_PREREQUISITES) when VS Code cannot be
 * downloaded.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { downloadAndUnzipVSCode, resolveCliPathFromVSCodeExecutablePath, runTests } from '@vscode/test-electron';
import { EXIT_PREREQUISITES, REPO, buildSuite, copyWorkspace, installedExtension, packageExtension, say, secondsSince } from './shared.ts';

/** VS Code downloads and the run's files: with runner A's cache (outside the folders vsce lists). */
const CACHE = join(process.env.IPTABLES_LSP_REAL_EDITOR_CACHE ?? join(REPO, 'node_modules', '.cache', 'iptables-lsp-real-editor'), 'vscode-test');

async function main(): Promise<number> {
  const started = Date.now();
  const version = process.env.VSCODE_VERSION ?? 'stable';
  let vscodeExecutablePath: string;
  try {
    vscodeExecutablePath = await downloadAndUnzipVSCode({ version, cachePath: CACHE, timeout: 30_000 });
  } catch (e) {
    say(`PREREQUISITE MISSING: cannot download VS Code ${version} from Microsoft's update server (${(e as Error).message}).`);
    say('This runner needs internet access to update.code.visualstudio.com; on machines that reach only the npm registry, run `npm run test:real-editor` (code-server) instead.');
    return EXIT_PREREQUISITES;
  }
  say(`VS Code ${version} ready in ${secondsSince(started)}: ${vscodeExecutablePath}`);
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    say('no DISPLAY: VS Code desktop needs one; if it fails to start, run this under `xvfb-run -a`');
  }

  const vsix = packageExtension({ build: !process.argv.includes('--no-build') });
  const suiteIndex = await buildSuite();
  const session = join(CACHE, 'session');
  rmSync(session, { recursive: true, force: true });
  const extensionsDir = join(session, 'extensions');
  const userDataDir = join(session, 'user-data');
  mkdirSync(extensionsDir, { recursive: true });
  const workspace = copyWorkspace(join(session, 'workspace'));

  const cli = resolveCliPathFromVSCodeExecutablePath(vscodeExecutablePath);
  const install = spawnSync(cli, ['--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', vsix, '--force'], { encoding: 'utf8', timeout: 120_000 });
  if (install.status !== 0) throw new Error(`${cli} --install-extension ${vsix} failed (${install.status ?? install.signal}):\n${install.stdout}${install.stderr}`);
  const extensionDevelopmentPath = installedExtension(extensionsDir);
  say(`installed ${vsix} into ${extensionDevelopmentPath}`);

  try {
    const code = await runTests({
      vscodeExecutablePath,
      extensionDevelopmentPath,
      extensionTestsPath: suiteIndex,
      launchArgs: [workspace, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--disable-workspace-trust'],
    });
    say(`passed in ${secondsSince(started)}`);
    return code;
  } catch (e) {
    say(`FAILED after ${secondsSince(started)}: ${(e as Error).message}`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    say(`FAILED: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
