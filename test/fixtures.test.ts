/**
 * Data-driven fixture tests: every file in test/fixtures carries inline markers for exactly the
 * diagnostics it must produce (see fixture-markers.ts). `UPDATE=1 npm test` rewrites the markers
 * from the current output; review the diff before committing it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, DIAGNOSTIC_CODES } from '../server/src/core/index.ts';
import { matches, markerFor, readMarkers, rewriteMarkers } from './fixture-markers.ts';

const dir = join(import.meta.dirname, 'fixtures');
const files = readdirSync(dir).filter((f) => !f.startsWith('.')).sort();
const seenCodes = new Set<string>();

for (const f of files) {
  test(`fixture ${f}`, () => {
    const path = join(dir, f);
    const text = readFileSync(path, 'utf8');
    const { diagnostics } = check(text, { fileName: f, analyses: true });
    if (process.env.UPDATE === '1') {
      writeFileSync(path, rewriteMarkers(text, diagnostics));
      return;
    }
    const markers = readMarkers(text);
    const unmatched = [...diagnostics];
    const missing: string[] = [];
    for (const m of markers) {
      const k = unmatched.findIndex((d) => matches(m, d));
      if (k < 0) missing.push(`line ${m.line + 1}:${m.column + 1} ${m.severity}[${m.code}]: ${m.message}`);
      else {
        seenCodes.add(unmatched[k].code);
        unmatched.splice(k, 1);
      }
    }
    const extra = unmatched.map((d) => `line ${d.range.start.line + 1}: ${markerFor(d)}`);
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `diagnostics of ${f} differ from its markers`);
  });
}

test('every diagnostic code has a fixture', { skip: process.env.UPDATE === '1' }, () => {
  const untested = Object.keys(DIAGNOSTIC_CODES).filter((c) => !seenCodes.has(c) && !CODES_TESTED_ELSEWHERE.has(c));
  assert.deepEqual(untested, [], 'codes without a fixture marker');
});

/**
 * Codes whose trigger cannot be written as a marked fixture: raw bytes (test/syntax.test.ts covers
 * them) and the analysis's size guard (test/analysis.test.ts).
 */
const CODES_TESTED_ELSEWHERE = new Set(['crlf-line-endings', 'carriage-return', 'missing-final-newline', 'byte-order-mark', 'line-too-long', 'analysis-skipped']);

test('the README lists every diagnostic code with its default severity and meaning', () => {
  const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');
  for (const [code, info] of Object.entries(DIAGNOSTIC_CODES)) assert.ok(readme.includes(`| \`${code}\` | ${info.severity} | ${info.description} |`), `README row for ${code}`);
});
