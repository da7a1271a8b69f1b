/**
 * Fixture tests (with `<|>` markers on the diagnostics) for code actions: declare a missing
 * chain, add COMMIT, rewrite the deprecated negation, remove an unused chain, add the final
 * newline, and fix all. Each fix is applied and the text checked again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, type Diagnostic } from '../server/src/core/index.ts';
import { fixAll, fixesFor } from '../server/src/core/code-actions.ts';
import { applyEdits } from '../server/src/core/format.ts';
import { loadMarked, type Mark } from './lsp-markers.ts';

const { text, marks } = loadMarked('code-actions.rules');
const result = check(text);
const lines = text.split('\n');
const [, missingJump, baseNegation, optionNegation, staleCommand] = marks;
const diagAt = (m: Mark, code: string): Diagnostic => {
  const d = result.diagnostics.find((x) => x.code === code && x.range.start.line === m.line && x.range.start.character <= m.character && m.character <= x.range.end.character);
  assert.ok(d, `no ${code} at ${m.line}:${m.character}`);
  return d;
};
const codesAfter = (t: string): string[] => check(t).diagnostics.map((d) => d.code);

test('declare a missing chain: one declaration after the last one fixes both jumps', () => {
  const [fix] = fixesFor(result, diagAt(missingJump, 'undefined-chain'), lines);
  assert.equal(fix.title, "Declare chain 'neutron-missing' in table filter");
  const fixed = applyEdits(text, fix.edits);
  assert.equal(fixed.split('\n')[6], ':neutron-missing - [0:0]');
  assert.ok(!codesAfter(fixed).includes('undefined-chain'));
});

test('rewrite the deprecated negation of a base option and of a module option', () => {
  const [a] = fixesFor(result, diagAt(baseNegation, 'deprecated-negation'), lines);
  assert.equal(applyEdits(text, a.edits).split('\n')[8], '-A neutron-top ! -s 10.0.0.0/8 -j ACCEPT');
  const [b] = fixesFor(result, diagAt(optionNegation, 'deprecated-negation'), lines);
  const fixed = applyEdits(text, b.edits);
  assert.equal(fixed.split('\n')[9], '-A neutron-top -p tcp ! --dport 22 -j DROP');
  assert.equal(codesAfter(fixed).filter((c) => c === 'deprecated-negation').length, 1);
});

test('add COMMIT before the next table and at the end of the file', () => {
  const [first, last] = result.diagnostics.filter((d) => d.code === 'missing-commit');
  const [f1] = fixesFor(result, first, lines);
  assert.equal(f1.title, 'Add COMMIT to table filter');
  assert.deepEqual(applyEdits(text, f1.edits).split('\n').slice(12, 14), ['-A stale-chain -j ACCEPT', 'COMMIT']);
  const [f2] = fixesFor(result, last, lines);
  assert.equal(f2.title, 'Add COMMIT to table nat');
  assert.ok(applyEdits(text, f2.edits).endsWith('-A PREROUTING -j ACCEPT\nCOMMIT\n'));
  const noNewline = '*filter\n-A INPUT -j ACCEPT';
  const r = check(noNewline);
  const [f3] = fixesFor(r, r.diagnostics.find((d) => d.code === 'missing-commit')!, noNewline.split('\n'));
  assert.equal(applyEdits(noNewline, f3.edits), '*filter\n-A INPUT -j ACCEPT\nCOMMIT\n');
});

test('remove an unused chain: its declaration and every line naming it', () => {
  const d = result.diagnostics.find((x) => x.code === 'unused-chain')!;
  assert.equal(d.range.start.line, staleCommand.line - 6);
  const [fix] = fixesFor(result, d, lines);
  assert.equal(fix.preferred, false);
  const fixed = applyEdits(text, fix.edits);
  assert.ok(!fixed.includes('stale-chain'));
  assert.ok(!codesAfter(fixed).includes('unused-chain'));
});

test('remove a byte-order mark', () => {
  const t = '\ufeff*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n';
  const r = check(t);
  const d = r.diagnostics.find((x) => x.code === 'byte-order-mark')!;
  const fixed = applyEdits(t, fixesFor(r, d, t.split('\n'))[0].edits);
  assert.equal(fixed, t.slice(1));
  assert.deepEqual(check(fixed).diagnostics, []);
});

test('add the final newline after COMMIT', () => {
  const t = '*filter\n-A INPUT -j ACCEPT\nCOMMIT';
  const r = check(t);
  const d = r.diagnostics.find((x) => x.code === 'missing-final-newline')!;
  assert.equal(applyEdits(t, fixesFor(r, d, t.split('\n'))[0].edits), t + '\n');
});

test('fix all: every safe fix at once, never removing rules', () => {
  const all = fixAll(result, lines)!;
  assert.equal(all.kind, 'source.fixAll');
  const fixed = applyEdits(text, all.edits);
  assert.deepEqual(codesAfter(fixed), ['unused-chain']);
  assert.equal(fixed.match(/^:neutron-missing /gm)?.length, 1, 'declared once although two rules jump to it');
  assert.ok(fixed.includes('-A stale-chain -j ACCEPT'));
  // Fixing everything twice changes nothing more.
  assert.equal(fixAll(check(fixed), fixed.split('\n')), undefined);
});

test('no fix declares a chain name iptables-restore would refuse or split (found by fuzzing)', () => {
  for (const rule of ['-A ACCEPT -j DROP', '-A INPUT -j "a b"', '-A " -p icmp -j ACCEPT', '-A INPUT -j "x\\"y"', `-A INPUT -j ${'c'.repeat(29)}`]) {
    const t = `*filter\n:INPUT ACCEPT [0:0]\n${rule}\nCOMMIT\n`;
    const r = check(t);
    const ls = t.split('\n');
    const declares = r.diagnostics.flatMap((d) => fixesFor(r, d, ls)).filter((f) => f.title.startsWith('Declare chain'));
    assert.deepEqual(declares.map((f) => f.title), [], rule);
    assert.equal(fixAll(r, ls), undefined, rule);
  }
  // A plain name still gets its declaration.
  const ok = check('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j my-chain\nCOMMIT\n');
  assert.ok(fixAll(ok, ['*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -j my-chain', 'COMMIT', '']));
});

test('add COMMIT after a builtin chain declared again at the end of the block (found by fuzzing)', () => {
  const t = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n:INPUT DROP [0:0]\n';
  const r = check(t);
  const all = fixAll(r, t.split('\n'));
  assert.ok(all);
  const fixed = applyEdits(t, all.edits);
  assert.equal(fixed, '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n:INPUT DROP [0:0]\nCOMMIT\n');
  assert.deepEqual(codesAfter(fixed).filter((c) => c !== 'analysis-skipped'), []);
});

test('remove a rule the analysis calls unreachable, shadowed or redundant; none where removing could change other commands', () => {
  const t = [
    '*filter',
    ':INPUT DROP [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
    '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
    '-A INPUT -p udp -j DROP',
    '-A INPUT -p tcp -j ACCEPT',
    '-A INPUT -p tcp -m tcp --dport 80 -j DROP',
    'COMMIT',
    '',
  ].join('\n');
  const r = check(t, { analyses: true });
  const at = (line: number, code: string): Diagnostic => {
    const d = r.diagnostics.find((x) => x.code === code && x.range.start.line === line);
    assert.ok(d, `no ${code} on line ${line + 1}: ${r.diagnostics.map((x) => `${x.range.start.line + 1}:${x.code}`).join(' ')}`);
    return d;
  };
  const cases: [number, string, string][] = [
    [5, 'unreachable-rule', 'Remove this unreachable rule'],
    [6, 'redundant-rule', 'Remove this redundant rule (no verdict changes)'],
    [8, 'shadowed-rule', 'Remove this shadowed rule (no packet reaches it)'],
  ];
  for (const [line, code, title] of cases) {
    const fixes = fixesFor(r, at(line, code), t.split('\n'));
    assert.deepEqual(fixes.map((f) => [f.title, f.preferred]), [[title, false]], code);
    const fixed = applyEdits(t, fixes[0].edits);
    assert.deepEqual(fixed.split('\n'), t.split('\n').filter((_, k) => k !== line), `${code}: exactly the rule's line goes`);
    // The finding is gone, and the rules around it are not reported anew.
    const after = check(fixed, { analyses: true }).diagnostics.filter((d) => d.code === code);
    assert.equal(after.length, r.diagnostics.filter((d) => d.code === code).length - 1, code);
  }
  // Never in "fix all": removing two redundant rules at once can change verdicts.
  assert.equal(fixAll(r, t.split('\n')), undefined);
  // A numbered insert or a delete in the chain refers to rules by position or text:
  // deleting a line could change what they do, so no removal is offered.
  for (const extra of ['-I INPUT 1 -p icmp -j ACCEPT', '-D INPUT -p udp -j DROP']) {
    const u = t.replace('COMMIT', `${extra}\nCOMMIT`);
    const ru = check(u, { analyses: true });
    const d = ru.diagnostics.find((x) => x.code === 'unreachable-rule' && x.range.start.line === 5);
    assert.ok(d, extra);
    assert.deepEqual(fixesFor(ru, d, u.split('\n')), [], extra);
  }
  // An insert at the top refers to no position: the fix stays.
  const top = t.replace('COMMIT', '-I INPUT -p icmp -j ACCEPT\nCOMMIT');
  const rt = check(top, { analyses: true });
  assert.equal(fixesFor(rt, rt.diagnostics.find((x) => x.code === 'unreachable-rule' && x.range.start.line === 5)!, top.split('\n')).length, 1);
});
