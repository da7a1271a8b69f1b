/**
 * The lines of a document after an edit, made from its lines before the edit: after each
 * keystroke the server needs the lines of the new version (for the check made from the last one,
 * for moving diagnostics, for the analysis memo), and splitting the whole text again made a string
 * per line (132,038 on the 5,000-port dump: 20–40 ms per edit, which a request sent right after the
 * edit waited for), most of them dropped at once for the earlier version's.
 */
import type { TextDocumentContentChangeEvent } from 'vscode-languageserver-textdocument';
import { detached } from '../core/syntax.ts';

/** What `linesAfterChange` needs of the edited document: its line count and line starts (as vscode-languageserver-textdocument keeps them). */
export interface EditedDocument {
  readonly lineCount: number;
  offsetAt(position: { line: number; character: number }): number;
}

/**
 * The lines of `text` (split at line feeds, as `text.split('\n')` gives them) made from `previous`,
 * the lines of the version before, which must have no lone carriage return (an editor's line
 * numbers are then those of `previous`), and the one change that made `text` from it; undefined when
 * that is not possible, and the caller splits the text. The lines outside the change are the
 * earlier version's string objects. Not possible: several changes or the whole text at once, a
 * carriage return in the change or anywhere but at the end of a line (an editor counts a lone
 * one as a line break, so its line numbers are not those of a split at line feeds), or a result
 * that does not give back `text` (checked against `after`, the edited document: the number of
 * lines, and the changed lines at the start of their first line).
 *
 * Positions are those of the Language Server Protocol, in UTF-16 code units like JavaScript
 * strings: a position past the end of a line is clamped as vscode-languageserver-textdocument
 * clamps it, to the end of the line before its line break.
 */
export function linesAfterChange(previous: readonly string[], changes: readonly TextDocumentContentChangeEvent[], text: string, after: EditedDocument): string[] | undefined {
  if (changes.length !== 1 || previous.length === 0) return undefined;
  const change = changes[0];
  if (!('range' in change) || change.text.includes('\r')) return undefined;
  const at = (p: { line: number; character: number }): [number, number] => {
    if (p.line < 0) return [0, 0];
    if (p.line >= previous.length) return [previous.length - 1, previous[previous.length - 1].length];
    // A carriage return can only end a line here, and belongs to its line break.
    const line = previous[p.line];
    return [p.line, Math.max(0, Math.min(p.character, line.endsWith('\r') ? line.length - 1 : line.length))];
  };
  let start = at(change.range.start);
  let end = at(change.range.end);
  if (start[0] > end[0] || (start[0] === end[0] && start[1] > end[1])) [start, end] = [end, start];
  const [sl, sc] = start;
  const [el, ec] = end;
  const joined = previous[sl].slice(0, sc) + change.text + previous[el].slice(ec);
  const middle = joined.split('\n');
  for (const l of middle) {
    const cr = l.indexOf('\r');
    if (cr >= 0 && cr !== l.length - 1) return undefined;
  }
  // A carriage return ending the last line is a line break to an editor too.
  if (el === previous.length - 1 && middle[middle.length - 1].endsWith('\r')) return undefined;
  // The result must give back the text: as many lines as the edited document has, and the changed
  // lines where its line starts put them, ending at a line feed or at the end.
  if (sl + middle.length + previous.length - 1 - el !== after.lineCount) return undefined;
  const offset = after.offsetAt({ line: sl, character: 0 });
  const stop = offset + joined.length;
  if (text.slice(offset, stop) !== joined || (stop !== text.length && text.charCodeAt(stop) !== 10)) return undefined;
  // Each new line is copied: a slice of the joined string would keep all of it alive. A copy of
  // the whole array with the changed lines set is the cheapest way to build it (pushing the lines
  // one by one took several times as long).
  let lines: string[];
  if (middle.length === el - sl + 1) {
    lines = previous.slice();
    for (let k = 0; k < middle.length; k++) lines[sl + k] = detached(middle[k]);
  } else lines = previous.slice(0, sl).concat(middle.map(detached), previous.slice(el + 1));
  return lines;
}
