/**
 * Unit tests of the packet tracer: the packet syntax, netfilter's table order, jumps, gotos and
 * RETURN, policies, marks, NAT, undecided matches (both branches followed), the CLI, and the
 * classic Neutron compute-node investigation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { check } from '../server/src/core/index.ts';
import { parsePacket, PacketSyntaxError, trace, traceToJson, traceToText, type TraceResult } from '../server/src/core/trace/index.ts';
import { main } from '../server/src/cli/main.ts';

function run(rules: string, packet: string, path: Parameters<typeof trace>[2]): TraceResult {
  const r = check(rules);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  return trace(r.model, parsePacket(packet, r.family), path);
}
const lines = (r: TraceResult): (number | null)[] => r.outcomes[0].matched.map((m) => m.line);

const FILTER = `*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:a - [0:0]
:b - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j a
-A INPUT -p udp -g b
-A INPUT -s 10.0.0.0/255.255.255.0 -j LOG
-A a -s 192.168.0.0/16 -j RETURN
-A a -m mark --mark 0x1/0x1 -j ACCEPT
-A b -p udp -m multiport --dports 53,5000:5010 -j RETURN
-A b -j DROP
COMMIT
`;

test('packet syntax: fields, names, numbers and clear errors', () => {
  const p = parsePacket('proto=6 src=10.0.0.5 dst=10.0.0.9 sport=40000 dport=ssh in=eth0 state=new mark=0x1 flags=SYN', 'ipv4');
  assert.equal(p.proto, 6);
  assert.equal(p.dport, 22);
  assert.equal(p.state, 'NEW');
  assert.equal(p.mark, 1);
  assert.equal(p.tcpFlags, 2);
  assert.throws(() => parsePacket('proto=tcp src=10.0.0.300', 'ipv4'), (e: Error) => e instanceof PacketSyntaxError && /src=10\.0\.0\.300/.test(e.message));
  assert.throws(() => parsePacket('porto=tcp', 'ipv4'), /unknown packet field 'porto'/);
  assert.throws(() => parsePacket('proto=icmp dport=22', 'ipv4'), /sport\/dport need a protocol with ports/);
  assert.throws(() => parsePacket('state=BOGUS', 'ipv4'), /expected one of NEW/);
  assert.throws(() => parsePacket('src=1.2.3.4 src=1.2.3.5', 'ipv4'), /given twice/);
  assert.equal(parsePacket('src=2001:db8::1', 'ipv6').src, 0x20010db8000000000000000000000001n);
});

test('jumps, RETURN to the caller and policies; matched lists every counted rule', () => {
  // Port 22 from 192.168.1.1: jump to a, RETURN, then LOG does not match, INPUT policy DROP.
  const r1 = run(FILTER, 'proto=tcp src=192.168.1.1 dst=10.0.0.1 sport=1000 dport=22 in=eth0 state=NEW mark=0', 'INPUT');
  assert.equal(r1.decided, true);
  assert.equal(r1.verdict, 'DROP');
  assert.equal(r1.outcomes[0].policy, true);
  assert.deepEqual(lines(r1), [8, 11]);
  // With mark 1 from elsewhere: accepted by a's second rule.
  const r2 = run(FILTER, 'proto=tcp src=10.1.1.1 dst=10.0.0.1 sport=1000 dport=22 in=eth0 mark=0x3', 'INPUT');
  assert.equal(r2.verdict, 'ACCEPT');
  assert.deepEqual(r2.outcomes[0].decidedBy, { line: 12, table: 'filter', chain: 'a' });
  assert.equal(r2.outcomes[0].policy, false);
});

test('a RETURN from a chain entered by goto goes back to the chain that called the caller', () => {
  // UDP goes to b (goto); port 53 RETURNs, which ends INPUT itself (bottom of the stack): the policy.
  const r = run(FILTER, 'proto=udp src=10.0.0.7 dst=10.0.0.1 sport=1000 dport=53 in=eth0', 'INPUT');
  assert.deepEqual(lines(r), [9, 13]);
  assert.equal(r.verdict, 'DROP');
  assert.equal(r.outcomes[0].policy, true);
  // The LOG rule after the goto is never reached.
  assert.ok(!r.outcomes[0].steps.some((s) => s.line === 10));
  const r2 = run(FILTER, 'proto=udp src=10.0.0.7 dst=10.0.0.1 sport=1000 dport=54 in=eth0', 'INPUT');
  assert.deepEqual(lines(r2), [9, 14]);
  assert.equal(r2.outcomes[0].policy, false);
});

test('undecided matches follow both branches and never claim a verdict', () => {
  const rules = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m limit --limit 1/s -j ACCEPT
-A INPUT -p tcp -j DROP
COMMIT
`;
  const r = run(rules, 'proto=tcp src=1.1.1.1 dst=2.2.2.2 dport=80 in=eth0', 'INPUT');
  assert.equal(r.decided, false);
  assert.equal(r.verdict, 'UNDECIDED');
  assert.deepEqual(r.outcomes.map((o) => o.verdict).sort(), ['ACCEPT', 'DROP']);
  assert.ok(r.outcomes.every((o) => o.assumptions.some((a) => /limit/.test(a))));
  const j = traceToJson(r);
  assert.equal(j.matched, null);
  assert.match(traceToText(r), /undecided/);
  // An unspecified protocol makes -p tcp undecided too.
  const r2 = run(rules.replace('-A INPUT -m limit --limit 1/s -j ACCEPT\n', ''), 'src=1.1.1.1', 'INPUT');
  assert.equal(r2.verdict, 'UNDECIDED');
});

test('netfilter order, MARK seen by later tables, NOTRACK, DNAT seen by filter, nat only for NEW', () => {
  const rules = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp --dport 9 -j NOTRACK
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -s 10.0.0.0/8 -j MARK --set-xmark 0x10/0xf0
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 203.0.113.1 -p tcp --dport 80 -j DNAT --to-destination 10.9.9.9:8080
-A POSTROUTING -o eth1 -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m state --state UNTRACKED -j ACCEPT
-A FORWARD -d 10.9.9.9 -p tcp --dport 8080 -m mark --mark 0x10/0xf0 -j ACCEPT
COMMIT
`;
  const r = run(rules, 'proto=tcp src=10.1.1.1 dst=203.0.113.1 sport=3333 dport=80 in=eth0 out=eth1 state=NEW mark=0', 'forward');
  assert.equal(r.verdict, 'ACCEPT');
  assert.deepEqual(r.outcomes[0].steps.filter((s) => s.kind === 'table').map((s) => `${s.hook}/${s.table}`), ['PREROUTING/raw', 'PREROUTING/mangle', 'PREROUTING/nat', 'FORWARD/mangle', 'FORWARD/filter', 'POSTROUTING/mangle', 'POSTROUTING/nat']);
  assert.deepEqual(lines(r), [12, 19, 27, 20]);
  assert.equal(r.outcomes[0].rewrites.dst, '10.9.9.9');
  assert.equal(r.outcomes[0].rewrites.dport, '8080');
  assert.match(r.outcomes[0].rewrites.src, /MASQUERADE/);
  // An ESTABLISHED packet skips nat: no DNAT, so the filter rule on 10.9.9.9 does not match.
  const e = run(rules, 'proto=tcp src=10.1.1.1 dst=203.0.113.1 sport=3333 dport=80 in=eth0 out=eth1 state=ESTABLISHED mark=0', 'forward');
  assert.equal(e.verdict, 'DROP');
  assert.ok(e.outcomes[0].steps.some((s) => s.kind === 'skip-table' && s.table === 'nat'));
  // NOTRACK: UNTRACKED in filter, nat skipped.
  const u = run(rules, 'proto=udp src=1.1.1.1 dst=2.2.2.2 sport=1 dport=9 in=eth0 out=eth1 state=NEW mark=0', 'forward');
  assert.equal(u.verdict, 'ACCEPT');
  assert.deepEqual(lines(u), [4, 26]);
});

test('interfaces with +, physdev, icmp type/code, tcp flags, iprange', () => {
  const rules = `*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i eth+ -p icmp -m icmp --icmp-type 8/0 -j ACCEPT
-A INPUT -p tcp -m tcp --syn -m iprange --src-range 10.0.0.1-10.0.0.9 -j ACCEPT
-A FORWARD -m physdev --physdev-out tap+ --physdev-is-bridged -j ACCEPT
COMMIT
`;
  assert.equal(run(rules, 'proto=icmp src=1.1.1.1 in=eth7 icmp-type=8/0', 'INPUT').verdict, 'ACCEPT');
  assert.equal(run(rules, 'proto=icmp src=1.1.1.1 in=wlan0 icmp-type=8', 'INPUT').verdict, 'DROP');
  assert.equal(run(rules, 'proto=icmp src=1.1.1.1 in=eth0 icmp-type=8/1', 'INPUT').verdict, 'DROP');
  assert.equal(run(rules, 'proto=tcp src=10.0.0.5 dport=1 in=lo flags=SYN', 'INPUT').verdict, 'ACCEPT');
  assert.equal(run(rules, 'proto=tcp src=10.0.0.5 dport=1 in=lo flags=SYN,ACK', 'INPUT').verdict, 'DROP');
  assert.equal(run(rules, 'proto=tcp src=10.0.0.10 dport=1 in=lo flags=SYN', 'INPUT').verdict, 'DROP');
  assert.equal(run(rules, 'proto=udp physdev-out=tap1 physdev-is-bridged in=br0 out=br0', 'FORWARD').verdict, 'ACCEPT');
  assert.equal(run(rules, 'proto=udp bridged=no in=br0 out=br0', 'FORWARD').verdict, 'DROP');
  assert.equal(run(rules, 'proto=udp in=br0 out=br0', 'FORWARD').verdict, 'UNDECIDED');
});

test('ICMP and ICMPv6 types are explained with their names', () => {
  const rules = `*filter
:INPUT DROP [0:0]
-A INPUT -s 2001:db8::/32 -p ipv6-icmp -m icmp6 --icmpv6-type router-solicitation -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 1/4 -j ACCEPT
COMMIT
`;
  const r = run(rules, 'proto=icmpv6 src=2001:db8::1 icmp-type=neighbour-solicitation', 'INPUT');
  assert.equal(r.verdict, 'DROP');
  const why = r.outcomes[0].steps.map((s) => s.failed ?? '').join('\n');
  assert.match(why, /ICMPv6 type neighbour-solicitation \(135\) is not router-solicitation \(133\)/);
  const u = run(rules, 'proto=icmpv6 src=2001:db8::1 icmp-type=1/3', 'INPUT');
  assert.match(u.outcomes[0].steps.map((s) => s.failed ?? '').join('\n'), /ICMPv6 code 3 is not 4/);
});

/** The compute-node dump with the VM port's ingress chain narrowed to DHCP replies from the gateway. */
function computeNode(extra = ''): string {
  const text = readFileSync(new URL('../examples/compute-node-ovs-hybrid.rules', import.meta.url), 'utf8');
  const out: string[] = [];
  for (const l of text.split('\n')) {
    if (l.startsWith('-A neutron-openvswi-i5f2a4e0c-8 ')) {
      if (l.includes('RELATED,ESTABLISHED')) {
        out.push(l);
        out.push('-A neutron-openvswi-i5f2a4e0c-8 -s 10.0.0.1/32 -p udp -m udp --sport 67 --dport 68 -j RETURN');
      } else if (l.includes('INVALID') || l.includes('fallback')) out.push(l);
      continue;
    }
    out.push(l);
    if (l === ':neutron-openvswi-sg-fallback - [0:0]' && extra) out.push(extra);
  }
  return out.join('\n');
}

test('Neutron compute node: TFTP data from the gateway is dropped by sg-fallback, then accepted by an inserted rule', () => {
  const pkt = 'proto=udp src=10.0.0.1 dst=10.0.0.5 sport=50123 dport=40000 in=qbr5f2a4e0c-8d out=qbr5f2a4e0c-8d physdev-in=qvb5f2a4e0c-8d physdev-out=tap5f2a4e0c-8d physdev-is-bridged state=NEW';
  const text = computeNode();
  const r = run(text, pkt, 'FORWARD');
  assert.equal(r.decided, true, traceToText(r));
  assert.equal(r.verdict, 'DROP');
  const textLines = text.split('\n');
  const o = r.outcomes[0];
  assert.equal(o.decidedBy?.chain, 'neutron-openvswi-sg-fallback');
  assert.match(textLines[o.decidedBy!.line! - 1], /^-A neutron-openvswi-sg-fallback .*-j DROP$/);
  const chains = o.matched.map((m) => m.chain);
  assert.deepEqual(chains, ['FORWARD', 'neutron-filter-top', 'FORWARD', 'neutron-openvswi-FORWARD', 'neutron-openvswi-sg-chain', 'neutron-openvswi-i5f2a4e0c-8', 'neutron-openvswi-sg-fallback']);
  // The gateway's DHCP reply is let through by the port chain (RETURN), then sg-chain's ACCEPT.
  const dhcp = run(text, pkt.replace('sport=50123 dport=40000', 'sport=67 dport=68'), 'FORWARD');
  assert.equal(dhcp.verdict, 'ACCEPT');
  assert.equal(dhcp.outcomes[0].decidedBy?.chain, 'neutron-openvswi-sg-chain');
  // The fix: insert an ACCEPT for the gateway at the top of FORWARD.
  const fixed = computeNode('-I FORWARD 1 -s 10.0.0.1 -d 10.0.0.5 -p udp -j ACCEPT');
  const f = run(fixed, pkt, 'FORWARD');
  assert.equal(f.verdict, 'ACCEPT');
  assert.match(fixed.split('\n')[f.outcomes[0].decidedBy!.line! - 1], /^-I FORWARD 1 -s 10\.0\.0\.1/);
  assert.equal(f.outcomes[0].matched.length, 1);
});

test('CLI: trace text, JSON and batch JSON Lines in input order; bad packets exit 2', async () => {
  let out = '';
  let err = '';
  const file = new URL('../examples/l3-router.rules', import.meta.url).pathname;
  const code = await main(['trace', file, '--path', 'input', '--packet', 'proto=tcp src=10.0.0.5 dst=10.0.0.9 sport=40000 dport=22 in=eth0 state=NEW mark=0', '--format', 'json'], (s) => (out += s), (s) => (err += s));
  assert.equal(code, 0, err);
  const j = JSON.parse(out);
  assert.ok(['ACCEPT', 'DROP', 'UNDECIDED', 'REJECT'].includes(j.verdict));
  assert.ok('matched' in j && 'steps' in j && 'rewrites' in j && 'decidedBy' in j && 'policy' in j);
  out = '';
  err = '';
  const code2 = await main(['trace', file, '--hook', 'INPUT', '--packet', 'proto=tcp dst=1.2.3'], (s) => (out += s), (s) => (err += s));
  assert.equal(code2, 2);
  assert.match(err, /bad packet: dst=1\.2\.3/);
  out = '';
  err = '';
  const tmp = `/tmp/trace-batch-${process.pid}.txt`;
  const { writeFileSync, rmSync } = await import('node:fs');
  writeFileSync(tmp, 'proto=udp dport=1 state=NEW\nproto=tcp dport=2 state=NEW\nproto=icmp state=NEW\n');
  try {
    const code3 = await main(['trace', file, '--path', 'forward', '--packets', tmp], (s) => (out += s), (s) => (err += s));
    assert.equal(code3, 0, err);
  } finally {
    rmSync(tmp, { force: true });
  }
  const objs = out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(objs.map((o) => o.packet), ['proto=udp dport=1 state=NEW', 'proto=tcp dport=2 state=NEW', 'proto=icmp state=NEW']);
  err = '';
  assert.equal(await main(['trace', file, '--packet', 'x=1'], () => undefined, (s) => (err += s)), 2);
  assert.match(err, /--hook HOOK or --path/);
});

test('a line of 20,000 chains, each jumping to the next, is traced to its end (the legacy backend has no depth limit)', () => {
  const n = 20_000;
  const text = ['*filter', ':INPUT ACCEPT [0:0]', ...Array.from({ length: n }, (_, i) => `:c${i} - [0:0]`), '-A INPUT -j c0', ...Array.from({ length: n - 1 }, (_, i) => `-A c${i} -p tcp -j c${i + 1}`), `-A c${n - 1} -j DROP`, 'COMMIT', ''].join('\n');
  const r = check(text);
  // Only the nf_tables backend refuses it, on the 16th jump.
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code), ['jump-too-deep']);
  const t = trace(r.model, parsePacket('proto=tcp dst=10.0.0.1', r.family), 'INPUT');
  assert.equal(t.outcomes.length, 1);
  assert.equal(t.outcomes[0].verdict, 'DROP');
  assert.equal(t.outcomes[0].matched.at(-1)?.line, 3 + n + n);
});

test('a trace through jumps that loop stops and says so', () => {
  const r = check('*filter\n:INPUT ACCEPT [0:0]\n:foo - [0:0]\n:bar - [0:0]\n-A INPUT -j foo\n-A foo -j bar\n-A bar -j foo\nCOMMIT\n');
  const t = trace(r.model, parsePacket('proto=tcp', r.family), 'INPUT');
  assert.equal(t.outcomes[0].verdict, 'UNDECIDED');
  assert.match(traceToText(t), /its jumps loop/);
});

test('a trace through gotos that loop stops at once, also when undecided rules split it first', () => {
  // Gotos replace the caller's frame, so the stack never grows: the way to the chain does.
  const logs = Array.from({ length: 8 }, (_, k) => `-A INPUT -i eth${k} -j LOG\n`).join('');
  const r = check(`*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n${logs}-A INPUT -j A\n-A A -g B\n-A B -g A\nCOMMIT\n`);
  const t = trace(r.model, parsePacket('proto=tcp', r.family), 'INPUT');
  assert.ok(t.outcomes.length > 1);
  for (const o of t.outcomes) {
    assert.equal(o.verdict, 'UNDECIDED');
    assert.ok(o.steps.length < 100, `${o.steps.length} steps`);
  }
  assert.match(traceToText(t), /its jumps loop/);
});

test('state and address-type names are read by their beginning, in any case, as iptables reads them', () => {
  const r = check('*filter\n:INPUT DROP [0:0]\n-A INPUT -m state --state e -j ACCEPT\n-A INPUT -m addrtype --dst-type loc -j REJECT\nCOMMIT\n');
  assert.equal(trace(r.model, parsePacket('proto=tcp state=ESTABLISHED', r.family), 'INPUT').outcomes[0].verdict, 'ACCEPT');
  assert.equal(trace(r.model, parsePacket('proto=tcp state=NEW dst-type=LOCAL', r.family), 'INPUT').outcomes[0].verdict, 'REJECT');
  assert.equal(trace(r.model, parsePacket('proto=tcp state=NEW dst-type=UNICAST', r.family), 'INPUT').outcomes[0].verdict, 'DROP');
});

test('addresses are read as iptables reads them: -s 010.0.0.1 is 8.0.0.1, iprange 0x0a.0.0.1 is 10.0.0.1', () => {
  const text = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 010.0.0.1 -j DROP\n-A INPUT -m iprange --src-range 0x0a.0.0.5-10.0.0.6 -j DROP\n-A INPUT -s 10.0.0.0/0377.0.0.0 -j REJECT\nCOMMIT\n';
  const octal = run(text, 'proto=udp src=8.0.0.1 dst=10.9.9.9', 'INPUT');
  assert.equal(octal.verdict, 'DROP');
  assert.deepEqual(octal.outcomes[0].decidedBy, { line: 3, table: 'filter', chain: 'INPUT' });
  const ten = run(text, 'proto=udp src=10.0.0.1 dst=10.9.9.9', 'INPUT');
  assert.deepEqual(ten.outcomes[0].decidedBy, { line: 5, table: 'filter', chain: 'INPUT' });
  const range = run(text, 'proto=udp src=10.0.0.6 dst=10.9.9.9', 'INPUT');
  assert.deepEqual(range.outcomes[0].decidedBy, { line: 4, table: 'filter', chain: 'INPUT' });
});

test('POSTROUTING: a forwarded packet keeps its incoming interface, a local one has none', () => {
  // The kernel hands POSTROUTING the device a forwarded packet came in on (ip_output), so `-i`
  // in a chain called from there matches it; trace-kernel.test.ts counted it (seed 3).
  const rules = readFileSync(new URL('./fixtures/analysis-postrouting-in.rules', import.meta.url), 'utf8');
  const marks = (r: TraceResult): (number | null)[] => r.outcomes[0].matched.filter((m) => m.chain === 'from-post' || m.chain === 'from-out').map((m) => m.line);
  // Matched rules are numbered from 1, as in messages.
  const at = (needle: string): number => rules.split('\n').findIndex((l) => l.startsWith(needle)) + 1;
  const postIn = at('-A from-post -i eth0');
  const postNotIn = at('-A from-post ! -i eth0');
  const forwarded = run(rules, 'proto=udp src=10.0.0.1 dst=10.0.1.1 sport=1000 dport=53 in=eth0 out=eth1', 'forward');
  assert.deepEqual(marks(forwarded), [postIn]);
  const other = run(rules, 'proto=udp src=10.0.0.1 dst=10.0.1.1 sport=1000 dport=53 in=eth2 out=eth1', 'forward');
  assert.deepEqual(marks(other), [postNotIn]);
  // A locally generated packet: no incoming interface in OUTPUT nor in POSTROUTING.
  const local = run(rules, 'proto=udp src=10.0.0.1 dst=10.0.1.1 sport=1000 dport=53 out=eth1', 'output');
  assert.deepEqual(marks(local), [postNotIn]);
});
