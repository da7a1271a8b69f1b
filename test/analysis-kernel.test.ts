/**
 * Kernel verification of the rule-set analysis. Random filter tables over a small vocabulary of
 * addresses, ports, protocols and interfaces (user chains, jumps, gotos, RETURN, negations,
 * multiport, iprange, conntrack states, LOG, MARK operations and mark matches, CONNMARK operations
 * and connmark matches, ipset lookups, source MACs,
 * unreferenced chains) are loaded with iptables-legacy-restore into a
 * namespace `ana-…-b`. From a second namespace `ana-…-a`, joined by a veth pair, one UDP datagram is
 * sent for every cell of the probe space (every source × destination × source port × destination
 * port of the vocabulary), and one TCP SYN for every source × destination × destination port (from
 * one source port), so the kernel's per-rule counters give the exact set of rules some probe
 * reaches. The analysis, told that exactly these packets enter INPUT (and nothing else enters any
 * chain), must call unreachable exactly the rules no probe hit: no false claim, no miss; so must
 * the analysis with its projection onto later distinctions forced on every chain, with every chain
 * called once summarised, and with every chain called from few places walked at each call. With every set
 * merged into a single piece (the over-approximation used beyond the piece limit) it may miss
 * rules, but must still make no false claim.
 *
 * ipsets: two sets (hash:ip and hash:net) get random contents for each rule set, and the entry
 * tells the analysis how each probe answers each lookup (by source and by destination), as the
 * kernel will; what the analysis then models is only its reading of the rules.
 *
 * Source MACs: every probe leaves a0 with the MAC `PROBE_MAC`; rules test it (also written with
 * one-digit bytes), its negation and a MAC no probe has.
 *
 * Conntrack: the table is flushed before every round of probes, so every probe is the first packet
 * of its 5-tuple (NEW, with a connection mark of 0); nothing replies (the sinks are silent), so no
 * ESTABLISHED state ever appears.
 * Traffic stays between the two namespaces (10.92.1.0/24); IPv6 is disabled in both.
 *
 * The same runs again for IPv6 (ip6tables-legacy-restore, addresses in fd92:1::/64, ICMPv6
 * instead of ICMP, no `-f`, inet6 ipsets). Neighbour discovery and MLD are ICMPv6 and would pass
 * through the rules under test: the interfaces get no link-local address, the addresses skip
 * duplicate address detection and the neighbours are static, so only the probes reach INPUT.
 *
 * Needs root and `ip netns`; skipped loudly without them, failed under CI=true.
 * ANALYSIS_SEED and ANALYSIS_SETS change the generated rule sets (ANALYSIS_SETS_V6 the number of
 * IPv6 sets, 20 unless given).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check } from '../server/src/core/index.ts';
import { analyse, type AnalysisOptions } from '../server/src/core/analysis/analyse.ts';
import { concreteSpace, setLookupKey } from '../server/src/core/analysis/rule-space.ts';
import type { Space } from '../server/src/core/analysis/packet-space.ts';
import type { Model, Rule } from '../server/src/core/model.ts';
import { kernelAvailability } from './kernel/netns.ts';
import { parseIPv4, parseIPv6 } from '../server/src/core/extensions/value-kinds.ts';
import { addAddress, bringUp, IPV4_TOOLS, IPV6_TOOLS, type FamilyTools } from './kernel/families.ts';
import { ENV, ip, LineProc } from './kernel/line-proc.ts';
import { mulberry32 as rng } from '../bench/random.ts';
import { randomTarget } from './random-rules.ts';

const SEED = Number(process.env.ANALYSIS_SEED ?? 7);
const SPORTS = [1000, 30000, 40001];
/** TCP probes (SYNs) come from this port only: each costs a connection attempt. */
const TCP_SPORTS = [1000];
/** The redundant rules per set checked by removing them (each costs a round of probes). */
const REDUNDANT_PER_SET = 2;
const DPORTS = [5000, 5001, 5002, 5003, 5004, 5005];

/** What differs between the IPv4 and the IPv6 runs: the vocabulary, the tools, the set family. */
interface Profile extends FamilyTools {
  /** The number of rule sets. */
  readonly sets: number;
  /** A prefix for namespace and interface names, distinct per profile. */
  readonly tag: string;
  /** The probes' sources (namespace a) and destinations (namespace b). */
  readonly a: readonly string[];
  readonly b: readonly string[];
  /** The prefix length of the shared network. */
  readonly prefix: number;
  /** The networks the hash:net set `ana-n` may hold (hash:ip `ana-a` holds addresses of both sides). */
  readonly nets: readonly string[];
  /** The values of -s and -d in the generated rules. */
  readonly srcs: readonly string[];
  readonly dsts: readonly string[];
  /** The iprange options of the generated rules. */
  readonly ranges: readonly string[];
  readonly setFamily: 'inet' | 'inet6';
  /** The address as a number. */
  readonly toInt: (a: string) => bigint;
  readonly bits: bigint;
}

const IPV4: Profile = {
  ...IPV4_TOOLS,
  sets: Number(process.env.ANALYSIS_SETS ?? 40),
  tag: 'ana',
  a: ['10.92.1.1', '10.92.1.11', '10.92.1.12', '10.92.1.13'],
  b: ['10.92.1.2', '10.92.1.3'],
  prefix: 24,
  nets: ['10.92.1.0/30', '10.92.1.8/29', '10.92.1.12/31', '10.92.1.3/32'],
  srcs: ['10.92.1.1', '10.92.1.8/29', '10.92.1.0/24', '10.92.1.12,10.92.1.13', '10.92.1.11/32', '192.0.2.0/24', '10.92.0.0/255.255.0.0'],
  dsts: ['10.92.1.2', '10.92.1.3', '10.92.1.0/30', '10.92.0.0/16', '10.92.1.3/32'],
  ranges: ['src-range 10.92.1.1-10.92.1.11', 'src-range 10.92.1.12-10.92.1.200', 'dst-range 10.92.1.3-10.92.1.3', 'dst-range 10.92.1.0-10.92.1.2'],
  setFamily: 'inet',
  toInt: (a) => BigInt(parseIPv4(a)!),
  bits: 32n,
};

/** The IPv6 twin: the same shapes (hosts, subnets, a mask, a foreign network) in fd92:1::/64. */
const IPV6: Profile = {
  ...IPV6_TOOLS,
  sets: Number(process.env.ANALYSIS_SETS_V6 ?? 20),
  tag: 'an6',
  a: ['fd92:1::1', 'fd92:1::b', 'fd92:1::c', 'fd92:1::d'],
  b: ['fd92:1::2', 'fd92:1::3'],
  prefix: 64,
  nets: ['fd92:1::/126', 'fd92:1::8/125', 'fd92:1::c/127', 'fd92:1::3/128'],
  srcs: ['fd92:1::1', 'fd92:1::8/125', 'fd92:1::/64', 'fd92:1::c,fd92:1::d', 'fd92:1::b/128', '2001:db8::/32', 'fd92::/ffff::'],
  dsts: ['fd92:1::2', 'fd92:1::3', 'fd92:1::/126', 'fd92::/16', 'fd92:1::3/128'],
  ranges: ['src-range fd92:1::1-fd92:1::b', 'src-range fd92:1::c-fd92:1::c8', 'dst-range fd92:1::3-fd92:1::3', 'dst-range fd92:1::-fd92:1::2'],
  setFamily: 'inet6',
  toInt: (a) => parseIPv6(a)!.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n),
  bits: 128n,
};

/** The source MAC of every probe (a0's address). */
const PROBE_MAC = '02:92:00:00:00:01';

/** What the two ipsets hold for one rule set. */
interface SetContents {
  readonly a: readonly string[];
  readonly n: readonly string[];
}


function startIn(ns: string, cmd: string[]): LineProc {
  return new LineProc(spawn('ip', ['netns', 'exec', ns, ...cmd], { env: ENV }) as ChildProcessWithoutNullStreams);
}

/** Runs a shell command in a persistent shell and returns its output. */
async function sh(shell: LineProc, cmd: string): Promise<string> {
  shell.write(`${cmd} 2>&1\necho __END__$?\n`);
  const out: string[] = [];
  for (;;) {
    const l = await shell.next(20_000);
    if (l === undefined) throw new Error(`timeout running ${cmd}`);
    const m = /^__END__(\d+)$/.exec(l);
    if (m) {
      if (m[1] !== '0') throw new Error(`${cmd} failed (${m[1]}): ${out.join('\n')}`);
      return out.join('\n');
    }
    out.push(l);
  }
}

/** File lines (1-based) whose kernel rules counted a packet: `-s a,b` lines are several kernel rules. */
function hitLines(save: string, model: Model): Set<number> {
  const pos = new Map<string, number>();
  for (const t of model.tables) {
    for (const ch of t.chains.values()) {
      let k = 0;
      for (const r of ch.rules) for (let i = 0; i < expansionCount(r); i++) pos.set(`${t.name}|${ch.name}|#${k++}`, r.line + 1);
    }
  }
  const out = new Set<number>();
  let table = '';
  const seen = new Map<string, number>();
  for (const l of save.split('\n')) {
    if (l.startsWith('*')) table = l.slice(1);
    const r = /^\[(\d+):\d+\] -A (\S+)/.exec(l);
    if (!r) continue;
    const key = `${table}|${r[2]}`;
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    if (BigInt(r[1]) > 0n) out.add(pos.get(`${key}|#${n}`) ?? -1);
  }
  return out;
}

function expansionCount(r: Rule): number {
  const count = (n: string): number => r.info.base.find((o) => o.name === n)?.values[0]?.value.split(',').length ?? 1;
  return count('s') * count('d');
}

/** A random filter table over the probe vocabulary. */
function generate(rand: () => number, profile: Profile): string {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const chance = (p: number): boolean => rand() < p;
  const { srcs, dsts } = profile;
  const users = ['u0', 'u1', 'u2', 'u3'];
  const lines = ['*filter', `:INPUT ${chance(0.4) ? 'DROP' : 'ACCEPT'} [0:0]`, ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...users.map((u) => `:${u} - [0:0]`)];
  const ruleFor = (chain: string, level: number): string => {
    const parts = [`-A ${chain}`];
    if (chance(0.35)) {
      const s = pick(srcs);
      parts.push(`${!s.includes(',') && chance(0.25) ? '! ' : ''}-s ${s}`);
    }
    if (chance(0.3)) parts.push(`${chance(0.25) ? '! ' : ''}-d ${pick(dsts)}`);
    // iptables refuses `!` on -s/-d as soon as either names several addresses.
    if (parts.some((x) => /-s \S+,/.test(x))) for (let i = 1; i < parts.length; i++) parts[i] = parts[i].replace(/^! (-[sd] )/, '$1');
    let udp = false;
    let tcp = false;
    if (chance(0.6)) {
      const p = pick(['udp', 'udp', 'udp', '17', 'tcp', 'tcp', '6', profile.icmp, '! tcp', '! udp']);
      parts.push(p.startsWith('! ') ? `! -p ${p.slice(2)}` : `-p ${p}`);
      udp = p === 'udp' || p === '17';
      tcp = p === 'tcp' || p === '6';
    }
    if (chance(0.2)) parts.push(`${chance(0.3) ? '! ' : ''}-i ${pick(['b0', 'b+', 'eth0', '+', 'a0'])}`);
    if (chance(0.04)) {
      const f = chance(0.5) ? '-f' : '! -f';
      if (profile.fragments) parts.push(f);
    }
    if (udp) {
      if (chance(0.5)) parts.push(`-m udp ${chance(0.25) ? '! ' : ''}--dport ${pick(['5000', '5001:5003', '5004:', ':5001', '5005'])}`);
      if (chance(0.25)) parts.push(`-m udp ${chance(0.2) ? '! ' : ''}--sport ${pick(['1000', '1000:30000', '30001:65535'])}`);
      if (chance(0.25)) parts.push(`-m multiport ${chance(0.25) ? '! ' : ''}--${pick(['dports', 'ports', 'sports'])} ${pick(['5000,5002', '5001:5003,5005', '1000,5004', '30000,40001'])}`);
    }
    if (tcp) {
      // TCP probes are SYNs (flags SYN only) from port 1000.
      const opts: string[] = [];
      if (chance(0.4)) opts.push(`${chance(0.25) ? '! ' : ''}--dport ${pick(['5000', '5001:5003', '5004:', '0x1388'])}`);
      if (chance(0.2)) opts.push(`${chance(0.25) ? '! ' : ''}--sport ${pick(['1000', '1001:65535', '999:1000'])}`);
      if (chance(0.4)) opts.push(pick(['--syn', '! --syn', '--tcp-flags SYN,ACK SYN', '--tcp-flags ALL SYN', '--tcp-flags SYN,RST RST', '! --tcp-flags FIN,SYN FIN,SYN', '--tcp-flags ALL NONE', '--tcp-flags NONE NONE']));
      if (opts.length > 0) parts.push(`-m tcp ${opts.join(' ')}`);
      if (chance(0.15)) parts.push(`-m multiport ${chance(0.25) ? '! ' : ''}--${pick(['dports', 'ports'])} ${pick(['5000,5002', '1000', '5003:5005'])}`);
    }
    if (chance(0.08)) parts.push(`-m state --state ${pick(['NEW', 'ESTABLISHED', 'NEW,RELATED'])}`);
    if (chance(0.06)) parts.push(`-m conntrack ${chance(0.25) ? '! ' : ''}--ctstate ${pick(['NEW', 'ESTABLISHED,RELATED', 'INVALID', 'NEW,UNTRACKED'])}`);
    if (chance(0.1)) parts.push(`-m iprange ${chance(0.25) ? '! ' : ''}--${pick(profile.ranges)}`);
    // Marks set by the MARK targets below, as masked values (each probe enters with mark 0).
    if (chance(0.2)) parts.push(`-m mark ${chance(0.25) ? '! ' : ''}--mark ${pick(['0x1', '0x1/0x1', '0x2/0x2', '0x0/0x3', '0x3/0x3', '0x2', '0x0', '0x4/0x6', '0x6/0x6'])}`);
    if (chance(0.1)) parts.push(`-m connmark ${chance(0.25) ? '! ' : ''}--mark ${pick(['0x1', '0x1/0x1', '0x2/0x2', '0x0/0x3', '0x10/0x10'])}`);
    if (chance(0.12)) parts.push(`-m set ${chance(0.3) ? '! ' : ''}--match-set ${pick(['ana-a src', 'ana-a dst', 'ana-n src', 'ana-n dst'])}`);
    if (chance(0.08)) parts.push(`-m mac ${chance(0.3) ? '! ' : ''}--mac-source ${pick([PROBE_MAC, '2:92:0:0:0:1', '02:92:00:00:00:02'])}`);
    if (chance(0.05)) parts.push('-m comment --comment "probe rule"');
    const targets = ['', 'ACCEPT', 'DROP', 'RETURN', 'LOG --log-prefix "ana "', 'MARK --set-xmark 0x1/0x1', 'MARK --or-mark 0x2', 'MARK --set-mark 0x2', 'MARK --and-mark 0x1', 'MARK --xor-mark 0x3', 'MARK --set-xmark 0x4/0x6', 'MARK --set-mark 0x0/0x2', 'CONNMARK --set-xmark 0x1/0x1', 'CONNMARK --set-mark 0x2/0x2', 'CONNMARK --or-mark 0x10', 'CONNMARK --and-mark 0x1'];
    // Favour jumps, so that user chains are reached often.
    const t = randomTarget(rand, targets, users, level, 0.35);
    if (t !== '') parts.push(t);
    return parts.join(' ');
  };
  const n = 2 + Math.floor(rand() * 7);
  for (let k = 0; k < n; k++) lines.push(ruleFor('INPUT', -1));
  if (chance(0.3)) lines.push(ruleFor('FORWARD', -1));
  users.forEach((u, level) => {
    const m = Math.floor(rand() * 5);
    for (let k = 0; k < m; k++) lines.push(ruleFor(u, level));
  });
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

/** The two namespaces of a profile's run. */
function namespacesOf(profile: Profile): { readonly a: string; readonly b: string } {
  return { a: `${profile.tag}-${process.pid}-a`, b: `${profile.tag}-${process.pid}-b` };
}

function setupNamespaces(profile: Profile): void {
  const NS = namespacesOf(profile);
  const v6 = profile.family === 'ipv6';
  for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns], { env: ENV });
  for (const ns of Object.values(NS)) ip(undefined, 'ip', 'netns', 'add', ns);
  ip(undefined, 'ip', 'link', 'add', `${profile.tag}-a0`, 'netns', NS.a, 'type', 'veth', 'peer', 'name', `${profile.tag}-b0`, 'netns', NS.b);
  ip(NS.a, 'ip', 'link', 'set', `${profile.tag}-a0`, 'name', 'a0');
  ip(NS.b, 'ip', 'link', 'set', `${profile.tag}-b0`, 'name', 'b0');
  ip(NS.a, 'ip', 'link', 'set', 'a0', 'address', PROBE_MAC);
  for (const [ns, dev] of [[NS.a, 'a0'], [NS.b, 'b0']]) bringUp(ns, dev, profile.family);
  for (const a of profile.a) addAddress(NS.a, 'a0', a, profile.prefix, profile.family);
  for (const b of profile.b) addAddress(NS.b, 'b0', b, profile.prefix, profile.family);
  if (!v6) ip(NS.b, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.b0.rp_filter=0');
  // Static neighbours, so that probes never wait for ARP or neighbour discovery.
  const mac = (ns: string, dev: string): string => spawnSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/address`], { encoding: 'utf8', env: ENV }).stdout.trim();
  for (const b of profile.b) ip(NS.a, 'ip', 'neigh', 'replace', b, 'lladdr', mac(NS.b, 'b0'), 'dev', 'a0', 'nud', 'permanent');
  for (const a of profile.a) ip(NS.b, 'ip', 'neigh', 'replace', a, 'lladdr', mac(NS.a, 'a0'), 'dev', 'b0', 'nud', 'permanent');
}

function teardown(profile: Profile): void {
  for (const ns of Object.values(namespacesOf(profile))) spawnSync('ip', ['netns', 'del', ns], { env: ENV });
}

/** Random contents for the two ipsets. */
function contentsOf(rand: () => number, profile: Profile): SetContents {
  return { a: [...profile.a, ...profile.b].filter(() => rand() < 0.4), n: profile.nets.filter(() => rand() < 0.35) };
}

/** Whether a hash:net set holding `nets` holds address `a`. */
function inNets(nets: readonly string[], a: string, profile: Profile): boolean {
  return nets.some((n) => {
    const [base, len] = n.split('/');
    const shift = profile.bits - BigInt(len);
    return profile.toInt(a) >> shift === profile.toInt(base) >> shift;
  });
}

/**
 * The probes, as the packets entering INPUT: the UDP datagrams and the TCP SYNs (flags SYN only),
 * each with the answers of the ipset lookups for its addresses.
 */
function probeEntry(sets: SetContents, profile: Profile): AnalysisOptions['entry'] {
  return (_table, hook, v) => {
    if (hook !== 'INPUT') return [];
    const out: Space[number][] = [];
    for (const src of profile.a) for (const dst of profile.b) {
      const ipsets = new Map([
        [setLookupKey('ana-a', 'src'), sets.a.includes(src)],
        [setLookupKey('ana-a', 'dst'), sets.a.includes(dst)],
        [setLookupKey('ana-n', 'src'), inNets(sets.n, src, profile)],
        [setLookupKey('ana-n', 'dst'), inNets(sets.n, dst, profile)],
      ]);
      const common = { src: [profile.toInt(src)], dst: [profile.toInt(dst)], dport: DPORTS, in: ['b0'], out: [''], state: ['NEW' as const], mark: [0], ctmark: [0], fragment: false, bridged: false, ipsets, mac: [PROBE_MAC] };
      out.push(...concreteSpace(v, { ...common, proto: [17], sport: SPORTS }), ...concreteSpace(v, { ...common, proto: [6], sport: TCP_SPORTS, tcpFlags: [0x02] }));
    }
    return out;
  };
}

for (const profile of [IPV4, IPV6]) {
  test(`analysis flags exactly the rules no probe reaches (kernel counters, ${profile.label})`, { timeout: 300_000 }, (t) => verify(profile, t));
}

async function verify(profile: Profile, t: TestContext): Promise<void> {
  const NS = namespacesOf(profile);
  const SETS = profile.sets;
  const avail = kernelAvailability();
  if (!avail.ok) {
    if (process.env.CI === 'true') assert.fail(`kernel verification of the analysis cannot run under CI: ${avail.reason}`);
    process.stderr.write(`\n*** SKIPPING the analysis's kernel verification: ${avail.reason} ***\n\n`);
    t.skip(avail.reason);
    return;
  }
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'ana-'));
  const agentPath = fileURLToPath(new URL('./kernel/trace-agent.mjs', import.meta.url));
  setupNamespaces(profile);
  const shell = startIn(NS.b, ['bash']);
  const agents = { a: startIn(NS.a, [process.execPath, agentPath, '[]']), b: startIn(NS.b, [process.execPath, agentPath, JSON.stringify(DPORTS), JSON.stringify(profile.b)]) };
  const failures: string[] = [];
  let rulesSeen = 0;
  let unreachable = 0;
  let probes = 0;
  let mergedMisses = 0;
  let redundantChecked = 0;
  let admittedTotal = 0;
  /**
   * Sends every probe and returns those the kernel let in: datagrams the sinks received, and SYNs
   * answered by the closed port's RST (the generated rules never REJECT).
   */
  const probeAll = async (): Promise<Set<string>> => {
    // Fresh connections: marks set on them in an earlier round must not carry over.
    await sh(shell, 'conntrack -F');
    const admitted = new Set<string>();
    for (const src of profile.a) for (const dst of profile.b) for (const sport of SPORTS) for (const dport of DPORTS) {
      agents.a.write(JSON.stringify({ src, dst, sport, dport, payload: 'probe' }) + '\n');
      assert.equal(await agents.a.next(5000), 'sent');
      probes++;
    }
    for (const src of profile.a) for (const dst of profile.b) for (const sport of TCP_SPORTS) for (const dport of DPORTS) {
      agents.a.write(JSON.stringify({ src, dst, sport, dport, proto: 'tcp' }) + '\n');
      const answer = await agents.a.next(5000);
      assert.ok(answer?.startsWith('sent '), `unexpected answer ${answer}`);
      if (answer === 'sent refused') admitted.add(`tcp ${src}:${sport}>${dst}:${dport}`);
      probes++;
    }
    // Let softirq processing and the sinks finish.
    await new Promise((r) => setTimeout(r, 100));
    agents.b.write(JSON.stringify({ op: 'received' }) + '\n');
    const got = await agents.b.next(5000);
    assert.ok(got?.startsWith('received '), `unexpected answer ${got}`);
    for (const x of JSON.parse((got ?? '').slice('received '.length)) as string[]) admitted.add(`udp ${x}`);
    admittedTotal += admitted.size;
    return admitted;
  };
  try {
    for (const a of Object.values(agents)) assert.equal(await a.next(10_000), 'ready');
    await sh(shell, `ipset create ana-a hash:ip family ${profile.setFamily} && ipset create ana-n hash:net family ${profile.setFamily}`);
    const rand = rng(SEED);
    for (let k = 0; k < SETS; k++) {
      const text = generate(rand, profile);
      const file = join(dir, `set-${k}.rules`);
      writeFileSync(file, text);
      const checked = check(text, { analyses: false, family: profile.family });
      const errs = checked.diagnostics.filter((d) => d.severity === 'error');
      assert.deepEqual(errs.map((d) => `${d.range.start.line + 1}: ${d.message}`), [], `generated rule set ${k} has errors:\n${text}`);
      const sets = contentsOf(rand, profile);
      await sh(shell, ['ipset flush ana-a', 'ipset flush ana-n', ...sets.a.map((x) => `ipset add ana-a ${x}`), ...sets.n.map((x) => `ipset add ana-n ${x}`)].join(' && '));
      await sh(shell, `${profile.restore} < ${file}`);
      // Exactly the probes enter INPUT; nothing enters the other chains.
      const entry = probeEntry(sets, profile);
      const shown = `${text}ipsets: ana-a ${sets.a.join(' ') || '(empty)'}; ana-n ${sets.n.join(' ') || '(empty)'}\n`;
      const result = analyse(checked.model, { entry });
      // The same with the projection onto later distinctions on every chain (by default only long
      // chains use it): exact too. And with sets merged as soon as they have two pieces: sound,
      // never a false claim, though it may miss rules.
      const projected = analyse(checked.model, { entry, projectionThreshold: 0 });
      const merged = analyse(checked.model, { entry, pieceLimit: 1 });
      // Chains called once are walked at their call by default; summarising them instead must give the same answers.
      const summarised = analyse(checked.model, { entry, inlineSingleCalls: false });
      // Chains called from few places are walked at each call when long; walking every such chain
      // at its calls must give the same answers.
      const atCalls = analyse(checked.model, { entry, fewCallsLongerThan: 0 });
      const admitted = await probeAll();
      // Read the counters (twice if they still move).
      let save = await sh(shell, `${profile.save} -c -t filter`);
      await new Promise((r) => setTimeout(r, 100));
      const again = await sh(shell, `${profile.save} -c -t filter`);
      if (again !== save) save = again;
      const hit = hitLines(save, checked.model);
      for (const [line, reach] of result.rules) {
        rulesSeen++;
        const flagged = reach.hit.length === 0;
        if (flagged) unreachable++;
        const kernelHit = hit.has(line + 1);
        if (flagged && kernelHit) failures.push(`set ${k}, line ${line + 1}: called unreachable, but the kernel counted packets\n${shown}`);
        if (!flagged && !kernelHit) failures.push(`set ${k}, line ${line + 1}: no probe reaches it, but the analysis missed it\n${shown}`);
        const flaggedProjected = projected.rules.get(line)!.hit.length === 0;
        if (flaggedProjected !== !kernelHit) failures.push(`set ${k}, line ${line + 1}: with projection everywhere, ${flaggedProjected ? 'called unreachable, but the kernel counted packets' : 'missed'}\n${shown}`);
        const flaggedSummarised = summarised.rules.get(line)!.hit.length === 0;
        if (flaggedSummarised !== !kernelHit) failures.push(`set ${k}, line ${line + 1}: with every chain summarised, ${flaggedSummarised ? 'called unreachable, but the kernel counted packets' : 'missed'}\n${shown}`);
        const flaggedAtCalls = atCalls.rules.get(line)!.hit.length === 0;
        if (flaggedAtCalls !== !kernelHit) failures.push(`set ${k}, line ${line + 1}: with chains walked at each call, ${flaggedAtCalls ? 'called unreachable, but the kernel counted packets' : 'missed'}\n${shown}`);
        const flaggedMerged = merged.rules.get(line)!.hit.length === 0;
        if (flaggedMerged && kernelHit) failures.push(`set ${k}, line ${line + 1}: with merged sets, called unreachable, but the kernel counted packets\n${shown}`);
        if (!flaggedMerged && !kernelHit) mergedMisses++;
      }
      // The diagnostics agree with the per-rule facts.
      const diagnostics = analyse(checked.model, { entry }).diagnostics;
      const diagLines = new Set(diagnostics.filter((d) => d.code === 'unreachable-rule' || d.code === 'shadowed-rule').map((d) => d.range.start.line));
      for (const [line, reach] of result.rules) if ((reach.hit.length === 0) !== diagLines.has(line)) failures.push(`set ${k}, line ${line + 1}: diagnostics and facts disagree`);
      // A rule called redundant can be removed without changing any probe's verdict.
      for (const d of diagnostics.filter((x) => x.code === 'redundant-rule').slice(0, REDUNDANT_PER_SET)) {
        const without = text.split('\n');
        without.splice(d.range.start.line, 1);
        const fileWithout = join(dir, `set-${k}-without-${d.range.start.line + 1}.rules`);
        writeFileSync(fileWithout, without.join('\n'));
        await sh(shell, `${profile.restore} < ${fileWithout}`);
        const admittedWithout = await probeAll();
        redundantChecked++;
        const changed = [...new Set([...admitted, ...admittedWithout])].filter((x) => admitted.has(x) !== admittedWithout.has(x));
        if (changed.length > 0) failures.push(`set ${k}, line ${d.range.start.line + 1}: called redundant, but removing it changes the verdict of ${changed.length} probes (such as ${changed[0]})\n${shown}`);
      }
    }
  } finally {
    for (const a of Object.values(agents)) a.kill();
    shell.kill();
    teardown(profile);
    rmSync(dir, { recursive: true, force: true });
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(`analysis vs kernel (${profile.label}): ${SETS} rule sets, ${probes} probes, ${rulesSeen} rules, ${unreachable} unreachable, ${redundantChecked} redundant rules removed without changing a verdict, ${failures.length} disagreements; with every set merged into one piece, ${mergedMisses} unreachable rules missed and no false claim allowed (${secs} s)\n`);
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} disagreements`);
  assert.ok(unreachable > 0 && unreachable < rulesSeen, 'the rule sets should mix reachable and unreachable rules');
  assert.ok(admittedTotal > 0 && admittedTotal < probes, `the rule sets should let some probes in and keep others out (${admittedTotal} of ${probes} let in)`);
}
