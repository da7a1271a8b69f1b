/**
 * Fixture tests (with `<|>` cursor markers) for completion: commands, chains, modules, the
 * options valid for the loaded modules and protocol, targets and user chains, protocols,
 * conntrack states, interfaces seen in the file and policies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check } from '../server/src/core/index.ts';
import { completeAt, MAX_CANDIDATES, narrowCandidates, type CompletionCandidate } from '../server/src/core/completion.ts';
import { loadMarked, type Mark } from './lsp-markers.ts';

const { text, marks } = loadMarked('completion.rules');
const { model } = check(text);
const lines = text.split('\n');
const complete = (m: Mark) => completeAt(model, lines[m.line], m.line, m.character);
const labels = (items: CompletionCandidate[]): string[] => items.map((i) => i.label);
/** Labels in the order an editor shows them (rank, then label). */
const ordered = (items: CompletionCandidate[]): string[] =>
  [...items].sort((a, b) => (a.rank ?? 50) - (b.rank ?? 50) || a.label.localeCompare(b.label)).map((i) => i.label);
const [lineStart, afterA, afterM, tcpOption, multiportOption, stateList, afterJ, afterG, afterI, afterP, logOption, policy, partialModule] = marks;

test('line start: commands, and table, chain and COMMIT lines', () => {
  const r = complete(lineStart);
  assert.equal(r.replaceStart, 0);
  const l = labels(r.items);
  for (const x of ['-A', '-I', '-N', '-P', '-F', '-X', '*filter', '*nat', 'COMMIT', ':']) assert.ok(l.includes(x), x);
  assert.equal(ordered(r.items)[0], '-A');
});

test('after -A: the chains of the current table', () => {
  assert.deepEqual(labels(complete(afterA).items).sort(), ['FORWARD', 'INPUT', 'OUTPUT', 'neutron-openvswi-sg-chain']);
});

test('after -m: match modules of the family, not targets', () => {
  const l = labels(complete(afterM).items);
  for (const x of ['multiport', 'state', 'conntrack', 'comment', 'physdev', 'set', 'tcp', 'icmp']) assert.ok(l.includes(x), x);
  assert.ok(!l.includes('icmp6'), 'icmp6 is IPv6 only');
  assert.ok(!l.includes('ACCEPT'));
});

test('options of the implicit protocol match and of loaded modules, before base options', () => {
  const t = complete(tcpOption);
  assert.equal(t.replaceStart, tcpOption.character - 2, 'the typed -- is replaced');
  const tl = ordered(t.items);
  for (const x of ['--destination-port', '--source-port', '--syn', '--tcp-flags']) assert.ok(tl.includes(x), x);
  assert.ok(tl.indexOf('--destination-port') < tl.indexOf('-s'));
  assert.ok(!tl.includes('--dports'), 'multiport is not loaded');
  const m = ordered(complete(multiportOption).items);
  assert.ok(m.indexOf('--destination-ports') >= 0 && m.indexOf('--destination-ports') < m.indexOf('--destination-port'), 'the newest module first');
});

test('state lists complete the element after the last comma, without repeats', () => {
  const r = complete(stateList);
  assert.equal(r.replaceStart, stateList.character);
  const l = labels(r.items);
  assert.ok(l.includes('ESTABLISHED') && l.includes('RELATED') && l.includes('INVALID'));
  assert.ok(!l.includes('NEW'));
});

test('after -j: verdicts, target extensions allowed in the table, user chains; after -g only user chains', () => {
  const j = labels(complete(afterJ).items);
  for (const x of ['ACCEPT', 'DROP', 'RETURN', 'REJECT', 'LOG', 'neutron-openvswi-sg-chain']) assert.ok(j.includes(x), x);
  assert.ok(!j.includes('DNAT'), 'DNAT is nat-only');
  assert.ok(!j.includes('INPUT'), 'a rule cannot jump to a builtin chain');
  assert.deepEqual(labels(complete(afterG).items), ['neutron-openvswi-sg-chain']);
});

test('a table with more chains than an editor is sent at once: the list is narrowed to the word typed and marked incomplete', () => {
  const count = MAX_CANDIDATES + 500;
  const names = Array.from({ length: count }, (_, k) => `chain-${String(k).padStart(4, '0')}`);
  const text = ['*filter', ':INPUT ACCEPT [0:0]', ...names.map((n) => `:${n} - [0:0]`), '-A INPUT -j ', 'COMMIT', ''].join('\n');
  const lines = text.split('\n');
  const at = lines.indexOf('-A INPUT -j ');
  const model = check(text).model;
  const all = completeAt(model, lines[at], at, lines[at].length);
  assert.ok(all.items.length > count, 'every chain is a candidate');
  // Nothing typed yet: the best-ranked candidates (verdicts first), and the editor asks again.
  const none = narrowCandidates(all.items, '');
  assert.equal(none.items.length, MAX_CANDIDATES);
  assert.equal(none.incomplete, true);
  assert.equal(none.items[0].label, 'ACCEPT');
  // A word typed: every candidate holding its characters in order, and no other.
  const typed = narrowCandidates(all.items, 'CHAIN-149');
  const expected = all.items.filter((c) => /c.*h.*a.*i.*n.*-.*1.*4.*9/.test(c.label.toLowerCase())).map((c) => c.label).sort();
  assert.deepEqual(typed.items.map((c) => c.label).sort(), expected);
  assert.ok(expected.includes('chain-1499') && expected.includes('chain-0149') && !expected.includes('chain-0150'));
  assert.equal(typed.incomplete, true);
  // Up to the limit, everything is sent and the list is complete.
  const few = narrowCandidates(all.items.slice(0, 10), 'zzz');
  assert.equal(few.items.length, 10);
  assert.equal(few.incomplete, false);
});

test('after -i: interfaces seen in the file, most used first; after -p: common protocols first', () => {
  assert.deepEqual(labels(complete(afterI).items), ['eth1', 'qvb5f2a4e0c-8d']);
  const p = ordered(complete(afterP).items);
  assert.deepEqual(p.slice(0, 3), ['tcp', 'udp', 'icmp']);
  assert.ok(p.includes('gre') && p.includes('ospf'));
});

test('target options after -j LOG; policies after -P CHAIN; a partial module name is replaced', () => {
  const l = labels(complete(logOption).items);
  assert.ok(l.includes('--log-prefix') && l.includes('--log-level'));
  assert.ok(l.includes('--ctstate') === false, '--ctstate is already given');
  assert.deepEqual(labels(complete(policy).items), ['ACCEPT', 'DROP']);
  const pm = complete(partialModule);
  assert.equal(pm.replaceStart, partialModule.character - 'multi'.length);
  assert.ok(labels(pm.items).includes('multiport'));
});

test('ip6tables address types: the ones the kernel refuses for IPv6 (BROADCAST, BLACKHOLE …) are not offered', () => {
  const v6 = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m addrtype --src-type \nCOMMIT\n';
  const line = v6.split('\n')[2];
  const offered = labels(completeAt(check(v6, { family: 'ipv6' }).model, line, 2, line.length).items);
  assert.deepEqual(offered, ['UNSPEC', 'UNICAST', 'LOCAL', 'ANYCAST', 'MULTICAST', 'UNREACHABLE']);
  assert.ok(labels(completeAt(check(v6, { family: 'ipv4' }).model, line, 2, line.length).items).includes('BROADCAST'), 'iptables offers every type');
});
