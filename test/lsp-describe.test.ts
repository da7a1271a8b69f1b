/**
 * Fixture tests (with `<|>` cursor markers) for hovers: the plain-English reading of rules, the
 * summary of a chain, and the docs of modules, options and targets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check } from '../server/src/core/index.ts';
import { describeRule, hoverAt } from '../server/src/core/describe.ts';
import { loadMarked } from './lsp-markers.ts';

const { text, marks } = loadMarked('hover.rules');
const { model, diagnostics } = check(text);
const [jump, returnTarget, moduleName, optionName, ruleBlank, logTarget, builtinCommand] = marks;
const sentence = (line: number): string => describeRule(model.ruleByLine.get(line)!);

test('the hover fixture is clean', () => {
  assert.deepEqual(diagnostics.map((d) => `${d.range.start.line}:${d.code}`), []);
});

test('a rule reads as one plain-English sentence', () => {
  assert.equal(sentence(7), 'Returns TCP packets to port 22 from 10.0.0.0/24 to the calling chain.');
  assert.equal(sentence(8), 'Accepts TCP packets to ports 8000:8080 from 192.168.1.0/24.');
  assert.equal(sentence(9), 'Returns packets in state RELATED,ESTABLISHED to the calling chain.');
  assert.equal(sentence(10), 'Drops UDP packets from port 68 not from 10.1.2.3/32 arriving on eth0.');
  assert.equal(sentence(11), 'Applies LOG (--log-prefix ssh: ) to TCP packets.');
  assert.equal(sentence(12), 'Accepts packets arriving on lo.');
  assert.equal(sentence(5), 'Sends packets to chain neutron-openvswi-i5f2a4e0c-8.');
});

test('hover on a chain: policy or rule count, counters and callers, plus the reading of the jump', () => {
  const h = hoverAt(model, jump.line, jump.character)!;
  assert.match(h.markdown, /chain `neutron-openvswi-i5f2a4e0c-8`\*\* in table `filter`/);
  assert.match(h.markdown, /- 5 rules/);
  assert.match(h.markdown, /called by 2 rules in 2 chains: `INPUT`, `FORWARD`/);
  assert.match(h.markdown, /Sends packets to chain neutron-openvswi-i5f2a4e0c-8\./);
  assert.deepEqual(h.span, { line: 6, start: 14, end: 42 });
  const b = hoverAt(model, builtinCommand.line, builtinCommand.character)!;
  assert.match(b.markdown, /policy: \*\*DROP\*\*/);
  assert.match(b.markdown, /counters: 1\.2M packets, 941\.9 MiB \(`\[1234567:987654321\]`\)/);
  assert.match(b.markdown, /- 2 rules/);
});

test('hover on a verdict and on a target extension', () => {
  const r = hoverAt(model, returnTarget.line, returnTarget.character)!;
  assert.match(r.markdown, /verdict `RETURN`/);
  assert.match(r.markdown, /Returns TCP packets to port 22/);
  const l = hoverAt(model, logTarget.line, logTarget.character)!;
  assert.match(l.markdown, /target `LOG`/);
  assert.match(l.markdown, /--log-prefix/);
});

test('hover on a module and on an option gives their docs', () => {
  const m = hoverAt(model, moduleName.line, moduleName.character)!;
  assert.match(m.markdown, /match module `multiport`/);
  assert.match(m.markdown, /Matches up to 15 ports/);
  assert.deepEqual(m.span, { line: 8, start: 60, end: 69 });
  const o = hoverAt(model, optionName.line, optionName.character)!;
  assert.match(o.markdown, /`\[!\] --destination-ports port-list`/);
  assert.match(o.markdown, /option of `multiport`/);
});

test('hover elsewhere on a rule line gives the reading of the rule', () => {
  const h = hoverAt(model, ruleBlank.line, ruleBlank.character)!;
  assert.equal(h.markdown.includes('Returns packets in state RELATED,ESTABLISHED'), true);
  assert.equal(hoverAt(model, 0, 2), undefined, 'no hover on a table line');
});

test('readings of ipset lookups and of the packet and connection marks', () => {
  const text = '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m set ! --match-set blocked src,dst -j DROP\n-A PREROUTING -m connmark --mark 0x4/0xff -j ACCEPT\n-A PREROUTING -m mark ! --mark 0x1 -j ACCEPT\nCOMMIT\n';
  const rules = [...check(text).model.tables[0].chains.get('PREROUTING')!.rules];
  assert.deepEqual(rules.map((r) => describeRule(r)), [
    'Drops packets not in ipset blocked (looked up by src,dst).',
    'Accepts packets whose connection mark is 0x4/0xff.',
    'Accepts packets whose mark is not 0x1.',
  ]);
});

test("a chain's hover names its role when Neutron's agents made it: every chain of the examples and the Neutron vectors", async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { neutronChainRole } = await import('../server/src/core/neutron/chain-roles.ts');
  const root = join(import.meta.dirname, '..');
  const texts = [
    ...readdirSync(join(root, 'examples')).map((f) => readFileSync(join(root, 'examples', f), 'utf8')),
    ...readdirSync(join(root, 'test/neutron/vectors')).filter((f) => f.endsWith('.txt')).map((f) => readFileSync(join(root, 'test/neutron/vectors', f), 'utf8')),
  ];
  const names = new Set<string>();
  for (const t of texts) for (const m of t.matchAll(/^:(\S+) - /gm)) names.add(m[1]);
  assert.ok(names.size >= 30, `${names.size} chain names`);
  for (const n of names) assert.ok(neutronChainRole(n), `no role for ${n}`);
  // Per port: the id as the chain has it (10 characters), and the tap device.
  assert.match(neutronChainRole('neutron-openvswi-i5f2a4e0c-8')!.role, /^security groups: the ingress chain of the port whose id starts with 5f2a4e0c-8 \(traffic to the VM, leaving by tap5f2a4e0c-8…\)/);
  assert.match(neutronChainRole('neutron-linuxbri-s5f2a4e0c-8')!.role, /anti-spoofing chain of the port whose id starts with 5f2a4e0c-8/);
  // The outline's few words.
  assert.equal(neutronChainRole('neutron-openvswi-i5f2a4e0c-8')!.short, 'ingress of port 5f2a4e0c-8…');
  assert.equal(neutronChainRole('neutron-l3-agent-iv6d6e0f9a2')!.short, 'FWaaS IPv6 ingress of group d6e0f9a2…');
  assert.equal(neutronChainRole('neutron-linuxbri-o5f2a4e0c-8')!.agent, 'the Linux bridge agent (iptables security-group driver)');
  assert.match(neutronChainRole('neutron-l3-agent-ov6d6e0f9a2')!.role, /^FWaaS: the IPv6 egress .* firewall group whose id starts with d6e0f9a2$/);
  assert.match(neutronChainRole('neutron-l3-agent-FORWARD')!.role, /builtin chain FORWARD, which jumps here \(`-A FORWARD -j neutron-l3-agent-FORWARD`\)/);
  // Names Neutron does not make.
  for (const n of ['LOGDROP', 'neutron-custom', 'neutron-openvswi-ifoo', 'neutron-openvswi-x5f2a4e0c-8', 'neutronXopenvswi-sg-chain']) assert.equal(neutronChainRole(n), undefined, n);
  // In the hover, below the chain's summary.
  const dump = readFileSync(join(root, 'examples/compute-node-ovs-hybrid.rules'), 'utf8');
  const m = check(dump).model;
  const line = dump.split('\n').findIndex((l) => l.startsWith(':neutron-openvswi-sg-fallback '));
  const hover = hoverAt(m, line, 3);
  assert.match(hover?.markdown ?? '', /\n\nNeutron, made by the Open vSwitch agent \(iptables hybrid security-group driver\): security groups: drops the traffic that no rule of a port's ingress or egress chain allowed\.$/);
});

test('ICMP and ICMPv6 types read with their names and numbers', () => {
  const v6 = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type echo-request -j ACCEPT\n-A INPUT -p icmpv6 -m icmp6 ! --icmpv6-type 1/4 -j DROP\n-A INPUT -p icmpv6 -m icmp6 --icmpv6-type 200 -j DROP\nCOMMIT\n';
  assert.deepEqual([...check(v6, { family: 'ipv6' }).model.ruleByLine.values()].map(describeRule), [
    'Accepts ICMPv6 packets of type echo-request (128).',
    'Drops ICMPv6 packets not of type port-unreachable (1/4).',
    'Drops ICMPv6 packets of type 200.',
  ]);
  const v4 = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p icmp -m icmp --icmp-type any -j ACCEPT\n-A INPUT -p icmp -m icmp --icmp-type 3/1 -j DROP\n-A INPUT -p icmp -m icmp --icmp-type 8/7 -j DROP\nCOMMIT\n';
  assert.deepEqual([...check(v4).model.ruleByLine.values()].map(describeRule), ['Accepts ICMP packets of any type.', 'Drops ICMP packets of type host-unreachable (3/1).', 'Drops ICMP packets of type echo-request (8) code 7.']);
});
