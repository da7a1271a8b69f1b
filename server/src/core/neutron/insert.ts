/**
 * Merging a generated iptables-save block into an existing iptables-save file, as text edits:
 * chain declarations the file lacks go into the matching table's header (after its last `:` line),
 * rules go into their chains, and a table the file lacks is appended as a whole block. Rules that
 * the file already has in the same chain (Neutron's wrapper jumps, `sg-chain`'s final ACCEPT …) are
 * kept once, and new rules are placed before the first existing rule that follows them in the
 * generated order — so the merged chains keep Neutron's per-chain order. Pure logic.
 */
import type { Position, Range } from '../diagnostics.ts';

/** An edit of the existing text (LSP shape: replace `range` by `newText`). */
export interface TextEdit {
  readonly range: Range;
  readonly newText: string;
}

/** One table block of an iptables-save text. */
interface TableBlock {
  readonly name: string;
  /** Line of `*table`. */
  readonly line: number;
  /** Line of the last `:` declaration, or of `*table` when there is none. */
  headerEnd: number;
  /** Line of COMMIT, undefined when the block is not closed. */
  commit?: number;
  /** Declared chains and their declaration lines (in order). */
  readonly declarations: Map<string, string>;
  /** Rules per chain: normalised text and line. */
  readonly rules: Map<string, { readonly key: string; readonly line: number }[]>;
}

const APPEND = /^\s*(?:-A|--append)\s+(\S+)\s+(.*?)\s*$/;

/** Normalises a rule for comparison: blanks collapsed, `--append` written `-A`. */
function ruleKey(chain: string, rest: string): string {
  return `-A ${chain} ${rest.trim().replace(/\s+/g, ' ')}`;
}

/** Reads the table blocks of an iptables-save text (line-based; malformed lines are ignored). */
function readTables(lines: readonly string[]): TableBlock[] {
  const tables: TableBlock[] = [];
  let cur: TableBlock | undefined;
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const t = /^\*(\S+)\s*$/.exec(line);
    if (t) {
      cur = { name: t[1] as string, line: i, headerEnd: i, declarations: new Map(), rules: new Map() };
      tables.push(cur);
      return;
    }
    if (!cur || cur.commit !== undefined) return;
    if (/^COMMIT\s*$/.test(line)) {
      cur.commit = i;
      return;
    }
    const d = /^:(\S+)/.exec(line);
    if (d) {
      cur.declarations.set(d[1] as string, line);
      cur.headerEnd = i;
      return;
    }
    const a = APPEND.exec(line);
    if (a) {
      const chain = a[1] as string;
      const list = cur.rules.get(chain) ?? [];
      list.push({ key: ruleKey(chain, a[2] as string), line: i });
      cur.rules.set(chain, list);
    }
  });
  return tables;
}

/** The generated block: per table, declarations (in order) and rules per chain (in order). */
interface GeneratedTable {
  readonly name: string;
  readonly declarations: string[];
  readonly chains: Map<string, string[]>;
}

function readGenerated(text: string): GeneratedTable[] {
  const out: GeneratedTable[] = [];
  let cur: GeneratedTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const t = /^\*(\S+)\s*$/.exec(line);
    if (t) {
      cur = { name: t[1] as string, declarations: [], chains: new Map() };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    if (line.startsWith(':')) cur.declarations.push(line);
    const a = APPEND.exec(line);
    if (a) {
      const chain = a[1] as string;
      cur.chains.set(chain, [...(cur.chains.get(chain) ?? []), ruleKey(chain, a[2] as string)]);
    }
  }
  return out;
}

/**
 * The edits that merge `generatedIptablesSave` (the iptables-save output of `gen`) into
 * `existingText`. Edits never overlap; several insertions at one place are joined into one edit.
 */
export function insertBlock(existingText: string, generatedIptablesSave: string): TextEdit[] {
  const lines = existingText.split('\n');
  const eol = existingText.includes('\r\n') ? '\r\n' : '\n';
  const tables = readTables(lines);
  // Insertions after a line (-1: at the start of the file), in the order they are made.
  const after = new Map<number, string[]>();
  const insertAfter = (line: number, text: string): void => {
    after.set(line, [...(after.get(line) ?? []), text]);
  };
  // Insertions before an existing line.
  const before = new Map<number, string[]>();
  const appended: string[] = [];

  for (const g of readGenerated(generatedIptablesSave)) {
    const t = tables.find((x) => x.name === g.name && x.commit !== undefined);
    if (!t) {
      const rules = [...g.chains.values()].flat();
      if (rules.length === 0) continue;
      appended.push(`*${g.name}`, ...g.declarations, ...rules, 'COMMIT');
      continue;
    }
    const newDecls = g.declarations.filter((d) => !t.declarations.has((/^:(\S+)/.exec(d) as RegExpExecArray)[1] as string));
    if (newDecls.length) insertAfter(t.headerEnd, newDecls.join(eol));
    for (const [chain, rules] of g.chains) {
      const existing = t.rules.get(chain) ?? [];
      const present = new Set(existing.map((r) => r.key));
      const pendingTail: string[] = [];
      rules.forEach((rule, i) => {
        if (present.has(rule)) return;
        // The first later generated rule that the file already has: insert before it.
        const anchorKey = rules.slice(i + 1).find((r) => present.has(r));
        const anchor = anchorKey !== undefined ? existing.find((r) => r.key === anchorKey) : undefined;
        if (anchor) before.set(anchor.line, [...(before.get(anchor.line) ?? []), rule]);
        else pendingTail.push(rule);
      });
      if (pendingTail.length === 0) continue;
      const last = existing[existing.length - 1];
      insertAfter(last ? last.line : t.headerEnd, pendingTail.join(eol));
    }
  }

  const edits: TextEdit[] = [];
  const at = (line: number, character: number): Position => ({ line, character });
  const lineEnd = (line: number): number => (lines[line] ?? '').replace(/\r$/, '').length;
  const points = new Set([...after.keys(), ...before.keys()]);
  for (const line of [...points].sort((a, b) => a - b)) {
    const a = after.get(line);
    if (a) {
      const end = at(line, lineEnd(line));
      edits.push({ range: { start: end, end }, newText: eol + a.join(eol) });
    }
    const b = before.get(line);
    if (b) {
      const start = at(line, 0);
      edits.push({ range: { start, end: start }, newText: b.join(eol) + eol });
    }
  }
  if (appended.length) {
    const lastLine = lines.length - 1;
    const end = at(lastLine, (lines[lastLine] ?? '').length);
    const sep = existingText === '' || existingText.endsWith('\n') ? '' : eol;
    edits.push({ range: { start: end, end }, newText: sep + appended.join(eol) + eol });
  }
  return edits;
}

/** Applies non-overlapping edits to a text (for tests and previews). */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const lines = text.split('\n');
  const offset = (p: Position): number => {
    let o = 0;
    for (let i = 0; i < p.line && i < lines.length; i++) o += (lines[i] as string).length + 1;
    return o + p.character;
  };
  const sorted = edits.map((e, i) => ({ e, i, s: offset(e.range.start), t: offset(e.range.end) })).sort((a, b) => b.s - a.s || b.i - a.i);
  let out = text;
  for (const { e, s, t } of sorted) out = out.slice(0, s) + e.newText + out.slice(t);
  return out;
}
