/**
 * `npm run bench`: the performance benchmark of iptables-lsp against `iptables-restore --test`.
 *
 * In one run it
 * - generates Neutron compute-node dumps (bench/neutron-dump.ts) with 100, 1,000 and 5,000 ports and
 *   takes the largest real dump of ../shared/corpus/real-world/ (as it is, and with its anonymised
 *   MAC addresses replaced so that iptables-restore accepts it), and a blocklist of 100,000
 *   addresses (bench/blocklist-dump.ts);
 * - times, best of several runs, `iptables-nft-restore --test` and `iptables-legacy-restore --test`
 *   in a throw-away network namespace (no traffic is ever sent), our parse, our parse + model +
 *   validity diagnostics (`check`), our full diagnostics, and the CLI end to end;
 * - records the peak memory of the CLI and of the restore programs;
 * - drives the real language server (dist/server.cjs) in-process, in a child process of its own
 *   (bench/lsp-bench.ts): opening the 1,000-port (~26k-line) dump, one-character edits, and
 *   definition / references / hover on the 5,000-port (~130k-line) dump;
 * - fits the growth exponent of time against size (log-log least squares over 100 → 5,000 ports);
 * - profiles one check of the 5,000-port dump and lists the functions with the most self time;
 * - prints Markdown tables and writes bench/results/latest.json (and latest.md, and the profile).
 *
 * `npm run bench` builds first, so dist/ is current. Everything runs sequentially, and the runs of
 * the different tools on one input are interleaved (restore, parse, check, all, CLI, restore, …), so
 * that a burst of load on a shared machine hits all of them alike: the budgets are ratios measured in
 * the same run. The in-process timings use the core bundled by esbuild like dist/ (not the tsx
 * loader's transform, whose `keepNames` helper adds several per cent of self time).
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { findSourceMap } from 'node:module';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { build } from 'esbuild';
import type { CheckOptions, CheckResult, Diagnostic } from '../server/src/core/index.ts';
import type { CheckFileReport } from './check-file.ts';
import type { LspResults } from './lsp-bench.ts';
import { ipsetNames, neutronDump } from './neutron-dump.ts';
import { blocklistDump } from './blocklist-dump.ts';
import { series, type Series } from './series.ts';

const benchStart = performance.now();
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');
const CORPUS = resolve(ROOT, '..', 'shared', 'corpus', 'real-world');
const CLI = join(ROOT, 'dist', 'cli.cjs');
const SERVER = join(ROOT, 'dist', 'server.cjs');
const CHECK_FILE = join(ROOT, 'bench', 'check-file.ts');
const LSP_BENCH = join(ROOT, 'bench', 'lsp-bench.ts');
const CORE_BUNDLE = join(RESULTS, 'core.bundle.mjs');
const PORT_COUNTS = [100, 1_000, 5_000] as const;
/** The ports of the dump whose dispatch chains are in creation order rather than sorted. */
const UNSORTED_PORTS = 1_000;
/** The entries of the generated blocklist (bench/blocklist-dump.ts). */
const BLOCKLIST_SIZE = 100_000;

/** The core's public API, loaded from the esbuild bundle. */
type Core = typeof import('../server/src/core/index.ts');

/**
 * Bundles server/src/core/index.ts with the options of scripts/build.mjs (ESM instead of CJS, so
 * that it can be imported here) and loads it, with source maps on so that profile locations can be
 * mapped back to the TypeScript sources.
 */
async function loadCore(): Promise<Core> {
  mkdirSync(RESULTS, { recursive: true });
  await build({ entryPoints: [join(ROOT, 'server/src/core/index.ts')], outfile: CORE_BUNDLE, bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: 'inline', logLevel: 'warning' });
  process.setSourceMapsEnabled(true);
  return (await import(pathToFileURL(CORE_BUNDLE).href)) as Core;
}

/**
 * All our diagnostics: `check` with the rule-set analysis (unreachable, shadowed, redundant rules …)
 * on, with its default limits, as the CLI runs it.
 */
function allDiagnostics(core: Core, text: string, options: CheckOptions): CheckResult {
  return core.check(text, { ...options, analyses: true });
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/** A full garbage collection before each timed run, so that one run does not pay for the last one's garbage. */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Times one call of `fn`, after a full garbage collection. */
function timeOnce(fn: () => unknown): number {
  gc();
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/** The outcome of a child process run by `timedRun`. */
interface RunResult {
  /** Wall time from spawning to the end of the process, in milliseconds. */
  readonly ms: number;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command and measures its wall time. Asynchronous on purpose: while a child runs, the event
 * loop is free, so Ctrl-C reaches the handler that deletes the namespace.
 */
function timedRun(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; stdout?: boolean } = {}): Promise<RunResult> {
  return new Promise<RunResult>((resolvePromise, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', options.stdout ? 'pipe' : 'ignore', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error) => reject(new Error(`${command} ${args.join(' ')}: ${error.message}`)));
    child.on('close', (status) => resolvePromise({ ms: performance.now() - start, status, stdout, stderr }));
  });
}

/** Finds an executable on PATH or in the sbin directories, which a non-login root shell may lack. */
function which(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** Least-squares slope of log(y) against log(x): the exponent k of y ≈ c·x^k. */
function growthExponent(points: readonly { x: number; y: number }[]): number | null {
  const valid = points.filter((p) => p.x > 0 && p.y > 0);
  if (valid.length < 2) return null;
  const xs = valid.map((p) => Math.log(p.x));
  const ys = valid.map((p) => Math.log(p.y));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += ((xs[i] ?? 0) - mx) * ((ys[i] ?? 0) - my);
    den += ((xs[i] ?? 0) - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

/** Jiffies of the whole machine (busy and total) from /proc/stat, or undefined off Linux. */
function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Jiffies this process and its waited-for children have used (utime, stime, cutime, cstime of /proc/self/stat). */
function ownTicks(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // Fields 14 to 17 of proc(5); the slice starts at field 3.
    return (fields[11] ?? 0) + (fields[12] ?? 0) + (fields[13] ?? 0) + (fields[14] ?? 0);
  } catch {
    return undefined;
  }
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMs = (ms: number | null | undefined): string => (ms === null || ms === undefined || Number.isNaN(ms) ? 'n/a' : ms < 10 ? `${ms.toFixed(1)} ms` : `${fmtInt(ms)} ms`);
const fmtMB = (bytes: number): string => `${(bytes / 1e6).toFixed(bytes < 1e6 ? 2 : 1)} MB`;
const fmtRatio = (r: number | null): string => (r === null ? 'n/a' : `${r.toFixed(2)}×`);
const verdict = (ok: boolean | null): string => (ok === null ? 'not measured' : ok ? 'met' : '**missed**');

// ---------------------------------------------------------------------------------------------
// Inputs.

interface Input {
  /** Short key for the JSON. */
  readonly key: string;
  /** Label for the table. */
  readonly label: string;
  readonly file: string;
  readonly text: string;
  readonly lines: number;
  readonly bytes: number;
  readonly ports?: number;
  /** How many timed runs each measurement gets ("best of"). */
  readonly runs: number;
}

/** Fewer runs for big files: a run of the 5,000-port dump takes seconds. */
function runsFor(bytes: number): number {
  return bytes < 1e6 ? 10 : 5;
}

function makeInput(key: string, label: string, file: string, text: string, ports?: number): Input {
  const bytes = Buffer.byteLength(text);
  const lines = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  return { key, label, file, text, lines, bytes, ports, runs: runsFor(bytes) };
}

/** The largest file of the real-world corpus (by size), or undefined when the corpus is absent. */
function largestRealFile(): string | undefined {
  let best: { file: string; size: number } | undefined;
  let names: string[];
  try {
    names = readdirSync(CORPUS);
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (/^(LICENSE|README)/i.test(name)) continue;
    const file = join(CORPUS, name);
    const stat = statSync(file);
    if (stat.isFile() && (!best || stat.size > best.size)) best = { file, size: stat.size };
  }
  return best?.file;
}

// ---------------------------------------------------------------------------------------------
// iptables-restore --test in a network namespace.

/** What one backend said about one input. */
interface RestoreResult {
  readonly available: boolean;
  /** Why it was not run, when it was not. */
  readonly skipped?: string;
  readonly accepted?: boolean;
  /** The line iptables-restore blamed when it rejected the input. */
  readonly errorLine?: number;
  readonly message?: string;
  readonly time?: Series;
  /** Peak resident set size of the restore program, in bytes (from GNU time). */
  readonly peakRss?: number;
}

type Backend = 'nft' | 'legacy';

/**
 * A throw-away network namespace `bench-<pid>` with a private xtables lock file, holding the ipsets
 * the dumps refer to. Only rules are checked (`--test`), nothing is committed, no traffic is sent.
 */
class Namespace {
  readonly name = `bench-${process.pid}`;
  private readonly dir = mkdtempSync(join(tmpdir(), 'iptables-lsp-bench-lock-'));
  private readonly env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: ['/usr/sbin', '/sbin', process.env.PATH ?? '/usr/bin:/bin'].join(delimiter),
    XTABLES_LOCKFILE: join(this.dir, 'xtables.lock'),
    LC_ALL: 'C',
  };
  private readonly sets = new Set<string>();
  private alive = false;

  /** Creates the namespace; returns the reason when that is impossible here. */
  static open(): Namespace | string {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (network namespaces)';
    for (const tool of ['ip', 'iptables-nft-restore', 'iptables-legacy-restore', 'ip6tables-nft-restore', 'ip6tables-legacy-restore']) {
      if (which(tool) === undefined) return `${tool} is not installed (apt-get install -y iptables iproute2)`;
    }
    const ns = new Namespace();
    const add = spawnSync('ip', ['netns', 'add', ns.name], { encoding: 'utf8', env: ns.env });
    if (add.status !== 0) {
      ns.close();
      return `\`ip netns add\` failed: ${(add.stderr || add.error?.message || '').trim()}`;
    }
    ns.alive = true;
    return ns;
  }

  /** Creates the ipsets `names` (hash:net, as Neutron does); returns the reason when that is impossible. */
  ensureSets(names: readonly string[], family: 'ipv4' | 'ipv6'): string | undefined {
    const missing = names.filter((n) => !this.sets.has(n));
    if (missing.length === 0) return undefined;
    if (which('ipset') === undefined) return 'ipset is not installed (apt-get install -y ipset); iptables-restore rejects `-m set` rules whose set does not exist';
    for (const name of missing) {
      const run = spawnSync('ip', ['netns', 'exec', this.name, 'ipset', 'create', '-exist', name, 'hash:net', 'family', family === 'ipv6' ? 'inet6' : 'inet'], { encoding: 'utf8', env: this.env });
      if (run.status !== 0) return `ipset create ${name} failed: ${(run.stderr || run.error?.message || '').trim()}`;
      this.sets.add(name);
    }
    return undefined;
  }

  /** Runs `command` inside the namespace and times it. */
  exec(command: string, args: readonly string[]): Promise<RunResult> {
    return timedRun('ip', ['netns', 'exec', this.name, command, ...args], { env: this.env });
  }

  /** Deletes the namespace (and its ipsets with it) and the lock directory. */
  close(): void {
    if (this.alive) spawnSync('ip', ['netns', 'del', this.name], { encoding: 'utf8', env: this.env });
    this.alive = false;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The restore program of a backend, and why it cannot run on an input (no namespace, no ipset). */
function prepareRestore(ns: Namespace | string, input: Input, family: 'ipv4' | 'ipv6', backend: Backend): { program: string; ns: Namespace } | string {
  if (typeof ns === 'string') return ns;
  const problem = ns.ensureSets(ipsetNames(input.text), family);
  if (problem !== undefined) return problem;
  return { program: `${family === 'ipv6' ? 'ip6tables' : 'iptables'}-${backend}-restore`, ns };
}

/** Turns the timed runs of one backend into a RestoreResult, with one more run under GNU time for the peak memory. */
async function restoreResult(prepared: { program: string; ns: Namespace }, input: Input, times: number[], last: { status: number | null; stderr: string }): Promise<RestoreResult> {
  const lines = [...last.stderr.matchAll(/(?:Error occurred at line: |\bline )(\d+)/g)].map((m) => Number(m[1]));
  let peakRss: number | undefined;
  if (existsExecutable('/usr/bin/time')) {
    const run = await prepared.ns.exec('/usr/bin/time', ['-f', 'BENCH_MAXRSS_KB %M', prepared.program, '--test', input.file]);
    const m = /BENCH_MAXRSS_KB (\d+)/.exec(run.stderr);
    if (m) peakRss = Number(m[1]) * 1024;
  }
  return {
    available: true,
    accepted: last.status === 0,
    time: series(times),
    message: last.stderr.trim().split('\n')[0] ?? '',
    ...(lines.length > 0 ? { errorLine: Math.min(...lines) } : {}),
    ...(peakRss !== undefined ? { peakRss } : {}),
  };
}

/** Whether `path` is an executable file. */
function existsExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The overhead `ip netns exec` adds to every restore run (timed on `true`). */
async function namespaceOverhead(ns: Namespace | string): Promise<Series | undefined> {
  if (typeof ns === 'string') return undefined;
  const times: number[] = [];
  for (let i = 0; i < 10; i++) times.push((await ns.exec('true', [])).ms);
  return series(times);
}

// ---------------------------------------------------------------------------------------------
// Our side: in-process core timings, the CLI, memory.

interface OurTimes {
  readonly family: 'ipv4' | 'ipv6';
  readonly diagnostics: number;
  readonly errors: number;
  readonly parse: Series;
  readonly check: Series;
  readonly all: Series;
  readonly cli: Series;
  readonly cliExitCode: number | null;
  /** The analysis diagnostics of one "all diagnostics" run, and the tables it skipped (with why). */
  readonly analysis: { readonly findings: number; readonly skipped: string[] };
  /** Peak RSS of `node dist/cli.cjs check FILE`, in bytes. */
  readonly cliPeakRss: number;
  /** The same with `--no-analysis` (parse + model + validity only). */
  readonly cliPeakRssNoAnalysis: number;
  /** The child-process `check` report: RSS before reading, peak RSS, heap with the result alive. */
  readonly inProcessMemory: CheckFileReport;
}

/**
 * A CommonJS module preloaded into the CLI (`node -r`) that writes its peak RSS to stderr when the
 * process exits. Not an ES module preloaded with `--import`: that starts Node's ES module loader,
 * which then also loads the CommonJS CLI and added 17–19 MB to the peak of every run (measured:
 * 57 against 76 MB for a one-line file), memory the CLI as users run it never uses.
 */
const PEAK_RSS_PRELOAD = join(mkdtempSync(join(tmpdir(), 'iptables-lsp-bench-')), 'peak-rss.cjs');
writeFileSync(PEAK_RSS_PRELOAD, "const { writeSync } = require('node:fs');\nprocess.on('exit', () => { writeSync(2, '\\nBENCH_MAXRSS_KB ' + process.resourceUsage().maxRSS + '\\n'); });\n");

/** Peak RSS of the CLI checking `file`, in bytes. */
async function cliPeakRss(file: string, extra: readonly string[] = []): Promise<number> {
  const run = await timedRun(process.execPath, ['-r', PEAK_RSS_PRELOAD, CLI, 'check', ...extra, file]);
  const m = /BENCH_MAXRSS_KB (\d+)/.exec(run.stderr);
  if (!m) throw new Error(`could not read the CLI's peak RSS: ${run.stderr.slice(0, 500)}`);
  return Number(m[1]) * 1024;
}

/** Runs bench/check-file.ts in a child process and returns its report. */
async function checkFileChild(file: string, extra: readonly string[] = []): Promise<CheckFileReport> {
  const run = await timedRun(process.execPath, ['--import', 'tsx', CHECK_FILE, file, '--core', CORE_BUNDLE, ...extra], { cwd: ROOT, stdout: true });
  if (run.status !== 0) throw new Error(`check-file.ts ${file} failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as CheckFileReport;
}

/**
 * Measures one input: `input.runs` rounds of restore (both backends), parse, check, all
 * diagnostics and the CLI, interleaved; then the memory runs.
 */
async function measureInput(core: Core, ns: Namespace | string, input: Input): Promise<{ ours: OurTimes; restore: Record<Backend, RestoreResult> }> {
  const options: CheckOptions = { fileName: input.file };
  // One untimed check warms the code up and gives the family and the diagnostic counts; only those
  // are kept, so that the timed runs do not carry the heap of an earlier result.
  const { family, diagnostics, errors } = ((r: CheckResult) => ({ family: r.family, diagnostics: r.diagnostics.length, errors: r.diagnostics.filter((d) => d.severity === 'error').length }))(core.check(input.text, options));
  // Likewise one untimed run with the analysis warms its code up (otherwise the first timed runs
  // measure the JIT compiling it), and tells what it found and whether a limit made it skip a
  // table (then its time is not the whole analysis).
  // Only the counts are kept, as above.
  const analysisCodes = new Set(['unreachable-rule', 'shadowed-rule', 'unreachable-chain', 'redundant-rule', 'correlated-rules', 'generalization', 'approximated-rule']);
  const analysis = ((found: readonly Diagnostic[]) => ({
    findings: found.filter((d) => analysisCodes.has(d.code)).length,
    skipped: found.filter((d) => d.code === 'analysis-skipped').map((d) => d.message),
  }))(allDiagnostics(core, input.text, options).diagnostics);
  const backends = ['nft', 'legacy'] as const;
  const prepared = { nft: prepareRestore(ns, input, family, 'nft'), legacy: prepareRestore(ns, input, family, 'legacy') };
  const times = { nft: [] as number[], legacy: [] as number[], parse: [] as number[], check: [] as number[], all: [] as number[], cli: [] as number[] };
  const last: Record<Backend, { status: number | null; stderr: string }> = { nft: { status: null, stderr: '' }, legacy: { status: null, stderr: '' } };
  let cliExitCode: number | null = null;
  for (let i = 0; i < input.runs; i++) {
    for (const b of backends) {
      const p = prepared[b];
      if (typeof p === 'string') continue;
      const run = await p.ns.exec(p.program, ['--test', input.file]);
      times[b].push(run.ms);
      last[b] = run;
    }
    times.parse.push(timeOnce(() => core.parse(input.text)));
    times.check.push(timeOnce(() => core.check(input.text, options)));
    times.all.push(timeOnce(() => allDiagnostics(core, input.text, options)));
    const run = await timedRun(process.execPath, [CLI, 'check', input.file]);
    if (run.status !== 0 && run.status !== 1) throw new Error(`the CLI failed on ${input.file} (exit ${run.status}): ${run.stderr.slice(0, 500)}`);
    cliExitCode = run.status;
    times.cli.push(run.ms);
  }
  const restore = {} as Record<Backend, RestoreResult>;
  for (const b of backends) {
    const p = prepared[b];
    restore[b] = typeof p === 'string' ? { available: false, skipped: p } : await restoreResult(p, input, times[b], last[b]);
  }
  const ours: OurTimes = {
    analysis,
    family,
    diagnostics,
    errors,
    parse: series(times.parse),
    check: series(times.check),
    all: series(times.all),
    cli: series(times.cli),
    cliExitCode,
    cliPeakRss: await cliPeakRss(input.file),
    cliPeakRssNoAnalysis: await cliPeakRss(input.file, ['--no-analysis']),
    inProcessMemory: await checkFileChild(input.file),
  };
  return { ours, restore };
}

// ---------------------------------------------------------------------------------------------
// The language server, in a process of its own (bench/lsp-bench.ts).

/** Runs bench/lsp-bench.ts on the bundled server and returns its results. */
async function lspChild(editFile: string, navFile: string): Promise<LspResults> {
  const run = await timedRun(process.execPath, ['--import', 'tsx', LSP_BENCH, SERVER, editFile, navFile], { cwd: ROOT, stdout: true });
  if (run.status !== 0) throw new Error(`lsp-bench.ts failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as LspResults;
}

// ---------------------------------------------------------------------------------------------
// CPU profile.

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number; readonly columnNumber: number };
  readonly hitCount?: number;
  readonly children?: number[];
}
interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: number[];
  /** Microseconds between consecutive samples (the first from startTime). */
  readonly timeDeltas?: number[];
}

interface HotFunction {
  readonly function: string;
  readonly location: string;
  readonly selfPercent: number;
  readonly selfMs: number;
}

/**
 * Maps a generated position to the TypeScript source when the module's source map is known here
 * (the core bundle is loaded in this process with source maps on), and recovers the original
 * function name where esbuild renamed it to avoid a clash (`buildModel2` → `buildModel`).
 */
function sourceLocation(url: string, line: number, column: number, functionName: string): { location: string; name: string } {
  if (url === '') return { location: '', name: functionName };
  let location = `${url.startsWith('file://') ? relative(ROOT, fileURLToPath(url)) : url}:${line + 1}`;
  let name = functionName;
  try {
    const entry = findSourceMap(url.startsWith('file://') ? fileURLToPath(url) : url)?.findEntry(line, column);
    if (entry && 'originalSource' in entry && entry.originalSource) {
      const source = entry.originalSource.startsWith('file://') ? relative(ROOT, fileURLToPath(entry.originalSource)) : entry.originalSource;
      location = `${source}:${entry.originalLine + 1}`;
      const original = (entry as { name?: string }).name;
      if (original && functionName.startsWith(original) && /^\d+$/.test(functionName.slice(original.length))) name = original;
    }
  } catch {
    // No source map: keep the generated position.
  }
  return { location, name };
}

/**
 * The functions with the most self time in a profile (samples aggregated by function and
 * location). Native code without a name (a C++ binding, for instance) is reported as running inside
 * its JavaScript caller.
 */
function hotFunctions(profile: CpuProfile, top: number): { total: number; functions: HotFunction[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n);
  // Samples are weighted by the time since the previous one: the sampler sometimes takes bursts of
  // samples microseconds apart, and counting them would credit one function with time it never
  // took (measured: 520 of 1,646 samples, yet 22 ms of 1,454).
  const hits = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) profile.samples.forEach((id, i) => hits.set(id, (hits.get(id) ?? 0) + Math.max(0, profile.timeDeltas![i] ?? 0)));
  else if (profile.samples) for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  else for (const n of profile.nodes) hits.set(n.id, n.hitCount ?? 0);
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  let total = 0;
  const agg = new Map<string, { fn: string; location: string; hits: number }>();
  for (const [id, count] of hits) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    total += count;
    let frame = node.callFrame;
    let prefix = '';
    const parent = parentOf.get(id);
    if (frame.url === '' && frame.functionName === '' && parent) {
      frame = parent.callFrame;
      prefix = 'native code in ';
    }
    const { location, name } = sourceLocation(frame.url, frame.lineNumber, frame.columnNumber, frame.functionName);
    let fn = `${prefix}${name === '' ? '(anonymous)' : name}`;
    // Time spent inside Node's own modules (node:buffer, …) is named after the first caller in a file of ours.
    if (frame.url !== '' && !frame.url.startsWith('file://')) {
      let up = parentOf.get(id);
      while (up && !up.callFrame.url.startsWith('file://')) up = parentOf.get(up.id);
      if (up) {
        const caller = sourceLocation(up.callFrame.url, up.callFrame.lineNumber, up.callFrame.columnNumber, up.callFrame.functionName);
        fn += `, called from ${caller.name === '' ? '(anonymous)' : caller.name} (${caller.location})`;
      }
    }
    const key = `${fn} ${location}`;
    const entry = agg.get(key) ?? { fn, location, hits: 0 };
    entry.hits += count;
    agg.set(key, entry);
  }
  const functions = [...agg.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => ({ function: e.fn, location: e.location, selfPercent: (100 * e.hits) / Math.max(total, 1), selfMs: (totalMs * e.hits) / Math.max(total, 1) }));
  return { total: totalMs, functions };
}

// ---------------------------------------------------------------------------------------------
// The run.

interface InputResult {
  readonly key: string;
  readonly label: string;
  readonly ports?: number;
  readonly lines: number;
  readonly bytes: number;
  readonly runs: number;
  readonly restore: Record<Backend, RestoreResult>;
  /** The faster accepting backend's best time: the denominator of the ratios. */
  readonly restoreReference: { readonly backend: Backend; readonly ms: number } | null;
  readonly ours: OurTimes;
  readonly ratios: { readonly parse: number | null; readonly check: number | null; readonly all: number | null; readonly cli: number | null };
}

/** The table cell of one backend's result: its best time, why it was skipped, or where it stopped. */
function restoreCell(r: RestoreResult): string {
  if (!r.available) return 'skipped';
  if (!r.accepted) return `rejected at line ${r.errorLine ?? '?'} (${fmtMs(r.time?.best)})`;
  return fmtMs(r.time?.best);
}

/** Runs the whole benchmark; the namespace and the temporary files are removed whatever happens. */
async function main(): Promise<void> {
  const loadStart = loadavg();
  const machineStart = machineTicks();
  const ownStart = ownTicks();
  const core = await loadCore();
  const work = mkdtempSync(join(tmpdir(), 'iptables-lsp-bench-'));
  const ns = Namespace.open();
  const cleanup = (): void => {
    if (typeof ns !== 'string') ns.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(dirname(PEAK_RSS_PRELOAD), { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanup();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

    // Inputs.
    const inputs: Input[] = [];
    for (const ports of PORT_COUNTS) {
      const text = neutronDump(ports);
      const file = join(work, `neutron-${ports}-ports.rules`);
      writeFileSync(file, text);
      inputs.push(makeInput(`neutron-${ports}`, `Neutron, ${fmtInt(ports)} ports`, file, text, ports));
    }
    // The same shape with the dispatch chains' per-port rules in creation order, as a generator
    // that does not sort its ports writes them: the interfaces then do not come in the order the
    // analysis's vocabulary numbers them (see "Order of a dispatch chain" in the README).
    {
      const text = neutronDump(UNSORTED_PORTS, { portOrder: 'created' });
      const file = join(work, `neutron-${UNSORTED_PORTS}-ports-unsorted.rules`);
      writeFileSync(file, text);
      inputs.push(makeInput(`neutron-${UNSORTED_PORTS}-unsorted`, `Neutron-shaped, ${fmtInt(UNSORTED_PORTS)} ports in creation order`, file, text));
    }
    const real = largestRealFile();
    const notes: string[] = [];
    if (real) {
      const text = readFileSync(real, 'utf8');
      inputs.push(makeInput('real', `real: ${basename(real)}`, real, text));
      // The Iptables_Semantics dumps replace MAC addresses with XX:XX:XX:XX:XX:XX, which
      // iptables-restore rejects; a copy with a valid MAC lets both tools read the whole file.
      if (text.includes('XX:XX:XX:XX:XX:XX')) {
        const fixed = text.replaceAll('XX:XX:XX:XX:XX:XX', '02:00:00:00:00:01');
        const file = join(work, `${basename(real)}.valid-macs`);
        writeFileSync(file, fixed);
        inputs.push(makeInput('real-valid-macs', 'same, anonymised MACs made valid', file, fixed));
      }
    } else {
      notes.push(`No real-world corpus at ${CORPUS}: its row is missing.`);
    }
    // A flat blocklist (one rule per address): its rules are compared pairwise through the
    // analysis's overlap index, which a long chain of another shape would not allow.
    const blocklist = blocklistDump(BLOCKLIST_SIZE);
    const blocklistFile = join(work, `blocklist-${BLOCKLIST_SIZE}.rules`);
    writeFileSync(blocklistFile, blocklist);
    inputs.push(makeInput('blocklist', `blocklist, ${fmtInt(BLOCKLIST_SIZE)} addresses`, blocklistFile, blocklist));
    if (typeof ns === 'string') notes.push(`iptables-restore --test was skipped: ${ns}.`);
    // The CLI's peak RSS on a dump without ports: what Node and the CLI's code cost before any input.
    const emptyFile = join(work, 'neutron-0-ports.rules');
    writeFileSync(emptyFile, neutronDump(0));
    const cliBaselineRss = await cliPeakRss(emptyFile);
    const overhead = await namespaceOverhead(ns);

    // Batch timings.
    const results: InputResult[] = [];
    for (const input of inputs) {
      const started = performance.now();
      const { ours, restore } = await measureInput(core, ns, input);
      log(`${input.label}: ${fmtInt(input.lines)} lines, ${fmtMB(input.bytes)}, best of ${input.runs}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
      const accepted = (['legacy', 'nft'] as const).filter((b) => restore[b].accepted && restore[b].time);
      const reference = accepted.length === 0 ? null : accepted.map((b) => ({ backend: b, ms: restore[b].time!.best })).sort((a, b) => a.ms - b.ms)[0]!;
      const ratio = (s: Series): number | null => (reference ? s.best / reference.ms : null);
      results.push({
        key: input.key,
        label: input.label,
        ...(input.ports !== undefined ? { ports: input.ports } : {}),
        lines: input.lines,
        bytes: input.bytes,
        runs: input.runs,
        restore,
        restoreReference: reference,
        ours,
        ratios: { parse: ratio(ours.parse), check: ratio(ours.check), all: ratio(ours.all), cli: ratio(ours.cli) },
      });
      for (const b of ['nft', 'legacy'] as const) {
        const r = restore[b];
        if (r.skipped && !notes.some((n) => n.includes(r.skipped!))) notes.push(`iptables-${b}-restore --test skipped on some inputs: ${r.skipped}.`);
      }
    }

    // Growth exponents over the Neutron dumps (time against lines).
    const neutron = results.filter((r) => r.ports !== undefined);
    const fit = (get: (r: InputResult) => number | undefined): number | null => growthExponent(neutron.map((r) => ({ x: r.lines, y: get(r) ?? NaN })));
    const growth = {
      parse: fit((r) => r.ours.parse.best),
      check: fit((r) => r.ours.check.best),
      all: fit((r) => r.ours.all.best),
      cli: fit((r) => r.ours.cli.best),
      restoreNft: fit((r) => (r.restore.nft.accepted ? r.restore.nft.time?.best : undefined)),
      restoreLegacy: fit((r) => (r.restore.legacy.accepted ? r.restore.legacy.time?.best : undefined)),
    };

    // The language server.
    const editInput = inputs.find((i) => i.ports === 1_000)!;
    const navInput = inputs.find((i) => i.ports === 5_000)!;
    log(`language server: ${editInput.label} (edits), ${navInput.label} (navigation)`);
    const lsp = await lspChild(editInput.file, navInput.file);
    if (lsp.serverErrors.length > 0) notes.push(`The server logged errors during the run: ${lsp.serverErrors.join(' | ').slice(0, 500)}`);

    // CPU profile of one check of the 5,000-port dump (after one warm-up check in the same process).
    log('profiling a check of the 5,000-port dump');
    const profileFile = join(RESULTS, 'check-5000-ports.cpuprofile');
    await checkFileChild(navInput.file, ['--runs', '2', '--profile', profileFile]);
    const profile = hotFunctions(JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile, 12);

    // Budgets.
    const big = results.find((r) => r.ports === 5_000)!;
    const budgets = [
      { budget: 'parse + model + validity ≤ 0.5 × iptables-restore --test (5,000 ports)', limit: 0.5, value: big.ratios.check, unit: '×' },
      { budget: 'all diagnostics ≤ 1.5 × iptables-restore --test (5,000 ports)', limit: 1.5, value: big.ratios.all, unit: '×' },
      { budget: 'growth exponent of parse + model + validity ≤ 1.2 (100 → 5,000 ports)', limit: 1.2, value: growth.check, unit: '' },
      { budget: 'growth exponent of all diagnostics ≤ 1.2 (100 → 5,000 ports)', limit: 1.2, value: growth.all, unit: '' },
      { budget: `server: edit → syntax diagnostics ≤ 50 ms (${fmtInt(editInput.lines)} lines)`, limit: 50, value: lsp.editToDiagnostics.best, unit: 'ms' },
      { budget: `server: edit → full diagnostics (with the analysis) ≤ 300 ms (${fmtInt(editInput.lines)} lines)`, limit: 300, value: lsp.editToFullDiagnostics.best, unit: 'ms' },
      { budget: `server: definition ≤ 50 ms (${fmtInt(navInput.lines)} lines, while the analysis runs)`, limit: 50, value: lsp.definition.best, unit: 'ms' },
      { budget: `server: references ≤ 50 ms (${fmtInt(navInput.lines)} lines, ${fmtInt(lsp.referencesShared.locations)} locations, while the analysis runs)`, limit: 50, value: lsp.referencesShared.best, unit: 'ms' },
      { budget: `server: hover ≤ 50 ms (${fmtInt(navInput.lines)} lines, while the analysis runs)`, limit: 50, value: lsp.hover.supported ? lsp.hover.best : null, unit: 'ms' },
      { budget: `server: definition right after an edit ≤ 50 ms (${fmtInt(navInput.lines)} lines, median of ${lsp.definitionRightAfterEdit.runs.length} edits)`, limit: 50, value: lsp.definitionRightAfterEdit.median, unit: 'ms' },
      { budget: 'peak memory (CLI, 5,000 ports) ≤ 10 × file size', limit: 10, value: big.ours.cliPeakRss / big.bytes, unit: '×' },
      { budget: 'peak memory (CLI --no-analysis, 5,000 ports) ≤ 10 × file size', limit: 10, value: big.ours.cliPeakRssNoAnalysis / big.bytes, unit: '×' },
    ].map((b) => ({ ...b, met: b.value === null ? null : b.value <= b.limit }));

    // Notes on what the numbers mean.
    notes.push(
      `Ratios divide our best time by the faster backend's best \`iptables-restore --test\` time on the same file; restore times include \`ip netns exec\` (${fmtMs(overhead?.best)} on \`true\`).`,
      '"All diagnostics" is `check` with the rule-set analysis on (unreachable, shadowed, redundant, correlated rules …), as the CLI runs it by default.',
      ...results.map((r) => (r.ours.analysis.skipped.length > 0 ? `The analysis skipped part of ${r.label}, so its "all diagnostics" time does not cover a full analysis: ${r.ours.analysis.skipped.join('; ')}.` : `${r.label}: the analysis ran over every table (${fmtInt(r.ours.analysis.findings)} findings).`)),
      'After an edit the server publishes, for the new version, first the per-line ("syntax") diagnostics (files of 2,000 lines or more: the lines before and after the edit keep their results, the others are looked up in a cache keyed by line text), then the validity diagnostics of a full check (at once after a pause in typing, else after `iptables.diagnosticsDelay` ms; not sent when they are just what was published first), then the rule-set analysis of the tables the edit touched (the others keep theirs), computed in 2 ms slices between other messages and cancelled by the next edit, merged in (and not published again when it finds just the findings already carried onto the version); it then sends `iptables/diagnosticsComplete`. "Complete" rows are timed to that notification. The edits are made one at a time, each 300 ms after the diagnostics of the previous edit were complete (a pause in typing, longer than the default 200 ms delay).',
    );
    notes.push(
      `Memory, ${big.label}: the language-server process (which also had the 1,000-port dump open before) peaks at ${fmtMB(lsp.peakRss)} RSS; the CLI peaks at ${fmtMB(big.ours.cliPeakRss)} RSS, ${fmtMB(cliBaselineRss)} of which it already needs for a dump without ports (${((big.ours.cliPeakRss - cliBaselineRss) / big.bytes).toFixed(1)} × the file size above that); the result of one check holds ${fmtMB(big.ours.inProcessMemory.heapUsedWithResult)} of V8 heap; iptables-nft-restore peaks at ${big.restore.nft.peakRss === undefined ? 'n/a' : fmtMB(big.restore.nft.peakRss)}, iptables-legacy-restore at ${big.restore.legacy.peakRss === undefined ? 'n/a' : fmtMB(big.restore.legacy.peakRss)}.`,
    );
    if (!lsp.hover.supported) notes.push(`The server has no hover provider: \`textDocument/hover\` is answered with "${lsp.hover.error ?? 'an error'}" in ${fmtMs(lsp.hover.best)}.`);
    const realResult = results.find((r) => r.key === 'real');
    if (realResult && realResult.restore.nft.available && !realResult.restore.nft.accepted) {
      notes.push(
        `iptables-restore rejects ${realResult.label.replace(/^real: /, '')} at line ${realResult.restore.nft.errorLine ?? '?'} (its MACs are anonymised as XX:XX:XX:XX:XX:XX) and stops there, so its time covers only the lines before; we report ${fmtInt(realResult.ours.errors)} errors, the first on that line. The next row makes the MACs valid: both tools then read the whole file.`,
      );
    }

    // How much of the machine other processes used during the run: their load disturbs the timings.
    const machineEnd = machineTicks();
    const ownEnd = ownTicks();
    const otherLoad =
      machineStart && machineEnd && ownStart !== undefined && ownEnd !== undefined && machineEnd.total > machineStart.total
        ? Math.max(0, (machineEnd.busy - machineStart.busy - (ownEnd - ownStart)) / (machineEnd.total - machineStart.total))
        : null;
    const environment = {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      kernel: release(),
      loadAverageAtStart: loadStart,
      loadAverageAtEnd: loadavg(),
      /** Share of all cores' time that other processes used during the run (0 to 1). */
      otherProcessesCpuShare: otherLoad,
      iptables: spawnSync('iptables-nft-restore', ['--version'], { encoding: 'utf8', env: { ...process.env, PATH: `/usr/sbin:/sbin:${process.env.PATH ?? ''}` } }).stdout?.trim() ?? 'unknown',
    };
    const benchSeconds = (performance.now() - benchStart) / 1000;

    // Markdown.
    const md: string[] = [];
    md.push(
      `Measured ${environment.date.slice(0, 10)} on ${environment.cores} × ${environment.cpu}, Linux ${environment.kernel}, Node ${environment.node}, ${environment.iptables}; other processes used ${otherLoad === null ? 'n/a' : `${(otherLoad * 100).toFixed(0)} %`} of the CPU time during the run (1-minute load average ${environment.loadAverageAtStart[0]?.toFixed(1)} at the start, ${environment.loadAverageAtEnd[0]?.toFixed(1)} at the end); best of 5–10 interleaved runs (fewer for bigger files); ratios against the faster \`iptables-restore --test\` backend.`,
      '',
      '| input | lines | size | iptables-nft-restore --test | iptables-legacy-restore --test | parse | parse + model + validity | ratio | all diagnostics | ratio | CLI end to end | ratio | CLI peak RSS | ÷ size |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const r of results) {
      md.push(
        `| ${r.label} | ${fmtInt(r.lines)} | ${fmtMB(r.bytes)} | ${restoreCell(r.restore.nft)} | ${restoreCell(r.restore.legacy)} | ${fmtMs(r.ours.parse.best)} | ${fmtMs(r.ours.check.best)} | ${fmtRatio(r.ratios.check)} | ${fmtMs(r.ours.all.best)} | ${fmtRatio(r.ratios.all)} | ${fmtMs(r.ours.cli.best)} | ${fmtRatio(r.ratios.cli)} | ${fmtMB(r.ours.cliPeakRss)} | ${(r.ours.cliPeakRss / r.bytes).toFixed(1)}× |`,
      );
    }
    const exp = (k: number | null): string => (k === null ? 'n/a' : k.toFixed(2));
    md.push(
      '',
      `Growth exponent k of time ≈ c · lines^k (log-log least squares over ${neutron.map((r) => fmtInt(r.ports ?? 0)).join(', ')} ports):`,
      '',
      '| parse | parse + model + validity | all diagnostics | CLI end to end | iptables-nft-restore | iptables-legacy-restore |',
      '|--:|--:|--:|--:|--:|--:|',
      `| ${exp(growth.parse)} | ${exp(growth.check)} | ${exp(growth.all)} | ${exp(growth.cli)} | ${exp(growth.restoreNft)} | ${exp(growth.restoreLegacy)} |`,
      '',
      'Language server: dist/server.cjs driven in-process through an in-memory IPC channel (messages serialised as JSON), in a process of its own:',
      '',
      '| step | document | best | median | runs |',
      '|---|---|--:|--:|--:|',
      `| open → first diagnostics (validity) | ${editInput.label}, ${fmtInt(editInput.lines)} lines | ${fmtMs(lsp.openToFirstDiagnostics)} | | 1 |`,
      `| open → complete diagnostics (validity + rule-set analysis) | same | ${fmtMs(lsp.openToFullDiagnostics)} | | 1 |`,
      `| one-character edit → first diagnostics (per-line "syntax" diagnostics), default settings | same | ${fmtMs(lsp.editToDiagnostics.best)} | ${fmtMs(lsp.editToDiagnostics.median)} | ${lsp.editToDiagnostics.runs.length} |`,
      lsp.editToValidity.runs.length > 0
        ? `| one-character edit → validity diagnostics of a full check (last analysis findings carried along), default settings${lsp.editValidityNotSent > 0 ? ` (${lsp.editValidityNotSent} more edits: the same as the first diagnostics, not sent again)` : ''} | same | ${fmtMs(lsp.editToValidity.best)} | ${fmtMs(lsp.editToValidity.median)} | ${lsp.editToValidity.runs.length} |`
        : `| one-character edit → validity diagnostics of a full check, default settings: the same as the first diagnostics each time, not sent again | same | | | ${lsp.editValidityNotSent} |`,
      `| one-character edit → complete diagnostics (validity + analysis), default settings | same | ${fmtMs(lsp.editToFullDiagnostics.best)} | ${fmtMs(lsp.editToFullDiagnostics.median)} | ${lsp.editToFullDiagnostics.runs.length} |`,
      `| one-character edit → complete diagnostics, no debounce (\`diagnosticsDelay: 0\`) | same | ${fmtMs(lsp.editToDiagnosticsNoDelay.best)} | ${fmtMs(lsp.editToDiagnosticsNoDelay.median)} | ${lsp.editToDiagnosticsNoDelay.runs.length} |`,
      `| open → first diagnostics | ${navInput.label}, ${fmtInt(navInput.lines)} lines | ${fmtMs(lsp.openNavigationDocument)} | | 1 |`,
      `| open → complete diagnostics (the requests below ran meanwhile) | same | ${fmtMs(lsp.openNavigationComplete)} | | 1 |`,
      `| definition (jump to \`neutron-openvswi-sg-chain\`) | same | ${fmtMs(lsp.definition.best)} | ${fmtMs(lsp.definition.median)} | ${lsp.definition.runs.length} |`,
      `| references of \`${lsp.referencesShared.chain}\` (${fmtInt(lsp.referencesShared.locations)} locations) | same | ${fmtMs(lsp.referencesShared.best)} | ${fmtMs(lsp.referencesShared.median)} | ${lsp.referencesShared.runs.length} |`,
      `| references of a per-port chain (${fmtInt(lsp.referencesPerPort.locations)} locations) | same | ${fmtMs(lsp.referencesPerPort.best)} | ${fmtMs(lsp.referencesPerPort.median)} | ${lsp.referencesPerPort.runs.length} |`,
      `| hover | same | ${lsp.hover.supported ? fmtMs(lsp.hover.best) : 'not provided'} | ${lsp.hover.supported ? fmtMs(lsp.hover.median) : ''} | ${lsp.hover.runs.length} |`,
      `| definition, once the analysis has finished | same | ${fmtMs(lsp.idle.definition.best)} | ${fmtMs(lsp.idle.definition.median)} | ${lsp.idle.definition.runs.length} |`,
      `| references of \`${lsp.referencesShared.chain}\`, once the analysis has finished | same | ${fmtMs(lsp.idle.referencesShared.best)} | ${fmtMs(lsp.idle.referencesShared.median)} | ${lsp.idle.referencesShared.runs.length} |`,
      `| hover, once the analysis has finished | same | ${fmtMs(lsp.idle.hover.best)} | ${fmtMs(lsp.idle.hover.median)} | ${lsp.idle.hover.runs.length} |`,
      `| semantic tokens of the whole document, first request (${fmtInt(lsp.wholeDocument.semanticTokens.tokens)} tokens) | same | ${fmtMs(lsp.wholeDocument.semanticTokensFirst)} | | 1 |`,
      `| semantic tokens of the whole document, the changes since the last result (as after each edit) | same | ${fmtMs(lsp.wholeDocument.semanticTokens.best)} | ${fmtMs(lsp.wholeDocument.semanticTokens.median)} | ${lsp.wholeDocument.semanticTokens.runs.length} |`,
      `| completion after \`-j \` (${fmtInt(lsp.wholeDocument.completionAfterJump.items)} items${lsp.wholeDocument.completionAfterJump.incomplete ? ', incomplete: the editor asks again as the word grows' : ''}) | same | ${fmtMs(lsp.wholeDocument.completionAfterJump.best)} | ${fmtMs(lsp.wholeDocument.completionAfterJump.median)} | ${lsp.wholeDocument.completionAfterJump.runs.length} |`,
      `| definition right after an edit (checks the edited text first) | same | ${fmtMs(lsp.definitionRightAfterEdit.best)} | ${fmtMs(lsp.definitionRightAfterEdit.median)} | ${lsp.definitionRightAfterEdit.runs.length} |`,
      '',
      'Budgets:',
      '',
      '| budget | measured | verdict |',
      '|---|--:|---|',
    );
    for (const b of budgets) {
      const value = b.value === null ? 'n/a' : b.unit === 'ms' ? fmtMs(b.value) : b.unit === '×' ? fmtRatio(b.value) : b.value.toFixed(2);
      md.push(`| ${b.budget} | ${value} | ${verdict(b.met)} |`);
    }
    md.push('', ...notes.map((n) => `- ${n}`));
    const markdown = md.join('\n');

    const hot = [
      '',
      `Top self time, one check of the 5,000-port dump (${fmtMs(profile.total)} profiled; ${relative(ROOT, profileFile)}):`,
      '',
      '| function | location | self | self time |',
      '|---|---|--:|--:|',
      ...profile.functions.map((f) => `| \`${f.function}\` | ${f.location} | ${f.selfPercent.toFixed(1)} % | ${fmtMs(f.selfMs)} |`),
    ].join('\n');

    const json = {
      environment,
      benchSeconds,
      cliBaselineRss,
      inputs: results,
      growth,
      lsp: { editDocument: { label: editInput.label, lines: editInput.lines }, navigationDocument: { label: navInput.label, lines: navInput.lines }, ...lsp },
      budgets,
      profile: { file: relative(ROOT, profileFile), ...profile },
      notes,
      benchProcessPeakRss: process.resourceUsage().maxRSS * 1024,
    };
    writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
    writeFileSync(join(RESULTS, 'latest.md'), `${markdown}\n${hot}\n`);
    process.stdout.write(`${markdown}\n${hot}\n\nbench: ${benchSeconds.toFixed(0)} s; results in ${relative(ROOT, join(RESULTS, 'latest.json'))} and latest.md\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanup();
  }
}

await main();
