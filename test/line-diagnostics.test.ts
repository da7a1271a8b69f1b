/** The editor's fast per-line diagnostics agree with the full check and only re-interpret changed lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, LineDiagnostics } from '../server/src/core/index.ts';
import { mulberry32 as rng } from '../bench/random.ts';

const key = (d: { range: { start: { line: number; character: number } }; code: string; message: string }): string => `${d.range.start.line}:${d.range.start.character}:${d.code}:${d.message}`;

test('per-line diagnostics equal the full check\'s rule-line problems on every fixture', () => {
  const dir = join(import.meta.dirname, 'fixtures');
  for (const f of readdirSync(dir)) {
    const text = readFileSync(join(dir, f), 'utf8');
    const full = check(text, { fileName: f });
    const fast = new LineDiagnostics().run(text, full.family);
    const expected = full.model.ruleProblems.map((p) => `${p.line}:${p.start}:${p.code}:${p.message}`).sort();
    assert.deepEqual(fast.map(key).sort(), expected, f);
  }
});

test('after seeding from a full check, an edit re-interprets only the edited line', () => {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]'];
  for (let i = 0; i < 500; i++) lines.push(`-A INPUT -s 10.0.${i % 256}.${i >> 8}/32 -p tcp --dport ${1000 + i} -j ACCEPT`);
  lines.push('COMMIT', '');
  const text = lines.join('\n');
  const full = check(text);
  const lc = new LineDiagnostics();
  lc.seed(text.split('\n'), full.model.ruleProblems, full.family, text);
  const edited = text.replace('--dport 1007 ', '--dport 70000 ');
  const d = lc.run(edited, full.family);
  assert.equal(lc.lastInterpreted, 1);
  assert.equal(lc.lastReused, lines.length - 1, 'every other line is taken by position');
  assert.deepEqual(d.map((x) => x.code), ['invalid-port']);
  assert.equal(d[0].range.start.line, 9);
  lc.run(edited, full.family);
  assert.equal(lc.lastInterpreted, 0);
});

test('whole-file diagnostics follow an edit: kept before it, shifted after it, dropped inside it', async () => {
  const { shiftToEdit } = await import('../server/src/lsp/server.ts');
  const d = (line: number) => ({ range: { start: { line, character: 0 }, end: { line, character: 1 } }, severity: 'warning' as const, code: 'unused-chain', message: String(line) });
  const oldLines = ['a', 'b', 'c', 'd', 'e'];
  const newLines = ['a', 'b', 'X', 'Y', 'd', 'e'];
  const moved = shiftToEdit(oldLines, newLines, [d(0), d(2), d(3), d(4)]);
  assert.deepEqual(moved.map((x) => [x.message, x.range.start.line]), [['0', 0], ['3', 4], ['4', 5]]);
});

test('a version split reusing the last one\'s lines has the lines of a plain split (random edits)', async () => {
  const { splitReusing } = await import('../server/src/lsp/server.ts');
  const rand = rng(20261122);
  const words = ['a', 'b', '', 'a\r', '-A X -j Y'];
  let text = 'a\nb\na';
  let previous = splitReusing(text, undefined);
  for (let k = 0; k < 2000; k++) {
    // Insert, delete or replace a few characters, line feeds included, anywhere.
    const at = Math.floor(rand() * (text.length + 1));
    const cut = Math.floor(rand() * 4);
    const piece = rand() < 0.5 ? '\n' : words[Math.floor(rand() * words.length)] + (rand() < 0.5 ? '\n' : '');
    text = text.slice(0, at) + piece + text.slice(at + cut);
    const lines = splitReusing(text, previous);
    assert.deepEqual(lines, text.split('\n'));
    previous = lines;
  }
  // Edits at the ends, of whole texts, and of empty lines.
  const cases: [string, string][] = [
    ['', 'a'],
    ['a', ''],
    ['a\nb', 'a\nb\n'],
    ['a\nb\n', 'a\nb'],
    ['a\nb', 'b'],
    ['a\nb', 'a'],
    ['a\nx\nb', 'a\nb'],
    ['a\nb', 'a\nx\nb'],
    ['a\n\n\nb', 'a\n\nb'],
    ['\n\n', '\n\n\n'],
    ['a\na\na', 'a\na'],
    ['a\nb', 'a\nxb'],
    ['ab\nc', 'a\nbc'],
  ];
  for (const [before, after] of cases) assert.deepEqual(splitReusing(after, before.split('\n')), after.split('\n'), `${JSON.stringify(before)} → ${JSON.stringify(after)}`);
});

test('an edited document gets the same per-line diagnostics as a fresh run, edit after edit (random edits)', () => {
  const dir = join(import.meta.dirname, 'fixtures');
  const sources = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
  const rand = rng(20261122);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const pieces = ['\n', '\r\n', ' ', '-', '-A INPUT -p tcp --dport 70000 -j ACCEPT\n', '-A INPUT -j ACCEPT\n', '9', 'x', '"', '#', '*filter\n', 'COMMIT\n', ''];
  let edits = 0;
  let reused = 0;
  for (let round = 0; round < 60; round++) {
    let text = pick(sources);
    const family = rand() < 0.8 ? 'ipv4' : 'ipv6';
    const lc = new LineDiagnostics();
    if (rand() < 0.5) {
      const full = check(text, { family });
      lc.seed(text.split('\n'), full.model.ruleProblems, full.family, text);
    } else lc.run(text, family);
    for (let k = 0; k < 25; k++) {
      const r = rand();
      if (r < 0.1) {
        // A whole line moved elsewhere, or duplicated.
        const lines = text.split('\n');
        const [l] = lines.splice(Math.floor(rand() * lines.length), rand() < 0.5 ? 1 : 0);
        lines.splice(Math.floor(rand() * (lines.length + 1)), 0, l ?? pick(lines));
        text = lines.join('\n');
      } else if (r >= 0.15) {
        // A few characters replaced by a piece (below 0.15, the same text is run again).
        const at = Math.floor(rand() * (text.length + 1));
        const del = rand() < 0.4 ? Math.floor(rand() * 40) : 0;
        text = text.slice(0, at) + pick(pieces) + text.slice(at + del);
      }
      const got = lc.run(text, family);
      if (lc.lastReused > 0) reused++;
      const want = new LineDiagnostics().run(text, family);
      assert.deepEqual(got.map(key), want.map(key), `round ${round}, edit ${k}`);
      edits++;
    }
  }
  assert.ok(edits === 1500 && reused > 1000, `${edits} edits, ${reused} with reuse`);
});

test('per-line diagnostics: an edit at either end, a text emptied and refilled, a family switch', () => {
  const text = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 70000 -j ACCEPT\n-A INPUT -s 2001:db8::1 -j ACCEPT\nCOMMIT\n';
  const lc = new LineDiagnostics();
  const fresh = (t: string, f: 'ipv4' | 'ipv6') => new LineDiagnostics().run(t, f).map(key);
  for (const [t, f] of [[text, 'ipv4'], ['-A INPUT -j FOO\n' + text, 'ipv4'], [text + '-A INPUT --dport 5\n', 'ipv4'], ['', 'ipv4'], [text, 'ipv4'], [text, 'ipv6'], [text.replace('70000', '7000'), 'ipv6'], [text.replace(/\n/g, '\r\n'), 'ipv6']] as const) {
    assert.deepEqual(lc.run(t, f).map(key), fresh(t, f), JSON.stringify(t));
  }
});
