/**
 * Fast per-line diagnostics for editors. Everything the rule interpreter finds depends only on a
 * line's text and the address family, so results are cached by line text: after an edit only the
 * changed lines are interpreted again, and a 25k-line document is re-checked in milliseconds.
 * Whole-file checks (chains, jumps, loops, hooks, COMMIT structure) still need `check`; editors
 * publish these "syntax" diagnostics first and the full set when it is ready.
 */
import { splitArgs } from './syntax.ts';
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

/** Per-document cache of line results; keep one instance per open document. */
export class LineDiagnostics {
  private cache = new Map<string, readonly LineProblem[]>();
  private cachedFamily: Family | undefined;
  /** How many lines the last `run` had to interpret (the others came from the cache). */
  lastInterpreted = 0;

  /**
   * Fills the cache from a full check that already interpreted every line, so that the first edit
   * after opening a document is as fast as the following ones. `problems` are the full check's
   * per-line problems (model.ruleProblems), `lines` the document's lines.
   */
  seed(lines: readonly string[], problems: readonly { line: number; start: number; end: number; code: string; message: string; severity: Diagnostic['severity'] }[], family: Family): void {
    const byLine = new Map<number, LineProblem[]>();
    for (const p of problems) {
      const list = byLine.get(p.line) ?? [];
      list.push({ severity: p.severity, code: p.code, message: p.message, start: p.start, end: p.end });
      byLine.set(p.line, list);
    }
    this.cachedFamily = family;
    this.cache = new Map();
    lines.forEach((l, i) => {
      const raw = l.endsWith('\r') ? l.slice(0, -1) : l;
      if (isRuleLine(raw)) this.cache.set(raw, byLine.get(i) ?? []);
    });
  }

  /** Diagnostics of every rule line of `text`; lines seen before are not interpreted again. */
  run(text: string, family: Family, severities?: SeverityOverrides): Diagnostic[] {
    if (family !== this.cachedFamily) {
      this.cache.clear();
      this.cachedFamily = family;
    }
    const next = new Map<string, readonly LineProblem[]>();
    const out: Diagnostic[] = [];
    this.lastInterpreted = 0;
    let line = 0;
    let pos = 0;
    const n = text.length;
    while (pos <= n) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = n;
      let raw = text.slice(pos, nl);
      if (raw.endsWith('\r')) raw = raw.slice(0, -1);
      if (isRuleLine(raw)) {
        let problems = next.get(raw) ?? this.cache.get(raw);
        if (!problems) {
          this.lastInterpreted++;
          const result = interpretRuleLine(splitArgs(raw, 0), family);
          problems = result.problems.map((p) => ({ severity: p.severity, code: p.code, message: p.message, start: p.start, end: p.end }));
        }
        next.set(raw, problems);
        for (const p of problems) {
          out.push({ range: { start: { line, character: p.start }, end: { line, character: p.end } }, severity: p.severity ?? DIAGNOSTIC_CODES[p.code]?.severity ?? 'error', code: p.code, message: p.message });
        }
      }
      line++;
      pos = nl + 1;
    }
    // Only lines present in this version are kept, so the cache never outgrows the document.
    this.cache = next;
    return applySeverities(out, severities);
  }
}

/** Table, chain, comment, COMMIT and blank lines are structure: the full check covers them. */
function isRuleLine(raw: string): boolean {
  const c0 = raw.charCodeAt(0);
  return raw.length > 0 && c0 !== 35 && c0 !== 42 && c0 !== 58 && !raw.startsWith('COMMIT') && raw.trim() !== '';
}
