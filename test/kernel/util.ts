/**
 * Small helpers shared by the kernel oracle tests: line arithmetic on iptables-save files and a
 * bounded-concurrency map. Only Node built-ins are used, so the tests add no dependencies.
 */

/** The 1-based lines of a text, without their line terminators, in order. */
export function splitLines(text: string): string[] {
  // A final newline does not start a new line for iptables-restore, so it is dropped here; the
  // rest is split on LF only because iptables-restore itself treats a CR as part of the line.
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  return body === '' ? [] : body.split('\n');
}

/** Joins lines back into a file that ends with a newline, as iptables-save writes them. */
export function joinLines(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** True when the 1-based line `line` of `lines` is a COMMIT line exactly as iptables-restore wants it. */
export function isCommitLine(lines: readonly string[], line: number): boolean {
  return lines[line - 1] === 'COMMIT';
}

/** A table block: the 1-based lines of its `*table` header and of its COMMIT (or the last line when it is missing). */
export interface Block {
  readonly table: string;
  readonly start: number;
  readonly end: number;
}

/** Every `*table … COMMIT` block of a file, in order; an unterminated block runs to the end of the file. */
export function tableBlocks(lines: readonly string[]): Block[] {
  const blocks: Block[] = [];
  let open: { table: string; start: number } | undefined;
  lines.forEach((text, index) => {
    const line = index + 1;
    if (text.startsWith('*')) {
      // A second header while a block is open is an error the kernel reports itself; for the
      // purpose of locating blocks it simply starts the next one.
      if (open !== undefined) blocks.push({ ...open, end: line - 1 });
      open = { table: text.slice(1).trim().split(/\s+/)[0] ?? '', start: line };
    } else if (text === 'COMMIT' && open !== undefined) {
      blocks.push({ ...open, end: line });
      open = undefined;
    }
  });
  // A missing COMMIT makes the kernel name the line after the last one, so the block includes it.
  if (open !== undefined) blocks.push({ ...open, end: lines.length + 1 });
  return blocks;
}

/** The block containing the 1-based line, if any. */
export function blockOf(lines: readonly string[], line: number): Block | undefined {
  return tableBlocks(lines).find((block) => block.start <= line && line <= block.end);
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight and returns the results in input order.
 * The kernel runs are I/O bound (process start-up, namespace creation), so a few in parallel help
 * even on two cores, while a small bound keeps the machine responsive.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * A shared bound on concurrent work: `limit(fn)` runs fn when fewer than `n` calls are in flight.
 * The corpus test screens lines of several files at once, and one global bound keeps the number of
 * simultaneous namespaces small however the work is nested.
 */
export function createLimiter(n: number): <R>(fn: () => Promise<R>) => Promise<R> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <R>(fn: () => Promise<R>): Promise<R> => {
    // A finishing call hands its slot straight to the next waiter, so the bound is never exceeded.
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else active += 1;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  };
}

/** Formats milliseconds as seconds with one decimal, for the timing lines the tests print. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

// ---------------------------------------------------------------------------------------------
// Comparing the checker with the kernel
// ---------------------------------------------------------------------------------------------

/** The parts of a checker diagnostic the oracle looks at (a structural copy of the core's type). */
export interface OracleDiagnostic {
  readonly range: { readonly start: { readonly line: number; readonly character: number }; readonly end: { readonly line: number; readonly character: number } };
  readonly severity: string;
  readonly code: string;
  readonly message: string;
}

/** The 1-based first and last line a diagnostic covers (a range ending at column 0 of a later line does not cover that line). */
export function diagnosticLines(d: OracleDiagnostic): { first: number; last: number } {
  const first = d.range.start.line + 1;
  let last = d.range.end.line + 1;
  if (d.range.end.character === 0 && d.range.end.line > d.range.start.line) last -= 1;
  return { first, last: Math.max(first, last) };
}

/** True when the diagnostic covers the 1-based line. */
export function coversLine(d: OracleDiagnostic, line: number): boolean {
  const { first, last } = diagnosticLines(d);
  return first <= line && line <= last;
}

/** The error-severity diagnostics: warnings and hints never count as a verdict. */
export function errorsOf(diagnostics: readonly OracleDiagnostic[]): OracleDiagnostic[] {
  return diagnostics.filter((d) => d.severity === 'error');
}

/** Minimal view of a kernel verdict, so that this module does not depend on how it was obtained. */
export interface VerdictView {
  readonly accepted: boolean;
  readonly errorLine?: number;
  readonly perBackend: Readonly<Record<'nft' | 'legacy', { readonly accepted: boolean; readonly errorLine?: number; readonly exitCode: number | null }>>;
}

/**
 * Where the checker must put an error for a rejection the kernel reports at `line`: exactly that
 * line, or (for errors only the kernel's commit finds) anywhere in the table block. A rejection is
 * a commit-time one when
 * - the named line is a COMMIT line (e.g. nft's "Chain 'X' does not exist" when legacy agrees),
 * - or it lies past the end of the file (`COMMIT expected at line N`: the block was never closed),
 * - or legacy names the COMMIT line (its kernel refused the table blob: wrong hook, loop, …) while
 *   nft either accepted or was refused by the kernel's batch commit (exit status 4), which names the
 *   rule whose addition completed the bad combination (e.g. the jump from the built-in chain) and
 *   not necessarily the rule the checker blames.
 */
export function acceptableRegion(lines: readonly string[], verdict: VerdictView, line: number | undefined = verdict.errorLine): { kind: 'line' | 'block' | 'any'; first: number; last: number } {
  if (line === undefined) return { kind: 'any', first: 1, last: lines.length + 1 };
  if (line > lines.length || isCommitLine(lines, line)) {
    const block = blockOf(lines, line);
    return block ? { kind: 'block', first: block.start, last: block.end } : { kind: 'line', first: line, last: line };
  }
  const { nft, legacy } = verdict.perBackend;
  const legacyCommit = !legacy.accepted && legacy.errorLine !== undefined && isCommitLine(lines, legacy.errorLine);
  const nftKernelSide = nft.accepted || nft.exitCode === 4 || (nft.errorLine !== undefined && isCommitLine(lines, nft.errorLine));
  if (legacyCommit && nftKernelSide && legacy.errorLine !== undefined) {
    const block = blockOf(lines, legacy.errorLine);
    if (block && block.start <= line && line <= block.end) return { kind: 'block', first: block.start, last: block.end };
  }
  return { kind: 'line', first: line, last: line };
}

/** The outcome of comparing one file's checker diagnostics with the kernel's verdict. */
export interface Judgement {
  readonly agree: boolean;
  /** A short explanation, e.g. "kernel accepts but checker reports 2 errors". */
  readonly reason: string;
}

/**
 * The agreement rule: the kernel accepts ⇔ the checker reports no error; and when the kernel
 * rejects naming a line, the checker reports an error on it (or in the block, see acceptableRegion).
 */
export function judge(text: string, verdict: VerdictView, diagnostics: readonly OracleDiagnostic[]): Judgement {
  const errors = errorsOf(diagnostics);
  if (verdict.accepted) {
    return errors.length === 0 ? { agree: true, reason: 'both accept' } : { agree: false, reason: `kernel accepts but the checker reports ${errors.length} error(s)` };
  }
  if (errors.length === 0) return { agree: false, reason: `kernel rejects (line ${verdict.errorLine ?? '?'}) but the checker reports no error` };
  const lines = splitLines(text);
  const region = acceptableRegion(lines, verdict);
  const hit = errors.some((d) => {
    const { first, last } = diagnosticLines(d);
    return region.kind === 'any' || (first <= region.last && last >= region.first);
  });
  if (hit) return { agree: true, reason: region.kind === 'line' ? `both reject line ${region.first}` : `both reject within lines ${region.first}-${region.last}` };
  const where = region.kind === 'line' ? `line ${region.first}` : `lines ${region.first}-${region.last} (commit-time error)`;
  return { agree: false, reason: `kernel rejects ${where} but the checker's errors are elsewhere` };
}
