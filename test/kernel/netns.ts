/**
 * The kernel oracle: applies an iptables-restore file in a fresh, throw-away network namespace with
 * the real iptables 1.8.9 binaries (nf_tables and legacy backends) and reports whether the kernel
 * accepted it and which line the tool blamed. Only rules are loaded; no packet is ever sent.
 *
 * Every call creates its own namespace (`ora-<pid>-<counter>`), so no state can leak from one case
 * into the next, and deletes it again whatever happens.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export type Family = 'ipv4' | 'ipv6';
export type Backend = 'nft' | 'legacy';

/** What one backend said about one file. */
export interface BackendResult {
  /** True when the restore program exited with status 0 (warnings on stderr do not count as errors). */
  readonly accepted: boolean;
  /** The smallest 1-based line the tool named, as it printed it; absent when it named none. */
  readonly errorLine?: number;
  /** Every line number the tool named, ascending (nft can name several, e.g. a loop reached twice). */
  readonly lines: readonly number[];
  /** The tool's stderr, trimmed; empty when it said nothing. */
  readonly message: string;
  /** The exit status, or null when the tool died of a signal (nft segfaults on some `-R` lines). */
  readonly exitCode: number | null;
}

/** The verdict of both backends together. */
export interface KernelVerdict {
  /** True only when both backends accepted the file. */
  readonly accepted: boolean;
  /** The smallest line either backend named. */
  readonly errorLine?: number;
  readonly perBackend: Readonly<Record<Backend, BackendResult>>;
}

/** The restore program for a family and backend, as Debian 12 installs them. */
export function restoreBinary(family: Family, backend: Backend): string {
  return `${family === 'ipv6' ? 'ip6tables' : 'iptables'}-${backend}-restore`;
}

/** Upper bound for one restore run; real runs take milliseconds, so hitting it means something hangs. */
const RUN_TIMEOUT_MS = 30_000;
/** Upper bound for `ip netns add/del`. */
const IP_TIMEOUT_MS = 10_000;

let counter = 0;

/** A namespace name that was never used before in this process and cannot clash with other processes. */
function freshNamespaceName(): string {
  counter += 1;
  return `ora-${process.pid}-${counter}`;
}

/**
 * The legacy backend serialises all writers through one global lock file, even across namespaces.
 * Runs in parallel namespaces would fail with "Another app is currently holding the xtables lock"
 * and look like rejections, so every run gets a lock file of its own in a private directory.
 */
let lockDir: string | undefined;
function lockFileFor(namespace: string): string {
  if (lockDir === undefined) {
    lockDir = mkdtempSync(join(tmpdir(), 'ora-lock-'));
    const dir = lockDir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return join(lockDir, `${namespace}.lock`);
}

/** Finds an executable on PATH (plus the sbin directories, which a non-login root shell may lack). */
function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // Not in this directory; try the next one.
    }
  }
  return undefined;
}

/** The environment for the child processes: the sbin directories on PATH and the private lock file. */
function childEnv(namespace: string): NodeJS.ProcessEnv {
  const path = ['/usr/sbin', '/sbin', process.env.PATH ?? '/usr/bin:/bin'].join(delimiter);
  return { ...process.env, PATH: path, XTABLES_LOCKFILE: lockFileFor(namespace), LC_ALL: 'C' };
}

/**
 * Extracts the line numbers iptables-restore names on stderr. The forms, all verified on 1.8.9:
 * `Error occurred at line: N` (parse errors), `…: line N failed…` (a command failed; legacy also
 * uses it for a COMMIT the kernel refused), `line N: RULE_APPEND failed (…)` (nft batch refused by
 * the kernel), `COMMIT expected at line N` (end of file inside a table) and legacy's
 * ``Can't set policy `X' on `Y' line N: …`` (bad policy or policy on a non-built-in chain).
 */
export function parseErrorLines(stderr: string): number[] {
  const patterns = [/Error occurred at line: (\d+)/g, /\bline (\d+) failed/g, /^line (\d+): /gm, /COMMIT expected at line (\d+)/g, /^.*Can't set policy .* line (\d+): /gm];
  const found = new Set<number>();
  for (const pattern of patterns) {
    for (const match of stderr.matchAll(pattern)) found.add(Number(match[1]));
  }
  // Any other message that names a line still says which one; the specific forms come first
  // because this loose pattern could in principle pick up a number from an echoed argument.
  if (found.size === 0) for (const match of stderr.matchAll(/\bline:? (\d+)\b/g)) found.add(Number(match[1]));
  return [...found].sort((a, b) => a - b);
}

/** Turns the outcome of a restore run into a BackendResult. */
function toResult(status: number | null, signal: string | null, stderr: string): BackendResult {
  const lines = parseErrorLines(stderr);
  const trimmed = stderr.trim();
  const message = signal !== null ? `${trimmed}${trimmed === '' ? '' : '\n'}(killed by ${signal})` : trimmed;
  const result: BackendResult = { accepted: status === 0, lines, message, exitCode: status };
  return lines.length > 0 ? { ...result, errorLine: lines[0] } : result;
}

/** Throws when a helper command (`ip netns …`) did not succeed, because that is a harness failure, not a verdict. */
function ensureOk(what: string, run: SpawnSyncReturns<string>): void {
  if (run.error !== undefined) throw new Error(`${what}: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`${what} exited with ${String(run.status ?? run.signal)}: ${run.stderr.trim()}`);
}

/** Deletes a namespace and its lock file, ignoring failures (it may not exist when its creation failed). */
function deleteNamespaceSync(namespace: string): void {
  spawnSync('ip', ['netns', 'del', namespace], { encoding: 'utf8', timeout: IP_TIMEOUT_MS, env: childEnv(namespace) });
  rmSync(lockFileFor(namespace), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes `ora-<pid>-<n>` namespaces left behind by an oracle process that no longer exists (one
 * killed by a test timeout cannot run its cleanup). Namespaces of live processes are left alone.
 */
function removeStaleNamespaces(): void {
  let names: string[];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^ora-(\d+)-\d+$/.exec(name);
    if (match && Number(match[1]) !== process.pid && !isAlive(Number(match[1]))) deleteNamespaceSync(name);
  }
}

/**
 * Applies `text` with the restore program of `family` and `backend` inside a fresh namespace and
 * reports the verdict. Synchronous: convenient for single checks; use applyInKernelAsync to run
 * several namespaces at once.
 */
export function applyInKernel(text: string, family: Family, backend: Backend): BackendResult {
  const namespace = freshNamespaceName();
  const env = childEnv(namespace);
  try {
    ensureOk(`ip netns add ${namespace}`, spawnSync('ip', ['netns', 'add', namespace], { encoding: 'utf8', timeout: IP_TIMEOUT_MS, env }));
    const run = spawnSync('ip', ['netns', 'exec', namespace, restoreBinary(family, backend)], {
      input: text,
      encoding: 'utf8',
      timeout: RUN_TIMEOUT_MS,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    // EPIPE only means the program stopped reading stdin early (it does so after a parse error);
    // its verdict is still complete. Any other error (timeout, cannot spawn) is a harness failure.
    const code = (run.error as NodeJS.ErrnoException | undefined)?.code;
    if (run.error !== undefined && !(code === 'EPIPE' && (run.status !== null || run.signal !== null))) {
      throw new Error(`${restoreBinary(family, backend)} in ${namespace}: ${run.error.message}`);
    }
    return toResult(run.status, run.signal, run.stderr);
  } finally {
    deleteNamespaceSync(namespace);
  }
}

/** Runs a command asynchronously with optional stdin and a timeout; rejects only when it cannot run at all. */
function run(command: string, args: readonly string[], input: string | undefined, timeout: number, env: NodeJS.ProcessEnv): Promise<{ status: number | null; signal: string | null; stderr: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeout);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stderr, timedOut });
    });
    // A restore program that stops reading early (e.g. after a parse error) closes stdin; the
    // resulting EPIPE is expected and must not crash the test process.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** The asynchronous twin of applyInKernel, so that a few namespaces can be worked on at once. */
export async function applyInKernelAsync(text: string, family: Family, backend: Backend): Promise<BackendResult> {
  // Creating a namespace can fail transiently when many are created and deleted at once (the
  // /run/netns bind mounts are shared); two more tries, each with a new name, absorb that.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await applyOnceAsync(text, family, backend);
    } catch (error) {
      if (!(error instanceof NamespaceError) || attempt >= 3) throw error;
    }
  }
}

class NamespaceError extends Error {}

async function applyOnceAsync(text: string, family: Family, backend: Backend): Promise<BackendResult> {
  const namespace = freshNamespaceName();
  const env = childEnv(namespace);
  try {
    const add = await run('ip', ['netns', 'add', namespace], undefined, IP_TIMEOUT_MS, env);
    if (add.status !== 0) throw new NamespaceError(`ip netns add ${namespace} exited with ${String(add.status ?? add.signal)}: ${add.stderr.trim()}`);
    const result = await run('ip', ['netns', 'exec', namespace, restoreBinary(family, backend)], text, RUN_TIMEOUT_MS, env);
    if (result.timedOut) throw new Error(`${restoreBinary(family, backend)} in ${namespace} timed out after ${RUN_TIMEOUT_MS} ms`);
    return toResult(result.status, result.signal, result.stderr);
  } finally {
    await run('ip', ['netns', 'del', namespace], undefined, IP_TIMEOUT_MS, env).catch(() => undefined);
    rmSync(lockFileFor(namespace), { force: true });
  }
}

/** Combines the two backends' results into one verdict. */
function combine(nft: BackendResult, legacy: BackendResult): KernelVerdict {
  const named = [nft.errorLine, legacy.errorLine].filter((line): line is number => line !== undefined);
  const verdict: KernelVerdict = { accepted: nft.accepted && legacy.accepted, perBackend: { nft, legacy } };
  return named.length > 0 ? { ...verdict, errorLine: Math.min(...named) } : verdict;
}

/** Applies the file with both backends, each in its own fresh namespace. */
export function kernelVerdict(text: string, family: Family): KernelVerdict {
  return combine(applyInKernel(text, family, 'nft'), applyInKernel(text, family, 'legacy'));
}

/** The asynchronous twin of kernelVerdict; the two backends run concurrently. */
export async function kernelVerdictAsync(text: string, family: Family): Promise<KernelVerdict> {
  const [nft, legacy] = await Promise.all([applyInKernelAsync(text, family, 'nft'), applyInKernelAsync(text, family, 'legacy')]);
  return combine(nft, legacy);
}

let availability: { ok: boolean; reason: string } | undefined;

/**
 * Whether the oracle can run here: root, a working `ip netns add`, the four restore programs, and a
 * kernel that accepts a trivial table through each of them (legacy needs the ip_tables modules,
 * nft needs nf_tables). The answer is computed once per process.
 */
export function kernelAvailability(): { ok: boolean; reason: string } {
  if (availability !== undefined) return availability;
  availability = probe();
  return availability;
}

function probe(): { ok: boolean; reason: string } {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ok: false, reason: 'the kernel oracle needs root (to create network namespaces and load rules)' };
  }
  for (const tool of ['ip', 'iptables-nft-restore', 'iptables-legacy-restore', 'ip6tables-nft-restore', 'ip6tables-legacy-restore']) {
    if (findExecutable(tool) === undefined) return { ok: false, reason: `${tool} is not installed (apt-get install -y iptables iproute2)` };
  }
  const version = spawnSync('iptables-nft-restore', ['--version'], { encoding: 'utf8', env: childEnv('probe') });
  if (!/v1\.8\.9\b/.test(`${version.stdout}${version.stderr}`)) {
    return { ok: false, reason: `the verdicts are calibrated on iptables 1.8.9, found: ${`${version.stdout}${version.stderr}`.trim() || 'no version'}` };
  }
  removeStaleNamespaces();
  const namespace = freshNamespaceName();
  const add = spawnSync('ip', ['netns', 'add', namespace], { encoding: 'utf8', timeout: IP_TIMEOUT_MS, env: childEnv(namespace) });
  deleteNamespaceSync(namespace);
  if (add.error !== undefined || add.status !== 0) {
    return { ok: false, reason: `\`ip netns add\` does not work here: ${add.error?.message ?? add.stderr.trim()}` };
  }
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const backend of ['nft', 'legacy'] as const) {
      try {
        const result = applyInKernel('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n', family, backend);
        if (!result.accepted) return { ok: false, reason: `${restoreBinary(family, backend)} rejects a trivial file: ${result.message}` };
      } catch (error) {
        return { ok: false, reason: `${restoreBinary(family, backend)} cannot run: ${(error as Error).message}` };
      }
    }
  }
  return { ok: true, reason: 'root, ip netns and iptables 1.8.9 (nft and legacy, IPv4 and IPv6) work' };
}
