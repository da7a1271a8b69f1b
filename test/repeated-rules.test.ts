/**
 * A rule repeated in chains whose names have the same length is read once and its reading moved
 * to the other lines (model.ts RepeatedRules). The model, every validity finding and the rule-set
 * analysis (which reads the rules as the model is built) must be the same as when every line is
 * read on its own: checked here on Neutron dumps, the fixtures and the real-world corpus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '../server/src/core/syntax.ts';
import { buildModel, detectFamily, type ModelObserver } from '../server/src/core/model.ts';
import { CommandChecks, validate } from '../server/src/core/validate.ts';
import { analyse, RuleReader } from '../server/src/core/analysis/analyse.ts';
import { neutronDump } from '../bench/neutron-dump.ts';

const root = join(import.meta.dirname, '..');

/** Validity and analysis findings, and the model's rules, with or without reuse. */
function run(text: string, reuse: boolean): { findings: unknown; rules: unknown } {
  const family = detectFamily(text, {});
  const parsed = parse(text);
  const commands = new CommandChecks(family);
  const readings = new RuleReader(family);
  const both: ModelObserver = {
    declared: (t, c) => (commands.declared(t, c), readings.declared()),
    command: (t, r, info, line) => (commands.command(t, r, info), readings.command(t, r, info, line)),
    tableEnd: (t) => (commands.tableEnd(t), readings.tableEnd()),
  };
  const model = buildModel(parsed, family, both, { reuseRepeatedRules: reuse });
  const found = validate(parsed, model, commands);
  const errorLines = new Set(found.filter((d) => d.severity === 'error').map((d) => d.range.start.line));
  const analysis = analyse(model, { readings, errorLines, reachability: false });
  const rules = model.tables.map((t) => [...t.chains.values()].map((c) => [c.name, c.exists, c.rules.map((r) => [r.line, r.chainName, r.targetName, r.targetKind, r.goto, r.command, r.chainSpan, r.targetSpan])]));
  return { findings: [found, analysis.diagnostics], rules };
}

test('rules read once and moved to their repeats give the same model and findings as reading each', () => {
  const texts: [string, string][] = [['neutronDump(60)', neutronDump(60)]];
  for (const dir of [join(root, 'test/fixtures'), join(root, '../shared/corpus/real-world')]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (!/LICENSE|README/.test(f)) texts.push([f, readFileSync(join(dir, f), 'utf8')]);
  }
  assert.ok(texts.length > 20, 'the fixtures and the corpus were found');
  for (const [name, text] of texts) {
    const reused = run(text, true);
    const each = run(text, false);
    assert.deepEqual(reused.rules, each.rules, `${name}: the models differ`);
    assert.deepEqual(reused.findings, each.findings, `${name}: the findings differ`);
  }
});

test('after a long run of rules that do not repeat, repeats are found again and read the same', () => {
  // 3,000 rules of one address each make the lookups sample one line in 16; the Neutron chains
  // after them repeat again, which a sampled line finds. Either way the model and findings must
  // be those of reading every line.
  const unique = Array.from({ length: 3000 }, (_, k) => `-A blocklist -s 10.${k >> 16}.${(k >> 8) & 255}.${k & 255}/32 -j DROP`);
  const neutron = neutronDump(40).split('\n');
  const at = neutron.findIndex((l) => l.startsWith('-A '));
  const declare = neutron.findIndex((l) => l.startsWith(':'));
  const text = [...neutron.slice(0, declare), ':blocklist - [0:0]', ...neutron.slice(declare, at), '-A INPUT -j blocklist', ...unique, ...neutron.slice(at)].join('\n');
  const reused = run(text, true);
  const each = run(text, false);
  assert.deepEqual(reused.rules, each.rules, 'the models differ');
  assert.deepEqual(reused.findings, each.findings, 'the findings differ');
});
