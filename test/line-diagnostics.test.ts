/** The editor's fast per-line diagnostics agree with the full check and only re-interpret changed lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, LineDiagnostics } from '../server/src/core/index.ts';

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
  lc.seed(text.split('\n'), full.model.ruleProblems, full.family);
  const edited = text.replace('--dport 1007 ', '--dport 70000 ');
  const d = lc.run(edited, full.family);
  assert.equal(lc.lastInterpreted, 1);
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
