/**
 * Runs the core's `check` on one file in a process of its own, for the measurements that need a
 * clean process: the memory a check costs and a CPU profile of the check alone.
 *
 *   node --import tsx bench/check-file.ts FILE [--runs N] [--core BUNDLE.mjs] [--profile OUT.cpuprofile]
 *
 * With `--core`, the core is loaded from that ESM bundle (bench/run.ts bundles it like dist/);
 * without, from the TypeScript sources.
 * It prints one line of JSON (`CheckFileReport`) on stdout. With `--profile`, the V8 CPU profiler
 * (the one behind `node --cpu-prof`) records only the `check` calls, not the start-up, and the
 * profile is written to OUT in the `.cpuprofile` format that Chrome DevTools opens.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { pathToFileURL } from 'node:url';

/** What the child reports to bench/run.ts. */
export interface CheckFileReport {
  /** Resident set size before the file was read, in bytes: the cost of Node and the loaded code. */
  readonly rssBeforeRead: number;
  /** The process's peak resident set size after the checks, in bytes. */
  readonly peakRss: number;
  /** V8 heap in use after the last check while its result is still referenced, in bytes. */
  readonly heapUsedWithResult: number;
  /** Wall time of each check, in milliseconds. */
  readonly runsMs: number[];
  /** Number of diagnostics of the last check. */
  readonly diagnostics: number;
}

/** Reads `--name VALUE` from the command line. */
function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: readonly string[]): Promise<void> {
  const file = args[0];
  if (file === undefined || file.startsWith('--')) throw new Error('usage: check-file.ts FILE [--runs N] [--core BUNDLE] [--profile OUT]');
  const runs = Number(option(args, '--runs') ?? '1');
  const profileOut = option(args, '--profile');
  const bundle = option(args, '--core');
  const { check } = (await import(bundle === undefined ? '../server/src/core/index.ts' : pathToFileURL(bundle).href)) as typeof import('../server/src/core/index.ts');

  const rssBeforeRead = process.memoryUsage().rss;
  const text = readFileSync(file, 'utf8');
  const session = profileOut === undefined ? undefined : new Session();
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const runsMs: number[] = [];
  let result: ReturnType<typeof check> | undefined;
  for (let i = 0; i < runs; i++) {
    // Drop the last result before the next run, so that two results never live at the same time.
    result = undefined;
    const start = performance.now();
    result = check(text, { fileName: file });
    runsMs.push(performance.now() - start);
  }
  if (session && profileOut !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileOut, JSON.stringify(profile));
    session.disconnect();
  }
  const report: CheckFileReport = {
    rssBeforeRead,
    // maxRSS is in kibibytes.
    peakRss: process.resourceUsage().maxRSS * 1024,
    heapUsedWithResult: process.memoryUsage().heapUsed,
    runsMs,
    diagnostics: result?.diagnostics.length ?? 0,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

await main(process.argv.slice(2));
