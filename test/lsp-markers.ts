/**
 * Cursor markers for LSP fixture tests: `<|>` in a fixture marks a position. `loadMarked` removes
 * the markers and returns the clean text with the marked positions in order of appearance, so a
 * fixture reads like the document an editor shows with the cursor drawn in.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A 0-based position, as LSP and the core use. */
export interface Mark {
  readonly line: number;
  readonly character: number;
}

/** Removes every `<|>` from `marked` and returns the text and the marks' positions. */
export function stripMarks(marked: string): { text: string; marks: Mark[] } {
  const marks: Mark[] = [];
  const lines = marked.split('\n');
  const out = lines.map((l, line) => {
    let s = l;
    let k: number;
    while ((k = s.indexOf('<|>')) >= 0) {
      marks.push({ line, character: k });
      s = s.slice(0, k) + s.slice(k + 3);
    }
    return s;
  });
  return { text: out.join('\n'), marks };
}

/** Reads `test/lsp-fixtures/NAME` and strips its markers. */
export function loadMarked(name: string): { text: string; marks: Mark[] } {
  return stripMarks(readFileSync(fileURLToPath(new URL(`./lsp-fixtures/${name}`, import.meta.url)), 'utf8'));
}
