/**
 * Tests of the rule-set analysis beyond the fixtures: the size guard reports itself, Neutron's own
 * chains (examples/ and the vectors of test/neutron/vectors) have no rule called unreachable or
 * shadowed, and every unreachable/shadowed rule found in the real-world corpus is listed in
 * test/golden/corpus-analysis.txt for a person to review (`UPDATE=1` rewrites it). The work of
 * the analysis grows linearly on Neutron dumps of 100 to 5,000 ports and the largest corpus file
 * (TUM's firewall) is analysed in full; timings are printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check } from '../server/src/core/index.ts';
import { analyse } from '../server/src/core/analysis/analyse.ts';
import { concreteSpace, D, markSet, markTransform, membershipSet, readRule, setLookupBit, setLookupKey, spaceOf, VocabularyCollector } from '../server/src/core/analysis/rule-space.ts';
import { intersect, isEmpty } from '../server/src/core/analysis/packet-space.ts';
import { neutronDump } from '../bench/neutron-dump.ts';
import { mulberry32 } from '../bench/random.ts';
import type { Diagnostic } from '../server/src/core/diagnostics.ts';

const root = join(import.meta.dirname, '..');
const FINDINGS = new Set(['unreachable-rule', 'shadowed-rule', 'unreachable-chain']);

test('the size guard skips the analysis with an information diagnostic, never silently', () => {
  const text = '*filter\n:INPUT ACCEPT [0:0]\n' + Array.from({ length: 40 }, (_, k) => `-A INPUT -s 10.0.${k}.0/24 -p tcp -m tcp --dport ${k + 1} -j DROP`).join('\n') + '\nCOMMIT\n';
  const { diagnostics } = check(text, { analyses: { budget: 50 } });
  const skipped = diagnostics.filter((d) => d.code === 'analysis-skipped');
  assert.equal(skipped.length, 1);
  assert.equal(skipped[0].severity, 'information');
  assert.match(skipped[0].message, /rule-set analysis skipped for table filter/);
});

test('a table with more findings than a function call can take as arguments is reported in full', () => {
  // 210,000 rules in a chain nothing jumps to: one finding each. Collecting findings with
  // push(...xs) overflowed the stack here (past about 150,000) and the whole check failed.
  const count = 210_000;
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':X - [0:0]'];
  for (let k = 0; k < count; k++) lines.push(`-A X -p tcp -m tcp --dport ${(k % 60_000) + 1} -j ACCEPT`);
  lines.push('COMMIT', '');
  const { diagnostics } = check(lines.join('\n'), { analyses: true });
  assert.equal(diagnostics.filter((d) => d.code === 'unreachable-rule').length, count);
  assert.equal(diagnostics.filter((d) => d.code === 'unused-chain').length, 1);
});

/** The iptables-restore sections of a Neutron vector, with their family. */
function vectorSections(text: string): { family: 'ipv4' | 'ipv6'; text: string }[] {
  const out: { family: 'ipv4' | 'ipv6'; text: string }[] = [];
  const parts = text.split(/^### /m);
  for (const p of parts) {
    const nl = p.indexOf('\n');
    const head = p.slice(0, nl);
    if (!/ip6?tables-restore/.test(head)) continue;
    out.push({ family: /ip6tables/.test(head) ? 'ipv6' : 'ipv4', text: p.slice(nl + 1) });
  }
  return out;
}

/**
 * The findings on Neutron's chains, reviewed by hand: all are true. The o-chains end their egress
 * "allow any" rule with an unconditional RETURN, so the INVALID drop and the fallback jump after it
 * are dead; FWaaS's egress chain accepts or drops everything, so the default jump after it is dead;
 * two chains are declared but never jumped to.
 */
const NEUTRON_REVIEWED = [
  'examples/compute-node-ovs-hybrid.rules:38', 'examples/compute-node-ovs-hybrid.rules:39',
  'examples/compute-node-ovs-hybrid.v6:42', 'examples/compute-node-ovs-hybrid.v6:43',
  'examples/l3-router.rules:51',
  'vector_fwaas_v2.txt#0:23', 'vector_fwaas_v2.txt#1:24', 'vector_fwaas_v2.txt#1:32',
  'vector_l3_legacy.txt#0:43',
  'vector_sg_ovs_hybrid.txt#0:35', 'vector_sg_ovs_hybrid.txt#0:36', 'vector_sg_ovs_hybrid.txt#1:39', 'vector_sg_ovs_hybrid.txt#1:40',
];

test("Neutron's own chains: no reachable rule is called unreachable", () => {
  const inputs: { name: string; text: string; family?: 'ipv4' | 'ipv6' }[] = [];
  for (const f of readdirSync(join(root, 'examples')).sort()) inputs.push({ name: `examples/${f}`, text: readFileSync(join(root, 'examples', f), 'utf8') });
  const vdir = join(root, 'test/neutron/vectors');
  for (const f of readdirSync(vdir).filter((x) => x.endsWith('.txt')).sort()) {
    vectorSections(readFileSync(join(vdir, f), 'utf8')).forEach((s, k) => inputs.push({ name: `${f}#${k}`, text: s.text, family: s.family }));
  }
  const bad: string[] = [];
  let analysed = 0;
  for (const i of inputs) {
    const { diagnostics, model } = check(i.text, { fileName: i.name, family: i.family, analyses: false });
    const result = analyse(model);
    analysed += result.rules.size;
    assert.deepEqual(result.diagnostics.filter((d) => d.code === 'analysis-skipped').map((d) => d.message), [], `${i.name}: analysis skipped`);
    void diagnostics;
    for (const d of result.diagnostics) if (FINDINGS.has(d.code)) bad.push(`${i.name}:${d.range.start.line + 1}`);
  }
  assert.deepEqual(bad, NEUTRON_REVIEWED);
  assert.ok(analysed > 100, `only ${analysed} rules analysed`);
});

const corpus = '/work/shared/corpus/real-world';

test('unreachable and shadowed rules of the real-world corpus match the reviewed golden file', { skip: existsSync(corpus) ? false : 'corpus not found' }, () => {
  const lines: string[] = [];
  for (const f of readdirSync(corpus).sort()) {
    if (f.startsWith('README') || f.startsWith('LICENSE')) continue;
    const text = readFileSync(join(corpus, f), 'utf8');
    const { diagnostics } = check(text, { fileName: f, analyses: true });
    const src = text.split('\n');
    for (const d of diagnostics) {
      if (!FINDINGS.has(d.code) && d.code !== 'analysis-skipped') continue;
      lines.push(`${f}:${d.range.start.line + 1}: ${d.code}: ${d.message}`);
      lines.push(`    ${src[d.range.start.line]}`);
      for (const r of d.related ?? []) lines.push(`    ${r.range.start.line + 1} (${r.message}): ${src[r.range.start.line]}`);
    }
  }
  const golden = join(root, 'test/golden/corpus-analysis.txt');
  const text = lines.join('\n') + '\n';
  if (process.env.UPDATE === '1' || !existsSync(golden)) writeFileSync(golden, text);
  assert.equal(text, readFileSync(golden, 'utf8'), 'the analysis findings on the corpus changed: review and rewrite with UPDATE=1');
});

test('the analysis grows linearly with Neutron dumps and analyses the largest corpus file fully', () => {
  const largest = existsSync(corpus) ? readdirSync(corpus).map((f) => join(corpus, f)).sort((a, b) => readFileSync(b).length - readFileSync(a).length)[0] : undefined;
  const report: string[] = [];
  // No time limit here: the machine may be busy; the work counted by the analysis is deterministic.
  const run = (name: string, text: string): { work: number; rules: number; lines: number } => {
    const { model } = check(text, { analyses: false });
    const t0 = performance.now();
    const r = analyse(model, { timeLimitMs: 1e9, reachability: false });
    const ms = performance.now() - t0;
    // Only the note that a very long chain skips the pairwise checks is allowed: no table or chain
    // may be skipped, nor its packets merged into coarser pieces.
    const skipped = r.diagnostics.filter((d) => d.code === 'analysis-skipped').map((d) => d.message);
    assert.deepEqual(skipped.filter((m) => !/the analysis compares pairwise/.test(m)), [], `${name}: part of the analysis was skipped`);
    const lines = text.split('\n').length;
    const rules = model.tables.reduce((n, t) => n + [...t.chains.values()].reduce((m, c) => m + c.rules.length, 0), 0);
    report.push(`${name}: ${lines} lines, ${rules} rules, analysis ${Math.round(ms)} ms, ${r.work.toLocaleString('en')} steps (${(r.work / rules).toFixed(1)} per rule), ${r.diagnostics.length} findings`);
    return { work: r.work, rules, lines };
  };
  if (largest) run(largest.split('/').pop()!, readFileSync(largest, 'utf8'));
  const sizes = [100, 1000, 5000].map((ports) => ({ ports, ...run(`neutronDump(${ports})`, neutronDump(ports)) }));
  process.stderr.write(report.map((l) => `# ${l}\n`).join(''));
  // Work per rule may not grow by more than half from 100 to 5,000 ports (quadratic growth would be 50 times).
  const perRule = sizes.map((x) => x.work / x.rules);
  assert.ok(perRule[2] < 1.5 * perRule[0], `work per rule grows: ${perRule.map((x) => x.toFixed(1)).join(' → ')}`);
});

test('a line of 20,000 chains, each jumping to the next, is analysed without overflowing the stack', () => {
  // Valid for the legacy backend; the nf_tables depth error is turned down so that the table is analysed.
  const n = 20_000;
  const text = ['*filter', ':INPUT ACCEPT [0:0]', ...Array.from({ length: n }, (_, i) => `:c${i} - [0:0]`), '-A INPUT -j c0', ...Array.from({ length: n - 1 }, (_, i) => `-A c${i} -p tcp -m tcp --dport ${i + 1} -j c${i + 1}`), `-A c${n - 1} -j DROP`, 'COMMIT', ''].join('\n');
  const { diagnostics } = check(text, { analyses: true, severities: { 'jump-too-deep': 'warning' } });
  const codes = new Map<string, number>();
  for (const d of diagnostics) codes.set(d.code, (codes.get(d.code) ?? 0) + 1);
  // c1 only sees TCP to port 1, so its jump for port 2 is dead, and so is every chain after c2.
  assert.equal(codes.get('unreachable-rule'), n - 1);
  assert.equal(codes.get('unreachable-chain'), n - 2);
  assert.equal(codes.get('analysis-skipped'), undefined);
});

test('state names are read as iptables reads them: by their beginning, in any case', () => {
  // `--state E` is ESTABLISHED (iptables-save prints it so): the later DROP of established packets is shadowed.
  const text = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m state --state E,n -j ACCEPT\n-A INPUT -m conntrack --ctstate ESTABLISHED -j DROP\nCOMMIT\n';
  const { diagnostics } = check(text, { analyses: true });
  const shadowed = diagnostics.filter((d) => d.code === 'shadowed-rule');
  assert.equal(shadowed.length, 1);
  assert.equal(shadowed[0].range.start.line, 3);
  assert.deepEqual(diagnostics.filter((d) => d.code === 'approximated-rule' || d.severity === 'error'), []);
});

test('the compressed mark is exact for every test and MARK operation of a table, wide masks included', () => {
  // Tests and operations as a table might have them: single bits, a full mask, Neutron's halves.
  const tests = [
    { mask: 0xffffffff, value: 0x1 },
    { mask: 0xffffffff, value: 0x0 },
    { mask: 0xffff0000, value: 0x4000000 },
    { mask: 0xffff, value: 0x0 },
    { mask: 0xffff, value: 0x2 },
    { mask: 0x3, value: 0x1 },
    { mask: 0x10, value: 0x10 },
  ];
  const ops = [
    { mask: 0xffffffff, xor: 0x1 }, // --set-mark 0x1
    { mask: 0xffff0000, xor: 0x4000000 }, // --set-xmark 0x4000000/0xffff0000
    { mask: 0x2, xor: 0x2 }, // --or-mark 0x2
    { mask: 0xfffffffe, xor: 0 }, // --and-mark 0x1
    { mask: 0, xor: 0x3 }, // --xor-mark 0x3
  ];
  const collect = new VocabularyCollector('ipv4');
  for (const t of tests) collect.mark(t.mask, t.value);
  for (const o of ops) collect.markOperation(o.mask, o.xor);
  const v = collect.build();
  assert.equal(v.markOpaque, false);
  assert.ok(v.markBits.length <= 8, `${v.markBits.length} variables`);
  const inSet = (s: readonly number[], c: number): boolean => {
    for (let i = 0; i < s.length; i += 2) if (s[i] <= c && c <= s[i + 1]) return true;
    return false;
  };
  // Marks built from the bits the table names and from bits it does not, at random.
  let seed = 11;
  const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
  // The compressed value of a concrete mark: bit j set when variable j's bits are (any of them).
  const compressMark = (m: number): number => v.markBits.reduce((acc, x, j) => acc | ((m & x.mask) !== 0 ? 1 << j : 0), 0);
  const interesting = [0x1, 0x2, 0x10, 0x4000000, 0x8000000, 0x100, 0x80000000, 0x4];
  for (let n = 0; n < 2000; n++) {
    let m = 0;
    for (const b of interesting) if (rand() < 0.3) m |= b;
    m >>>= 0;
    const c = compressMark(m);
    for (const t of tests) assert.equal(inSet(markSet(v, t.mask, t.value), c), ((m & t.mask) >>> 0) === t.value, `mark ${m.toString(16)} against ${t.value.toString(16)}/${t.mask.toString(16)}`);
    for (const o of ops) {
      const after = (((m & ~o.mask) ^ o.xor) >>> 0);
      assert.equal(markTransform(v, o.mask, o.xor)(c), compressMark(after), `mark ${m.toString(16)} through ${o.xor.toString(16)}/${o.mask.toString(16)}`);
    }
  }
});

test("the connection's mark has variables of its own beside the packet's, exact for connmark tests and CONNMARK operations", () => {
  const tests = [{ mask: 0xffffffff, value: 0x1 }, { mask: 0x10, value: 0x10 }, { mask: 0x3, value: 0x2 }];
  const ops = [{ mask: 0x1, xor: 0x1 }, { mask: 0xffffffff, xor: 0x2 }, { mask: 0, xor: 0x10 }];
  const collect = new VocabularyCollector('ipv4');
  // The same tests on both marks, the operations on the connection's only.
  for (const t of tests) collect.mark(t.mask, t.value);
  for (const t of tests) collect.mark(t.mask, t.value, true);
  for (const o of ops) collect.markOperation(o.mask, o.xor, true);
  const v = collect.build();
  assert.equal(v.markOpaque, false);
  assert.ok(v.markBits.some((x) => x.ct) && v.markBits.some((x) => !x.ct));
  const both = (m: number, ct: number): number => v.markBits.reduce((acc, x, j) => acc | (((x.ct ? ct : m) & x.mask) !== 0 ? 1 << j : 0), 0);
  const inSet = (s: readonly number[], c: number): boolean => {
    for (let i = 0; i < s.length; i += 2) if (s[i] <= c && c <= s[i + 1]) return true;
    return false;
  };
  const values = [0, 0x1, 0x2, 0x3, 0x10, 0x11, 0x12, 0x100, 0x101];
  for (const m of values) for (const ct of values) {
    const c = both(m, ct);
    for (const t of tests) {
      assert.equal(inSet(markSet(v, t.mask, t.value), c), ((m & t.mask) >>> 0) === t.value, `packet mark ${m} against ${t.value}/${t.mask}`);
      assert.equal(inSet(markSet(v, t.mask, t.value, true), c), ((ct & t.mask) >>> 0) === t.value, `connection mark ${ct} against ${t.value}/${t.mask}`);
    }
    // An operation on the connection's mark keeps the packet's.
    for (const o of ops) assert.equal(markTransform(v, o.mask, o.xor, true)(c), both(m, ((ct & ~o.mask) ^ o.xor) >>> 0), `connection mark ${ct} through ${o.xor}/${o.mask}`);
  }
  // Concrete packets: each mark constrains its own variables only.
  const s = concreteSpace(v, { ctmark: [0x1] });
  assert.ok(!isEmpty(intersect(s, concreteSpace(v, { mark: [0x2] }))));
  assert.ok(isEmpty(intersect(s, concreteSpace(v, { ctmark: [0x2] }))));
});

test('an address class counts the addresses it holds, exactly for IPv4 and IPv6 alike', () => {
  const rand = mulberry32(21);
  for (const [family, bits] of [['ipv4', 32n], ['ipv6', 128n]] as const) {
    const max = (1n << bits) - 1n;
    const collect = new VocabularyCollector(family);
    // Random intervals, some at the ends of the address range.
    const ivs: (readonly [bigint, bigint])[] = [[0n, 0n], [max, max]];
    for (let k = 0; k < 40; k++) {
      const a = (BigInt(Math.floor(rand() * 2 ** 32)) << (bits - 32n)) + BigInt(Math.floor(rand() * 1000));
      const b = a + BigInt(Math.floor(rand() * 2 ** 20));
      ivs.push([a, b > max ? max : b]);
    }
    collect.addresses(ivs);
    const v = collect.build();
    const starts = v.addressStarts;
    assert.ok(starts.length > 40, `${family}: ${starts.length} classes`);
    const end = (c: number): bigint => (c + 1 < starts.length ? starts[c + 1] - 1n : max);
    let total = 0;
    for (let lo = 0; lo < starts.length; lo++) {
      for (let hi = lo; hi < starts.length; hi++) {
        const want = Number(end(hi) - starts[lo] + 1n);
        for (const d of [D.src, D.dst]) assert.equal(v.dims.measure!(d, lo, hi), want, `${family} classes ${lo}..${hi}`);
      }
      total += v.dims.measure!(D.src, lo, lo);
    }
    // The classes cover the whole range once (the sum is exact for IPv4 only).
    if (family === 'ipv4') assert.equal(total, 2 ** 32);
    // Other dimensions count values.
    assert.equal(v.dims.measure!(D.dport, 22, 80), 59);
  }
});

test('ipset lookups: each is one bit of the membership dimension, the most used ones tracked, the others approximated', () => {
  // 12 lookups of 12 sets, set k used k + 1 times: the 10 most used are tracked.
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];
  for (let k = 0; k < 12; k++) for (let n = 0; n <= k; n++) lines.push(`-A INPUT -p udp -m udp --dport ${1000 + n} -m set --match-set s${k} src -j ACCEPT`);
  // The same test twice for s11 (the most used, tracked) and for "rare" (used twice, not tracked).
  lines.push('-A FORWARD -m set --match-set s11 src -j DROP', '-A FORWARD -m set --match-set s11 src -j ACCEPT', '-A FORWARD -m set --match-set rare src -j DROP', '-A FORWARD -m set --match-set rare src -j ACCEPT', 'COMMIT', '');
  const text = lines.join('\n');
  const { diagnostics } = check(text, { analyses: true });
  const at = (line: number, code: string): boolean => diagnostics.some((d) => d.range.start.line === line && d.code === code);
  const forward = lines.findIndex((l) => l.startsWith('-A FORWARD'));
  assert.ok(at(forward + 1, 'shadowed-rule'), 'a tracked lookup shadows the same test after it');
  assert.ok(at(forward + 2, 'approximated-rule'), 'an untracked lookup is approximated');
  assert.ok(!at(forward + 3, 'shadowed-rule') && !at(forward + 3, 'unreachable-rule'), 'an untracked lookup hides nothing');
  const approx = diagnostics.find((d) => d.range.start.line === forward + 2 && d.code === 'approximated-rule');
  assert.match(approx?.message ?? '', /more than 10 ipset lookups/);
  // The vocabulary: the most used lookup on the highest bit.
  const collect = new VocabularyCollector('ipv4');
  for (let k = 0; k < 12; k++) for (let n = 0; n <= k; n++) collect.ipset(setLookupKey(`s${k}`, 'src'));
  const v = collect.build();
  assert.equal(v.setLookups.length, 10);
  assert.equal(setLookupBit(v, setLookupKey('s11', 'src')), 9);
  assert.equal(setLookupBit(v, setLookupKey('s2', 'src')), 0);
  assert.equal(setLookupBit(v, setLookupKey('s1', 'src')), -1);
  assert.equal(v.dims.max[D.sets], 1023);
  // Every value of the dimension answers each lookup as its bit says.
  for (let j = 0; j < 10; j++) {
    const yes = new Set<number>();
    for (let i = 0; i < membershipSet(v, j, true).length; i += 2) for (let x = membershipSet(v, j, true)[i]; x <= membershipSet(v, j, true)[i + 1]; x++) yes.add(x);
    const no = new Set<number>();
    for (let i = 0; i < membershipSet(v, j, false).length; i += 2) for (let x = membershipSet(v, j, false)[i]; x <= membershipSet(v, j, false)[i + 1]; x++) no.add(x);
    for (let x = 0; x <= 1023; x++) assert.equal(yes.has(x), ((x >> j) & 1) === 1, `bit ${j}, value ${x}`);
    for (let x = 0; x <= 1023; x++) assert.equal(no.has(x), ((x >> j) & 1) === 0, `bit ${j}, value ${x}`);
  }
  // Concrete packets with known answers fall on those values only.
  const member = concreteSpace(v, { ipsets: new Map([[setLookupKey('s11', 'src'), true], [setLookupKey('s5', 'src'), false]]) });
  const j11 = setLookupBit(v, setLookupKey('s11', 'src'));
  const j5 = setLookupBit(v, setLookupKey('s5', 'src'));
  assert.ok(isEmpty(intersect(member, concreteSpace(v, { ipsets: new Map([[setLookupKey('s11', 'src'), false]]) }))));
  assert.ok(!isEmpty(intersect(member, concreteSpace(v, { ipsets: new Map([[setLookupKey('s2', 'src'), true]]) }))));
  assert.ok(j11 >= 0 && j5 >= 0);
});

test('source MACs: a class per MAC the rules name, one for the others, one for packets without an Ethernet header', () => {
  const rules = ['-m mac --mac-source FA:16:3E:11:22:33', '-m mac ! --mac-source fa:16:3e:11:22:33', '-m mac --mac-source 2:0:0:0:0:1'];
  const text = ['*filter', ':INPUT ACCEPT [0:0]', ...rules.map((r) => `-A INPUT ${r} -j ACCEPT`), 'COMMIT', ''].join('\n');
  const { model } = check(text);
  const input = model.tables[0].chains.get('INPUT')!.rules;
  const collect = new VocabularyCollector('ipv4');
  const readings = input.map((r) => readRule(r, collect));
  const v = collect.build();
  // Spellings of one MAC are one class.
  assert.deepEqual(v.macs, ['02:00:00:00:00:01', 'fa:16:3e:11:22:33']);
  assert.equal(v.dims.max[D.mac], 3);
  const packets: [string, string | null][] = [['fa:16:3e:11:22:33', 'fa:16:3e:11:22:33'], ['the same, in capitals', 'FA:16:3E:11:22:33'], ['02:00:00:00:00:01', '02:00:00:00:00:01'], ['a MAC no rule names', 'aa:bb:cc:dd:ee:ff'], ['no Ethernet header', null]];
  // xt_mac: equal addresses match, the negation matches any other, and a packet without an
  // Ethernet header matches neither.
  const expected = [
    [true, true, false, false, false],
    [false, false, true, true, false],
    [false, false, true, false, false],
  ];
  readings.forEach((reading, k) => {
    const rs = spaceOf(reading, v);
    assert.equal(rs.approximated, false, rules[k]);
    packets.forEach(([what, mac], p) => {
      const matched = !isEmpty(intersect(concreteSpace(v, { mac: [mac] }), rs.space));
      assert.equal(matched, expected[k][p], `${rules[k]} on ${what}`);
    });
  });
});

test('a long blocklist is compared pairwise: a repeated address is redundant, its repeat unreachable', () => {
  // 3,000 rules of one address each: past the pairwise limit in length, but each rule can only
  // overlap the rules for its own address, so the overlap index keeps the comparisons linear.
  const n = 3000;
  const address = (k: number): string => `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
  const rules = Array.from({ length: n }, (_, k) => `-A BLOCK -s ${address(k === 2500 ? 100 : k)}/32 -j DROP`);
  const text = ['*filter', ':INPUT ACCEPT [0:0]', ':BLOCK - [0:0]', '-A INPUT -j BLOCK', ...rules, 'COMMIT', ''].join('\n');
  const first = 4 + 100;
  const repeat = 4 + 2500;
  const { diagnostics } = check(text, { analyses: true });
  const found = diagnostics.filter((d) => d.code !== 'approximated-rule').map((d) => `${d.range.start.line}:${d.code}`);
  assert.deepEqual(found, [`${first}:redundant-rule`, `${repeat}:unreachable-rule`]);
  const redundant = diagnostics.find((d) => d.code === 'redundant-rule')!;
  assert.match(redundant.message, new RegExp(`dropped anyway by line ${repeat + 1}`));
});

test('a long chain whose rules overlap in too many pairs skips the pairwise checks, saying how many', () => {
  // Rules for one address each alternate with rules for one port each: every address rule
  // overlaps every port rule (TCP to that port from that address), so the pairs grow as the
  // square of the chain.
  const rules = Array.from({ length: 1500 }, (_, k) => (k % 2 === 0 ? `-A INPUT -s 10.0.${k >> 8}.${k & 255} -j ACCEPT` : `-A INPUT -p tcp -m tcp --dport ${k} -j DROP`));
  const text = ['*filter', ':INPUT ACCEPT [0:0]', ...rules, 'COMMIT', ''].join('\n');
  const skipped = check(text, { analyses: true }).diagnostics.filter((d) => d.code === 'analysis-skipped');
  assert.equal(skipped.length, 1);
  assert.match(skipped[0].message, /chain INPUT has 1,500 rules, more than the 1,000 the analysis compares pairwise, and they may overlap in up to [\d,]+ pairs, more than the 1,000,000 it compares in one chain/);
  assert.deepEqual(
    check(text, { analyses: { effort: 2 } }).diagnostics.filter((d) => d.code === 'analysis-skipped'),
    [],
  );
});

test('the overlap index and walks at few calls change no finding: random long chains, with and without them', () => {
  const rand = mulberry32(11);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const maybe = (p: number, s: string): string => (rand() < p ? s : '');
  // A small vocabulary, so that rules overlap, repeat and block one another; narrow and wide
  // rules in several fields, so that the index has wide rules to keep and values to meet.
  const match = (): string =>
    [
      maybe(0.5, pick(['-s 10.0.0.1/32', '-s 10.0.0.2/32', '-s 10.0.0.3/32', '-s 10.0.0.0/30', '! -s 10.0.0.1/32', '-s 10.0.0.0/24'])),
      maybe(0.3, pick(['-d 192.168.0.1/32', '-d 192.168.0.0/31'])),
      maybe(0.3, pick(['-i eth0', '-i eth1', '-i eth+', '! -i eth0'])),
      maybe(0.5, pick(['-p tcp -m tcp --dport 22', '-p tcp -m tcp --dport 80', '-p udp -m udp --dport 53', '-p tcp -m multiport --dports 22,80,443', '-p tcp', '-p icmp -m icmp --icmp-type 8'])),
      maybe(0.2, pick(['-m conntrack --ctstate ESTABLISHED', '-m conntrack --ctstate NEW,INVALID'])),
      maybe(0.08, pick(['-m limit --limit 5/sec', '-m time --timestart 10:00 --timestop 11:00'])),
      maybe(0.1, pick(['-m mark --mark 0x1', '-m mark ! --mark 0x1/0x3'])),
    ]
      .filter((x) => x !== '')
      .join(' ');
  const target = (chains: readonly string[]): string =>
    pick(['-j ACCEPT', '-j ACCEPT', '-j DROP', '-j DROP', '-j REJECT', '-j RETURN', '-j LOG', '-j MARK --set-xmark 0x1/0xffffffff', ...chains.map((c) => `-j ${c}`), ...chains.map((c) => `-g ${c}`)]);
  let compared = 0;
  for (let set = 0; set < 24; set++) {
    const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':a - [0:0]', ':b - [0:0]', ':c - [0:0]'];
    const chainRules = (name: string, count: number, callees: readonly string[]): void => {
      for (let k = 0; k < count; k++) lines.push(`-A ${name} ${match()} ${target(callees)}`.replace(/ +/g, ' '));
    };
    chainRules('INPUT', 70 + Math.floor(rand() * 130), ['a', 'b']);
    chainRules('FORWARD', 70 + Math.floor(rand() * 60), ['b']);
    chainRules('a', 65 + Math.floor(rand() * 80), ['b']);
    chainRules('b', 10 + Math.floor(rand() * 100), []);
    // Chain c is called from two places only, in INPUT and FORWARD.
    chainRules('c', 10 + Math.floor(rand() * 100), ['b']);
    for (const from of ['INPUT', 'FORWARD']) {
      const at = lines.findIndex((l) => l.startsWith(`-A ${from} `)) + Math.floor(rand() * 50);
      lines.splice(at, 0, `-A ${from} ${match()} ${pick(['-j c', '-g c'])}`.replace(/ +/g, ' '));
    }
    lines.push('COMMIT', '');
    const text = lines.join('\n');
    const { model, diagnostics } = check(text, { analyses: false });
    assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), [], `set ${set} is valid`);
    // With the default limit every chain is compared in full; with 60, the longer chains are
    // compared only when their overlapping pairs are few enough, which the index decides.
    for (const pairwiseLimit of [undefined, 60]) {
      const key = (d: Diagnostic): string => `${d.range.start.line}:${d.code}:${d.message}:${JSON.stringify(d.related ?? [])}`;
      const indexed = analyse(model, { timeLimitMs: 1e9, pairwiseLimit, reachability: false }).diagnostics.map(key);
      const every = analyse(model, { timeLimitMs: 1e9, pairwiseLimit, reachability: false, overlapIndex: false }).diagnostics.map(key);
      assert.deepEqual(indexed, every, `set ${set}, pairwise limit ${pairwiseLimit ?? 'default'}:\n${text}`);
      compared += indexed.length;
    }
    // Chains called from few places give the same findings walked at each call or summarised.
    const key = (d: Diagnostic): string => `${d.range.start.line}:${d.code}:${d.message}:${JSON.stringify(d.related ?? [])}`;
    const summarised = analyse(model, { timeLimitMs: 1e9, fewCallsLongerThan: Number.MAX_SAFE_INTEGER }).diagnostics.map(key);
    const walked = analyse(model, { timeLimitMs: 1e9, fewCallsLongerThan: 0 }).diagnostics.map(key);
    assert.deepEqual(walked, summarised, `set ${set}, chains called from few places walked at each call:\n${text}`);
  }
  // The comparison must have had findings to compare.
  assert.ok(compared > 1000, `only ${compared} findings compared`);
});
