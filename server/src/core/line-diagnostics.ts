/**
 * Fast per-line diagnostics for editors. Everything the rule interpreter finds depends only on a
 * line's text and the address family, so results are cached by line text: after an edit only the
 * changed lines are interpreted again, and a 25k-line document is re-checked in milliseconds.
 * The lines before and after the edit are not even looked up: the text the last run saw is
 * compared with the new one (natively, in chunks) and their results are reused by position.
 * Whole-file checks (chains, jumps, loops, hooks, COMMIT structure) still need `check`; editors
 * publish these "syntax" diagnostics first and the full set when it is ready.
 */
import { detached, splitArgs } from './syntax.ts';
import { interpretRuleLine } from './model.ts';
import type { Diagnostic } from './diagnostics.ts';
import { applySeverities, DIAGNOSTIC_CODES, type SeverityOverrides } from './diagnostics.ts';
import type { Family } from './extensions/value-kinds.ts';

/** A problem of one line, with columns only (the line number is added when it is reported). */
interface LineProblem {
  readonly severity: Diagnostic['severity'];
  readonly code: string;
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

/** What the last run saw: its text, where each line starts, and each rule line's problems. */
interface Seen {
  readonly text: string;
  readonly starts: Int32Array;
  /** Per line: the rule line's problems, or undefined for a structure line. */
  readonly problems: readonly (readonly LineProblem[] | undefined)[];
}

/** Per-document cache of line results; keep one instance per open document. */
export class LineDiagnostics {
  private cache = new Map<string, readonly LineProblem[]>();
  private cachedFamily: Family | undefined;
  private last: Seen | undefined;
  /** How many lines the last `run` had to interpret (the others came from the cache). */
  lastInterpreted = 0;
  /** How many lines the last `run` took by position from the run before, without looking them up. */
  lastReused = 0;

  /**
   * Fills the cache from a full check that already interpreted every line, so that the first edit
   * after opening a document is as fast as the following ones. `problems` are the full check's
   * per-line problems (model.ruleProblems), `lines` the document's lines.
   */
  seed(lines: readonly string[], problems: readonly { line: number; start: number; end: number; code: string; message: string; severity: Diagnostic['severity'] }[], family: Family, text?: string): void {
    const byLine = new Map<number, LineProblem[]>();
    for (const p of problems) {
      const list = byLine.get(p.line) ?? [];
      list.push({ severity: p.severity, code: p.code, message: p.message, start: p.start, end: p.end });
      byLine.set(p.line, list);
    }
    this.cachedFamily = family;
    this.cache = new Map();
    const perLine: (readonly LineProblem[] | undefined)[] = new Array<readonly LineProblem[] | undefined>(lines.length);
    const starts = new Int32Array(lines.length);
    let offset = 0;
    lines.forEach((l, i) => {
      starts[i] = offset;
      offset += l.length + 1;
      const raw = l.endsWith('\r') ? l.slice(0, -1) : l;
      if (!isRuleLine(raw)) return;
      const list = byLine.get(i) ?? NO_PROBLEMS;
      this.cache.set(raw, list);
      perLine[i] = list;
    });
    // `lines` are the text split at line feeds: with the text itself, the next run can compare.
    this.last = text !== undefined && offset === text.length + 1 ? { text, starts, problems: perLine } : undefined;
  }

  /** Whether the last run (or seed) was of this very text: a seed from a full check of it would add nothing. */
  knows(text: string): boolean {
    return this.last !== undefined && this.last.text === text;
  }

  /** Diagnostics of every rule line of `text`; lines seen before are not interpreted again. */
  run(text: string, family: Family, severities?: SeverityOverrides): Diagnostic[] {
    if (family !== this.cachedFamily) {
      this.cache.clear();
      this.last = undefined;
      this.cachedFamily = family;
    }
    this.lastInterpreted = 0;
    const starts = lineStarts(text);
    const count = starts.length;
    const perLine: (readonly LineProblem[] | undefined)[] = new Array<readonly LineProblem[] | undefined>(count);
    // Lines wholly inside the text shared with the last run keep their results: those before the
    // first changed character by number, those after the last one shifted by the lines added.
    let before = 0;
    let after = count;
    const last = this.last;
    if (last) {
      const prefix = commonPrefix(last.text, text);
      const suffix = commonSuffix(last.text, text, Math.min(last.text.length, text.length) - prefix);
      // Old line i is unchanged when its line feed lies in the common prefix.
      while (before < count && before + 1 < last.starts.length && last.starts[before + 1] <= prefix) {
        perLine[before] = last.problems[before];
        before++;
      }
      // A line is unchanged when the line feed before it lies in the common suffix.
      const shift = text.length - last.text.length;
      const delta = count - last.starts.length;
      let k = last.starts.length - 1;
      while (k > 0 && k + delta > before && last.starts[k] - 1 >= last.text.length - suffix) {
        perLine[k + delta] = last.problems[k];
        k--;
      }
      after = k + delta + 1;
      // The positions agree with the scan of the new text (a check of the arithmetic above).
      if (after < count && starts[after] !== last.starts[after - delta] + shift) {
        after = count;
        before = 0;
      }
    }
    const next = new Map<string, readonly LineProblem[]>();
    const changed = after - before;
    this.lastReused = count - changed;
    // Lines of the changed region are looked up by text (a moved block is not interpreted again).
    for (let line = before; line < after; line++) {
      let raw = text.slice(starts[line], line + 1 < count ? starts[line + 1] - 1 : text.length);
      if (raw.endsWith('\r')) raw = raw.slice(0, -1);
      // After an edit, a line joins the cache of the lines of every version, with its problems
      // (whose messages may quote it): a copy of its own, not a view of this version's whole text.
      if (changed < count) raw = detached(raw);
      if (!isRuleLine(raw)) {
        perLine[line] = undefined;
        continue;
      }
      let problems = next.get(raw) ?? this.cache.get(raw);
      if (!problems) {
        this.lastInterpreted++;
        const result = interpretRuleLine(splitArgs(raw, 0), family);
        problems = result.problems.length === 0 ? NO_PROBLEMS : result.problems.map((p) => ({ severity: p.severity, code: p.code, message: p.message, start: p.start, end: p.end }));
      }
      next.set(raw, problems);
      perLine[line] = problems;
    }
    // A full pass keeps exactly the lines present in this version; after a small edit the new
    // lines join the cache, which is rebuilt by a full pass once it outgrows the document.
    if (changed === count) this.cache = next;
    else {
      for (const [raw, problems] of next) this.cache.set(raw, problems);
      if (this.cache.size > 2 * count + 1000) this.last = undefined;
    }
    const out: Diagnostic[] = [];
    for (let line = 0; line < count; line++) {
      const problems = perLine[line];
      if (!problems) continue;
      for (const p of problems) {
        out.push({ range: { start: { line, character: p.start }, end: { line, character: p.end } }, severity: p.severity ?? DIAGNOSTIC_CODES[p.code]?.severity ?? 'error', code: p.code, message: p.message });
      }
    }
    if (this.last !== undefined || changed === count) this.last = { text, starts, problems: perLine };
    return applySeverities(out, severities);
  }
}

/** Shared by the many rule lines without problems. */
const NO_PROBLEMS: readonly LineProblem[] = [];

/** Where each line of a text starts (a text has one line more than line feeds). */
export function lineStarts(text: string): Int32Array {
  let count = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) count++;
  const starts = new Int32Array(count);
  let k = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts[k++] = i + 1;
  return starts;
}

/**
 * The length of the longest common beginning of two texts. Chunks of doubling size are compared
 * as strings (natively, without copying: slices share their text), then the first chunk that
 * differs is halved down to a few characters.
 */
function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let lo = 0;
  let step = 4096;
  while (lo < n) {
    let hi = Math.min(n, lo + step);
    if (a.slice(lo, hi) !== b.slice(lo, hi)) {
      while (hi - lo > 32) {
        const mid = (lo + hi) >> 1;
        if (a.slice(lo, mid) === b.slice(lo, mid)) lo = mid;
        else hi = mid;
      }
      while (lo < hi && a.charCodeAt(lo) === b.charCodeAt(lo)) lo++;
      return lo;
    }
    lo = hi;
    step *= 2;
  }
  return n;
}

/** The length of the longest common end of two texts, at most `limit` characters (see commonPrefix). */
function commonSuffix(a: string, b: string, limit: number): number {
  const m = a.length;
  const n = b.length;
  let lo = 0;
  let step = 4096;
  while (lo < limit) {
    let hi = Math.min(limit, lo + step);
    if (a.slice(m - hi, m - lo) !== b.slice(n - hi, n - lo)) {
      while (hi - lo > 32) {
        const mid = (lo + hi) >> 1;
        if (a.slice(m - mid, m - lo) === b.slice(n - mid, n - lo)) lo = mid;
        else hi = mid;
      }
      while (lo < hi && a.charCodeAt(m - 1 - lo) === b.charCodeAt(n - 1 - lo)) lo++;
      return lo;
    }
    lo = hi;
    step *= 2;
  }
  return limit;
}

/** Table, chain, comment, COMMIT and blank lines are structure: the full check covers them. */
function isRuleLine(raw: string): boolean {
  const c0 = raw.charCodeAt(0);
  return raw.length > 0 && c0 !== 35 && c0 !== 42 && c0 !== 58 && !raw.startsWith('COMMIT') && raw.trim() !== '';
}
