/**
 * Fixture tests (with `<|>` cursor markers) for the navigation features: definition, references,
 * document highlight, rename with prepareRename, document and workspace symbols, call hierarchy,
 * folding, semantic tokens, counter hints and reference counts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check } from '../server/src/core/index.ts';
import {
  chainAt, occurrences, prepareRename, renameEdits, documentSymbols, findChains, incomingCalls, outgoingCalls,
  foldingRanges, semanticTokens, counterHints, jumpCounts, humanBytes, humanCount, declarationNameSpan,
} from '../server/src/core/navigation.ts';
import { applyEdits } from '../server/src/core/format.ts';
import { loadMarked } from './lsp-markers.ts';

const { text, marks } = loadMarked('navigation.rules');
const result = check(text);
const model = result.model;
const lines = text.split('\n');
const wordAt = (line: number, start: number, end: number): string => lines[line].slice(start, end);
const [declMark, jumpMark, commandMark, verdictMark, natMark] = marks;

test('the fixture itself is clean apart from the deliberately unused chain', () => {
  assert.deepEqual(result.diagnostics.map((d) => d.code), ['unused-chain']);
});

test('definition: from a jump, a command and the declaration itself to the declared name', () => {
  for (const m of [jumpMark, commandMark, declMark]) {
    const hit = chainAt(model, m.line, m.character);
    assert.ok(hit, `no chain at ${m.line}:${m.character}`);
    assert.equal(hit.chain.name, 'neutron-filter-top');
    assert.equal(hit.chain.table.name, 'filter');
    const d = declarationNameSpan(hit.chain)!;
    assert.deepEqual(d, { line: 5, start: 1, end: 19 });
    assert.equal(wordAt(d.line, d.start, d.end), 'neutron-filter-top');
  }
});

test('definition: a verdict is not a chain, and a builtin chain command resolves in its own table', () => {
  assert.equal(chainAt(model, verdictMark.line, verdictMark.character), undefined);
  const hit = chainAt(model, natMark.line, natMark.character);
  assert.equal(hit?.chain.name, 'PREROUTING');
  assert.equal(hit?.chain.table.name, 'nat');
  assert.deepEqual(declarationNameSpan(hit!.chain), { line: 20, start: 1, end: 11 });
});

test('references: declaration, every command and every jump, only in the same table', () => {
  const hit = chainAt(model, declMark.line, declMark.character)!;
  const occ = occurrences(hit.chain);
  assert.deepEqual(occ.map((o) => [o.kind, o.span.line]), [['declaration', 5], ['jump', 9], ['jump', 10], ['command', 11], ['command', 12]]);
  for (const o of occ) assert.equal(wordAt(o.span.line, o.span.start, o.span.end), 'neutron-filter-top');
  // The nat table's chain of the same name is a different chain.
  assert.ok(occ.every((o) => o.span.line < 19));
});

test('document highlight uses the same occurrences (the declaration is the write)', () => {
  const hit = chainAt(model, jumpMark.line, jumpMark.character)!;
  const kinds = occurrences(hit.chain).map((o) => o.kind);
  assert.equal(kinds.filter((k) => k === 'declaration').length, 1);
});

test('prepareRename: the range excludes the colon of the declaration; builtin chains are refused', () => {
  const p = prepareRename(model, declMark.line, declMark.character);
  assert.deepEqual(p, { span: { line: 5, start: 1, end: 19 }, placeholder: 'neutron-filter-top' });
  const b = prepareRename(model, natMark.line, natMark.character);
  assert.ok(b && 'error' in b && /builtin/.test(b.error));
  assert.equal(prepareRename(model, verdictMark.line, verdictMark.character), undefined);
});

test('rename: every occurrence in that table and nothing in the other table; the result stays clean', () => {
  const r = renameEdits(model, jumpMark.line, jumpMark.character, 'my-top');
  assert.ok(r && 'edits' in r);
  assert.equal(r.edits.length, 5);
  const renamed = applyEdits(text, r.edits);
  assert.match(renamed, /^:my-top - \[0:0\]$/m);
  assert.match(renamed, /^-A FORWARD -j my-top$/m);
  assert.match(renamed, /^:neutron-filter-top - \[0:0\]$/m, 'the nat chain keeps its name');
  assert.match(renamed, /^-A PREROUTING -j neutron-filter-top$/m);
  const after = check(renamed);
  assert.deepEqual(after.diagnostics.map((d) => d.code), ['unused-chain']);
});

test('rename: refuses names the kernel refuses or that already exist', () => {
  for (const bad of ['neutron-openvswi-sg-chain', 'ACCEPT', 'MASQUERADE', '-x', 'a'.repeat(29), 'has space', '']) {
    const r = renameEdits(model, declMark.line, declMark.character, bad);
    assert.ok(r && 'error' in r, `'${bad}' should be refused`);
  }
});

test("document symbols: tables with chains, policy and rule count in the detail, and a Neutron chain's role", () => {
  const syms = documentSymbols(model, (l) => lines[l]?.length ?? 0);
  assert.deepEqual(syms.map((s) => s.name), ['filter', 'nat']);
  const filter = syms[0];
  assert.deepEqual(filter.range.start, { line: 1, character: 0 });
  assert.equal(filter.range.end.line, 17);
  const byName = new Map(filter.children.map((c) => [c.name, c]));
  assert.equal(byName.get('INPUT')?.detail, 'policy ACCEPT, 1 rule');
  assert.equal(byName.get('FORWARD')?.detail, 'policy DROP, 1 rule');
  assert.equal(byName.get('neutron-openvswi-sg-chain')?.detail, '2 rules · Neutron security-group dispatch');
  assert.deepEqual(byName.get('neutron-filter-top')?.selectionRange, { start: { line: 5, character: 1 }, end: { line: 5, character: 19 } });
  assert.equal(syms[1].children.length, 5);
});

test('workspace symbols: chains by substring, across tables', () => {
  assert.deepEqual(findChains(model, 'SG').map((c) => c.name), ['neutron-openvswi-sg-chain']);
  assert.deepEqual(findChains(model, 'filter-top').map((c) => c.table.name), ['filter', 'nat']);
});

test('call hierarchy: incoming and outgoing jumps (including -g)', () => {
  const top = chainAt(model, declMark.line, declMark.character)!.chain;
  assert.deepEqual(incomingCalls(top).map((c) => [c.chain.name, c.spans.map((s) => s.line)]), [['FORWARD', [9]], ['OUTPUT', [10]]]);
  assert.deepEqual(outgoingCalls(top).map((c) => c.chain.name), ['neutron-openvswi-sg-chain']);
  const sg = model.tables[0].chains.get('neutron-openvswi-sg-chain')!;
  assert.deepEqual(outgoingCalls(sg).map((c) => c.chain.name), ['neutron-openvswi-local']);
  assert.deepEqual(incomingCalls(sg).map((c) => c.chain.name), ['neutron-filter-top']);
});

test('folding: table blocks, runs of one chain\'s rules, comment runs', () => {
  const f = foldingRanges(model, result.parsed);
  assert.ok(f.some((r) => r.kind === 'table' && r.startLine === 1 && r.endLine === 17));
  assert.ok(f.some((r) => r.kind === 'table' && r.startLine === 19 && r.endLine === 26));
  assert.ok(f.some((r) => r.kind === 'rules' && r.startLine === 13 && r.endLine === 14), 'the two sg-chain rules fold');
  assert.ok(!f.some((r) => r.kind === 'rules' && r.startLine === 9), 'rules of different chains do not fold together');
});

test('semantic tokens: chain names, builtin chains, targets, modules and negation', () => {
  const tokens = semanticTokens(model);
  const on = (line: number) => tokens.filter((t) => t.line === line).map((t) => [t.kind, wordAt(t.line, t.start, t.start + t.length), t.declaration]);
  assert.deepEqual(on(5), [['chain', 'neutron-filter-top', true]]);
  assert.deepEqual(on(12), [['chain', 'neutron-filter-top', false], ['module', 'tcp', false], ['negation', '!', false], ['target', 'RETURN', false]]);
  assert.deepEqual(on(9), [['builtinChain', 'FORWARD', false], ['chain', 'neutron-filter-top', false]]);
  assert.deepEqual(on(1), [['table', 'filter', true]]);
  // A range request returns only the lines asked for.
  assert.ok(semanticTokens(model, 9, 10).every((t) => t.line === 9 || t.line === 10));
});

test('semantic tokens: rules with the same text after the chain name share tokens only where they would be the same', () => {
  // INPUT and FOOBA have names of one length but not one kind; `"ab c"` is quoted (a name as long
  // as abcd, written longer); X1 is shorter; line 12 carries counters before the command. Each rule's tokens must be those it has on its own.
  const text = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FOOBA - [0:0]',
    ':X1 - [0:0]',
    ':ab c - [0:0]',
    ':abcd - [0:0]',
    '-A INPUT -m tcp -p tcp ! --dport 22 -j FOOBA',
    '-A FOOBA -m tcp -p tcp ! --dport 22 -j FOOBA',
    '-A FOOBA -m tcp -p tcp ! --dport 22 -j FOOBA',
    '-A X1 -m tcp -p tcp ! --dport 22 -j FOOBA',
    '-A "ab c" -m tcp -p tcp ! --dport 22 -j FOOBA',
    '[0:0] -A FOOBA -m tcp -p tcp ! --dport 22 -j FOOBA',
    '-I FOOBA -m tcp -p tcp ! --dport 22 -j FOOBA',
    '-A abcd -m tcp -p tcp ! --dport 22 -j FOOBA',
    '-A abcd',
    '-N efgh',
    'COMMIT',
    '',
  ].join('\n');
  const all = semanticTokens(check(text).model);
  const words = text.split('\n');
  const on = (line: number) => all.filter((t) => t.line === line).map((t) => [t.kind, words[line].slice(t.start, t.start + t.length)]);
  const rest = [['module', 'tcp'], ['negation', '!'], ['chain', 'FOOBA']];
  assert.deepEqual(on(6), [['builtinChain', 'INPUT'], ...rest]);
  for (const line of [7, 8, 12]) assert.deepEqual(on(line), [['chain', 'FOOBA'], ...rest], `line ${line + 1}`);
  assert.deepEqual(on(9), [['chain', 'X1'], ...rest]);
  assert.deepEqual(on(10), [['chain', '"ab c"'], ...rest]);
  assert.deepEqual(on(11), [['chain', 'FOOBA'], ...rest]);
  assert.deepEqual(on(13), [['chain', 'abcd'], ...rest]);
  assert.deepEqual(on(14), [['chain', 'abcd']]);
  assert.deepEqual(all.filter((t) => t.line === 15).map((t) => [t.kind, t.declaration]), [['chain', true]]);
  // Each line alone, in a model of its own, gives the same tokens.
  for (let line = 6; line <= 15; line++) {
    const alone = [...words.slice(0, 6), ...Array<string>(line - 6).fill(''), words[line], 'COMMIT', ''].join('\n');
    const own = semanticTokens(check(alone).model).filter((t) => t.line === line);
    assert.deepEqual(own, all.filter((t) => t.line === line), `line ${line + 1} alone`);
  }
});

test('counters as hints (human-readable) and reference counts', () => {
  const hints = counterHints(model, (l) => lines[l]?.length ?? 0);
  assert.deepEqual(hints, [
    { line: 2, character: lines[2].length, label: '1.2M packets, 941.9 MiB' },
    { line: 14, character: 7, label: '5 packets, 300 B' },
  ]);
  assert.equal(humanCount(999n), '999');
  assert.equal(humanCount(1500n), '1.5K');
  assert.equal(humanBytes(1024n), '1.0 KiB');
  const counts = jumpCounts(model);
  const top = model.tables[0].chains.get('neutron-filter-top')!;
  assert.equal(counts.get(top), 2);
  assert.equal(counts.get(model.tables[0].chains.get('unused-chain')!), 0);
});
