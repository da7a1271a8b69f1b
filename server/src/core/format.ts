/**
 * The formatter: canonical spacing of an iptables-restore file. It only changes blanks between
 * and around the words of table, chain, COMMIT and rule lines; every word is kept as written (with
 * its quotes), and comments, counters, blank lines, line endings and the order of lines are never
 * touched. Lines the parser could not read cleanly are left exactly as they are, because respacing
 * them could change how iptables-restore splits them. Formatting is idempotent.
 */
import type { ParseResult, LineNode, Arg } from './syntax.ts';
import type { TextEdit } from './navigation.ts';

/** The source text of each line, without its line break (a `\r` of CRLF stays out of the edit). */
function splitLines(text: string): string[] {
  return text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** The words of a line in order, as written. */
function wordsOf(node: LineNode): Arg[] | undefined {
  switch (node.kind) {
    case 'table':
    case 'chain':
      return [node.header, ...node.rest];
    case 'commit':
      return [node.keyword, ...node.rest];
    case 'rule':
      return node.args;
    default:
      return undefined;
  }
}

/**
 * The canonical text of one line, or undefined to leave it alone. A rule whose first word looks
 * like a table, chain, comment or COMMIT line keeps its leading blanks: without them it would
 * become that kind of line; so does a first line whose first word starts with a byte-order mark.
 */
function canonicalLine(node: LineNode, source: string): string | undefined {
  const words = wordsOf(node);
  if (!words || words.length === 0) return undefined;
  if (words.some((w) => w.unterminated || w.line !== node.line)) return undefined;
  // The words must cover everything but blanks; otherwise the line holds text the parser did not read.
  let covered = 0;
  for (const w of words) covered += w.raw.replace(/[ \t\f\v]/g, '').length;
  const nonBlank = source.replace(/[ \t\f\v]/g, '').length;
  if (covered !== nonBlank) return undefined;
  // (Any first word beginning with COMMIT: `COMMIT\r` of a line ending in two carriage returns would
  // become a COMMIT line with junk after it.)
  if (node.kind === 'rule' && words[0].start > 0 && /^([*:#]|COMMIT)/.test(words[0].raw)) return undefined;
  // Nor may the first line's blanks go before a byte-order mark: it would then start the file.
  if (node.line === 0 && words[0].start > 0 && words[0].raw.startsWith('\uFEFF')) return undefined;
  return words.map((w) => w.raw).join(' ');
}

/**
 * The edits that give the text canonical spacing: one edit per line that changes, covering only
 * the line's content. Lines with syntax problems are not touched.
 */
export function formatEdits(text: string, parsed: ParseResult): TextEdit[] {
  const lines = splitLines(text);
  const broken = new Set(parsed.errors.filter((e) => e.code === undefined || e.code === 'syntax-error' || e.code === 'unterminated-quote' || e.code === 'line-too-long').map((e) => e.line));
  const edits: TextEdit[] = [];
  for (const node of parsed.lines) {
    if (broken.has(node.line)) continue;
    const source = lines[node.line];
    if (source === undefined) continue;
    const canonical = canonicalLine(node, source);
    if (canonical === undefined || canonical === source) continue;
    edits.push({ range: { start: { line: node.line, character: 0 }, end: { line: node.line, character: source.length } }, newText: canonical });
  }
  return edits;
}

/** Applies edits (non-overlapping, any order) to a text. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const starts: number[] = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  const offset = (p: { line: number; character: number }): number => (p.line < starts.length ? starts[p.line] + p.character : text.length);
  const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
  let out = text;
  for (const e of sorted) out = out.slice(0, offset(e.range.start)) + e.newText + out.slice(offset(e.range.end));
  return out;
}

/** Formats a whole text (the CLI and the tests use this; the server sends the edits). */
export function formatText(text: string, parsed: ParseResult): string {
  return applyEdits(text, formatEdits(text, parsed));
}
