/**
 * Formatter tests: canonical spacing on a fixture, idempotence, and on every example and Neutron
 * vector that formatting keeps each line's words (values, quotes, counters), comments and order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { check, parse } from '../server/src/core/index.ts';
import { formatEdits, formatText } from '../server/src/core/format.ts';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const input = readFileSync(here('./lsp-fixtures/format-input.rules'), 'utf8');
const expected = readFileSync(here('./lsp-fixtures/format-expected.rules'), 'utf8');

/** The words of every line as iptables-restore reads them, plus comment texts, in order. */
function meaning(text: string): string[] {
  return parse(text).lines.map((l) => {
    switch (l.kind) {
      case 'comment':
        return `# ${l.text}`;
      case 'rule':
        return l.args.map((a) => a.value).join('\u0000');
      case 'table':
      case 'chain':
        return [l.header, ...l.rest].map((a) => a.value).join('\u0000');
      case 'commit':
        return [l.keyword, ...l.rest].map((a) => a.value).join('\u0000');
      default:
        return '';
    }
  });
}

test('canonical spacing; comments, counters, quotes and unreadable lines are kept', () => {
  assert.equal(formatText(input, parse(input)), expected);
});

test('formatting is idempotent and keeps the meaning of every line', () => {
  const once = formatText(input, parse(input));
  assert.equal(formatText(once, parse(once)), once);
  assert.deepEqual(formatEdits(once, parse(once)), []);
  assert.deepEqual(meaning(once), meaning(input));
  assert.deepEqual(check(once).diagnostics.map((d) => d.code), check(input).diagnostics.map((d) => d.code));
});

test('CRLF line endings stay as they are', () => {
  const crlf = '*filter\r\n:INPUT  ACCEPT [0:0]\r\n-A INPUT  -j ACCEPT\r\nCOMMIT\r\n';
  assert.equal(formatText(crlf, parse(crlf)), '*filter\r\n:INPUT ACCEPT [0:0]\r\n-A INPUT -j ACCEPT\r\nCOMMIT\r\n');
});

test('every example and Neutron vector: formatting keeps words, comments and order, and is idempotent', () => {
  const files: string[] = [];
  for (const dir of [here('../examples/'), '/work/shared/reference/vectors/']) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (!f.endsWith('.md')) files.push(dir + f);
  }
  assert.ok(files.length >= 3, 'the examples are present');
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    // Spread the words out to give the formatter work: double every blank between words of rule lines.
    const spread = text.replace(/^(-[A-Z] .*)$/gm, (l) => l.replace(/ (?=(?:[^"]*"[^"]*")*[^"]*$)/g, '  '));
    const once = formatText(spread, parse(spread));
    assert.deepEqual(meaning(once), meaning(text), f);
    assert.equal(formatText(once, parse(once)), once, f);
  }
});

test('the first line keeps its blanks before a byte-order mark, which would otherwise start the file', () => {
  // Found by fuzzing: without its blanks the line starts with the mark, a new byte-order-mark error.
  const text = ' \uFEFF*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n';
  assert.equal(formatText(text, parse(text)), text);
  const later = '*filter\n:INPUT ACCEPT [0:0]\n  \uFEFFx\nCOMMIT\n';
  assert.equal(formatText(later, parse(later)), '*filter\n:INPUT ACCEPT [0:0]\n\uFEFFx\nCOMMIT\n');
});

test('a rule line whose first word begins with COMMIT keeps its leading blanks', () => {
  // Found by fuzzing: "  COMMIT\r\r" is a rule line (iptables-restore: Bad argument); without its
  // blanks it became a COMMIT line with junk after it, which closes the table for the checker.
  for (const line of ['  COMMIT\r\r', '  COMMIT', '  COMMITx -j ACCEPT']) {
    const text = `*filter\n:INPUT ACCEPT [0:0]\n${line}\n`;
    assert.equal(formatText(text, parse(text)), text, JSON.stringify(line));
  }
});
