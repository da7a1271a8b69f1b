/**
 * The lines of an edited document made from the lines before the edit (server/src/lsp/document-lines.ts)
 * must be those of a split of the edited text, whatever the edit: checked against
 * vscode-languageserver-textdocument, which applies the editor's changes to the text itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { linesAfterChange } from '../server/src/lsp/document-lines.ts';
import { mulberry32 as rng } from '../bench/random.ts';

test('lines made from the last version and one change are those of a split of the edited text (random edits, CRLF and carriage returns included)', () => {
  const rand = rng(20261123);
  const pieces = ['a', '-A X -j Y', '', '\n', '\n\n', 'b\nc', '\r\n', '\r', 'é', '😀'];
  const pick = (): string => pieces[Math.floor(rand() * pieces.length)];
  let made = 0;
  let fellBack = 0;
  for (let round = 0; round < 40; round++) {
    let text = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => pick() + (rand() < 0.3 ? '\r\n' : '\n')).join('');
    let doc = TextDocument.create('file:///t.rules', 'iptables', 1, text);
    let lines = text.split('\n');
    for (let k = 0; k < 60; k++) {
      const line = (): number => Math.floor(rand() * (doc.lineCount + 1));
      const position = (): { line: number; character: number } => ({ line: line(), character: Math.floor(rand() * 12) });
      const a = position();
      const b = rand() < 0.5 ? { line: a.line, character: a.character + Math.floor(rand() * 3) } : position();
      const change = { range: rand() < 0.9 ? (a.line < b.line || (a.line === b.line && a.character <= b.character) ? { start: a, end: b } : { start: b, end: a }) : { start: b, end: a }, text: rand() < 0.2 ? '' : pick() + (rand() < 0.5 ? pick() : '') };
      // The server makes lines this way only from a version without a lone carriage return.
      const before = text;
      doc = TextDocument.update(doc, [change], doc.version + 1);
      text = doc.getText();
      const got = /\r(?!\n)/.test(before) ? undefined : linesAfterChange(lines, [change], text, doc);
      const split = text.split('\n');
      if (got) {
        assert.deepEqual(got, split, `after ${JSON.stringify(change)}`);
        made++;
      } else {
        fellBack++;
        // Without a lone carriage return before and none in the change, the lines are always made
        // (a position past the end of a line, CRLF lines included, is clamped as the editor's).
        assert.ok(/\r(?!\n)/.test(before) || change.text.includes('\r'), `left to a split: ${JSON.stringify(before)} after ${JSON.stringify(change)}`);
      }
      lines = split;
    }
  }
  // Most edits are handled; those left to a split are the ones with carriage returns.
  assert.ok(made > 1000, `${made} edits made from the last lines, ${fellBack} split`);
  assert.ok(fellBack > 50, `${fellBack} edits left to a split`);
});

test('several changes at once, or the whole text, are left to a split', () => {
  const doc = TextDocument.create('file:///t.rules', 'iptables', 1, 'a\nb');
  const lines = ['a', 'b'];
  const one = { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'x' };
  const edited = TextDocument.update(TextDocument.create('file:///t.rules', 'iptables', 1, 'a\nb'), [one, one], 2);
  assert.equal(linesAfterChange(lines, [one, one], edited.getText(), edited), undefined);
  assert.equal(linesAfterChange(lines, [{ text: 'c\nd' }], 'c\nd', TextDocument.update(doc, [{ text: 'c\nd' }], 2)), undefined);
});
