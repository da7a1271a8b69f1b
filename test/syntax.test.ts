/**
 * Parser robustness and the raw-text checks that fixtures with markers cannot express (carriage
 * returns, a missing final newline, over-long lines, a table left open at the end of the file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { check, parse } from '../server/src/core/index.ts';
import { matchRuleLine } from '../server/src/core/syntax.ts';
import { parseIPv4 } from '../server/src/core/extensions/value-kinds.ts';
import { mulberry32 } from '../bench/random.ts';

const codesAt = (text: string, line: number): string[] => check(text).diagnostics.filter((d) => d.range.start.line === line).map((d) => d.code);

test('CRLF line endings are an error on the first such line', () => {
  assert.deepEqual(codesAt('*filter\r\n:INPUT ACCEPT [0:0]\r\nCOMMIT\r\n', 0), ['crlf-line-endings']);
});

test('a lone carriage return is part of its word, as iptables-restore reads it: a warning, and the error the word earns', () => {
  // Measured: `-p tcp\r` is refused (unknown protocol "tcp\r"), a comment holding one is accepted.
  const bad = check('*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n-A INPUT -p tcp\r -j A\nCOMMIT\n');
  assert.deepEqual(bad.diagnostics.filter((d) => d.range.start.line === 3).map((d) => `${d.code}@${d.range.start.character}`), ['invalid-protocol@12', 'carriage-return@15']);
  // The words after it keep their columns: the jump to A is found where it is.
  assert.deepEqual(bad.model.ruleByLine.get(3)?.targetSpan, { line: 3, start: 20, end: 21 });
  const fine = check('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment a\rb -j ACCEPT\nCOMMIT\n');
  assert.deepEqual(fine.diagnostics.map((d) => `${d.severity}:${d.code}`), ['warning:carriage-return']);
});

test('a byte-order mark at the start is an error that says so', () => {
  const d = check('\ufeff*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n').diagnostics.filter((x) => x.code === 'byte-order-mark');
  assert.equal(d.length, 1);
  assert.deepEqual(d[0].range, { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } });
  assert.match(d[0].message, /byte-order mark/);
});

test('a final COMMIT without newline is an error (legacy backend rejects it)', () => {
  assert.deepEqual(codesAt('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT', 2), ['missing-final-newline']);
  assert.deepEqual(check('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n').diagnostics, []);
});

test('blanks after COMMIT and lines of only blanks are errors', () => {
  assert.deepEqual(codesAt('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT \n', 2), ['syntax-error']);
  assert.deepEqual(codesAt('*filter\n  \n:INPUT ACCEPT [0:0]\nCOMMIT\n', 1), ['missing-command']);
});

test('over-long lines and words are errors', () => {
  const word = 'x'.repeat(1100);
  assert.ok(codesAt(`*filter\n-A INPUT -m comment --comment ${word}\nCOMMIT\n`, 1).includes('line-too-long'));
  const long = `-A INPUT${' -s 10.0.0.1'.repeat(1000)}`;
  assert.ok(codesAt(`*filter\n${long}\nCOMMIT\n`, 1).includes('line-too-long'));
});

test('a table left open at the end of the file is reported on the last line', () => {
  const d = check('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n').diagnostics;
  assert.equal(d.length, 1);
  assert.equal(d[0].code, 'missing-commit');
  assert.equal(d[0].range.start.line, 2);
  assert.match(d[0].message, /COMMIT expected at line 4/);
});

test('quotes: escapes inside, a closing quote ends the word', () => {
  const p = parse('-A INPUT -m comment --comment "a \\"b\\" c" x"y z"w\n');
  const rule = p.lines[0];
  assert.equal(rule.kind, 'rule');
  if (rule.kind !== 'rule') return;
  assert.deepEqual(rule.args.map((a) => a.value), ['-A', 'INPUT', '-m', 'comment', '--comment', 'a "b" c', 'xy z', 'w']);
});

/** A deterministic PRNG so that failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('10,000 lines with random garbage lines: a diagnostic on each garbage line, the rest modelled as without them', () => {
  const rand = rng(42);
  const corpusDir = join(import.meta.dirname, '..', '..', 'shared', 'corpus', 'real-world');
  const base = readFileSync(join(corpusDir, 'medium-sized-company__iptables-save'), 'utf8').split('\n');
  const rules = base.filter((l) => l.startsWith('-A '));
  const header = base.filter((l) => l.startsWith(':') || l === '*filter');
  const alphabet = 'abcXYZ-!"#:*[]0123456789 \t.,/';
  const garbageLines = new Set<number>();
  const lines = [...header.filter((l) => l.startsWith('*')), ...header.filter((l) => l.startsWith(':'))];
  while (lines.length < 9999) {
    if (rand() < 0.1) {
      let g = '';
      const len = 1 + Math.floor(rand() * 40);
      for (let k = 0; k < len; k++) g += alphabet[Math.floor(rand() * alphabet.length)];
      // Garbage must not be a valid line by accident: start it with a letter iptables cannot read.
      g = 'Z' + g.replace(/[\r\n]/g, '');
      garbageLines.add(lines.length);
      lines.push(g);
    } else {
      lines.push(rules[Math.floor(rand() * rules.length)]);
    }
  }
  lines.push('COMMIT', '');
  const text = lines.join('\n');
  const withGarbage = check(text);
  const clean = check(lines.map((l, i) => (garbageLines.has(i) ? '' : l)).join('\n'));
  const errorLines = new Set(withGarbage.diagnostics.filter((d) => d.severity === 'error').map((d) => d.range.start.line));
  for (const g of garbageLines) assert.ok(errorLines.has(g), `garbage line ${g + 1} has no error: ${lines[g]}`);
  const cleanErrors = new Set(clean.diagnostics.filter((d) => d.severity === 'error').map((d) => d.range.start.line));
  for (const l of errorLines) assert.ok(garbageLines.has(l) || cleanErrors.has(l), `line ${l + 1} got an error only because of garbage elsewhere`);
  const summary = (r: typeof clean) => r.model.tables.map((t) => [...t.chains.values()].map((c) => `${c.name}:${c.rules.map((x) => x.line).join(',')}`).join(' '));
  assert.deepEqual(summary(withGarbage), summary(clean));
});

test('parsing never throws on random input', () => {
  const rand = rng(7);
  const pieces = ['*filter', '*nat', ':X - [0:0]', '-A', 'X', '-j', '-m', 'tcp', '--dport', '!', '"', '\\', 'COMMIT', '\n', ' ', '[1:2]', '-p', '-s', '10.0.0.1/33', '-g', '\r', '\t', 'é', '#'];
  for (let k = 0; k < 300; k++) {
    let text = '';
    const n = Math.floor(rand() * 60);
    for (let j = 0; j < n; j++) text += pieces[Math.floor(rand() * pieces.length)] + (rand() < 0.7 ? ' ' : '');
    assert.doesNotThrow(() => check(text), `input ${JSON.stringify(text)}`);
  }
});

test('every real-world corpus file parses without throwing', () => {
  const corpusDir = join(import.meta.dirname, '..', '..', 'shared', 'corpus', 'real-world');
  for (const f of readdirSync(corpusDir)) {
    if (f === 'README.md' || f.startsWith('LICENSE')) continue;
    const r = check(readFileSync(join(corpusDir, f), 'utf8'), { fileName: f });
    assert.ok(r.model.tables.length > 0, `${f} has no table`);
  }
});

test('a text larger than one parsing chunk: every line keeps its kind, number, words and positions', () => {
  // parse() lexes ~256 KB at a time; lines of varied kinds and lengths, a lone carriage return
  // and a line without a final newline make sure nothing shifts or is lost at chunk boundaries.
  const lines: string[] = ['*filter', ':INPUT ACCEPT [0:0]', ':x - [0:0]'];
  for (let i = 0, length = 0; length < 700_000; i++) {
    let line: string;
    if (i % 97 === 0) line = `# comment ${i}`;
    else if (i % 89 === 0) line = '';
    else if (i % 5003 === 0) line = `-A x -m comment --comment "cr\r in a line ${i}" -j RETURN`;
    else line = `-A x -s 10.0.${i % 250}.0/24 -p tcp --dport ${i % 65535} -m comment --comment "rule ${'n'.repeat(i % 40)} ${i}" -j ACCEPT`;
    lines.push(line);
    length += line.length + 1;
  }
  lines.push('COMMIT');
  const text = lines.join('\n') + '\n';
  const parsed = parse(text);
  assert.equal(parsed.lineCount, lines.length);
  const byLine = new Map(parsed.lines.map((n) => [n.line, n]));
  for (let l = 0; l < lines.length; l++) {
    const src = lines[l];
    const node = byLine.get(l);
    assert.ok(node, `line ${l + 1} has a node`);
    if (src.startsWith('-A')) {
      assert.equal(node.kind, 'rule', `line ${l + 1}`);
      if (node.kind !== 'rule') continue;
      const words = node.args.map((a) => a.value);
      assert.equal(words[0], '-A');
      // A lone carriage return is part of a word, as iptables-restore reads it: the line stays whole.
      const target = src.includes('\r') ? 'RETURN' : 'ACCEPT';
      assert.equal(words[words.length - 1], target);
      const last = node.args[node.args.length - 1];
      assert.equal(src.slice(last.start, last.end), target, `line ${l + 1}: positions`);
    } else if (src.startsWith('#')) assert.equal(node.kind, 'comment');
    else if (src === '') assert.equal(node.kind, 'blank');
  }
  // The lone carriage returns are reported (a warning) on their own lines, and nothing else is.
  const crLines = lines.flatMap((s, l) => (s.includes('\r') ? [l] : []));
  assert.deepEqual([...new Set(parsed.errors.map((e) => e.line))], crLines);
  assert.ok(parsed.errors.every((e) => e.code === 'carriage-return'));
  // One rule node per rule line.
  assert.equal(parsed.lines.filter((n) => n.kind === 'rule').length, lines.filter((s) => s.startsWith('-A')).length);
});

test('chain and target spans are exact beyond column 32,767 (packed columns fall back to the interpretation)', () => {
  const pad = ' '.repeat(40_000);
  const text = `*filter\n:INPUT ACCEPT [0:0]\n:x - [0:0]\n-A INPUT${pad}-j x\n-A${pad}x -j DROP\nCOMMIT\n`;
  const { model } = check(text);
  const jump = model.ruleByLine.get(3)!;
  assert.deepEqual(jump.targetSpan, { line: 3, start: 8 + pad.length + 3, end: 8 + pad.length + 4 });
  assert.deepEqual(jump.chainSpan, { line: 3, start: 3, end: 8 });
  const far = model.ruleByLine.get(4)!;
  assert.deepEqual(far.chainSpan, { line: 4, start: 2 + pad.length, end: 3 + pad.length });
  assert.deepEqual(far.targetSpan, { line: 4, start: 2 + pad.length + 5, end: 2 + pad.length + 9 });
});

test('a loop of jumps among chains a refused -X deletes ends the check with chain-loop (found by fuzzing: it hung)', { timeout: 10_000 }, () => {
  const r = check('*filter\n:a - [0:0]\n:b - [0:0]\n-A INPUT -j a\n-A a -j b\n-A b -j a\n-X\nCOMMIT\n');
  const loop = r.diagnostics.find((d) => d.code === 'chain-loop');
  assert.ok(loop, r.diagnostics.map((d) => d.code).join(', '));
  assert.match(loop.message, /a → b → a/);
  assert.ok(r.diagnostics.some((d) => d.code === 'chain-in-use'));
});

test('the rule line matcher matches what its regular expression matches, carriage returns included', () => {
  // The expression the matcher replaces (syntax.ts RuleLine), applied at the same offsets.
  const re = /[^\r\n]*(?:\r(?!\n)[^\r\n]*)*\r?\n|(?=[^\n])[^\r\n]*(?:\r(?!\n)[^\r\n]*)*/y;
  const alphabet = ['a', ' ', '\r', '\n', '\r\n', '-A'];
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let i = 0; i < 3000; i++) {
    let text = '';
    for (let k = random(12); k > 0; k--) text += alphabet[random(alphabet.length)];
    for (let offset = 0; offset <= text.length; offset++) {
      re.lastIndex = offset;
      const expected = re.exec(text)?.[0] ?? null;
      assert.equal(matchRuleLine(text, offset)?.[0] ?? null, expected, `${JSON.stringify(text)} at ${offset}`);
    }
  }
});

test('IPv4 addresses in canonical form: the character reader agrees with the definition on 20,000 words', () => {
  // The definition: four decimal parts of at most three digits, no leading zero, each at most 255.
  const reference = (s: string): number | undefined => {
    const m = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/.exec(s);
    if (!m) return undefined;
    const parts = m.slice(1).map(Number);
    return parts.some((p) => p > 255) ? undefined : parts.reduce((v, p) => v * 256 + p, 0);
  };
  const rand = mulberry32(5);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  // Mostly dotted words of three to five parts, valid parts or near misses, sometimes with a stray character.
  const parts = ['0', '1', '9', '10', '99', '100', '199', '255', '256', '300', '01', '001', '1000', '', 'a', '1 '];
  const words = ['0.0.0.0', '255.255.255.255', '10.0.0.1', '1.2.3', '1.2.3.4.', '.1.2.3.4', '1..2.3', '01.2.3.4', '1.2.3.04', '1.2.3.256', '1.2.3.4\n', ''];
  for (let i = 0; i < 20_000; i++) {
    const n = pick([3, 4, 4, 4, 4, 5]);
    const w = Array.from({ length: n }, () => (rand() < 0.7 ? pick(parts.slice(0, 8)) : pick(parts))).join('.');
    words.push(rand() < 0.1 ? w + pick(['/', '-', '.', ' ', 'x']) : w);
  }
  let valid = 0;
  for (const w of words) {
    assert.equal(parseIPv4(w), reference(w), JSON.stringify(w));
    if (reference(w) !== undefined) valid++;
  }
  assert.ok(valid > 100, `only ${valid} valid addresses among the words`);
});
