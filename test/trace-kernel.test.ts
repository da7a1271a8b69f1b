/**
 * Kernel verification of the packet tracer. Random rule sets are loaded (iptables-legacy-restore)
 * into a router namespace `trc-…-b` between two hosts `trc-…-a` (10.91.1.0/24) and `trc-…-c`
 * (10.91.2.0/24), joined by veth pairs. Probe datagrams are sent between these namespaces only —
 * from a to b (input path), from a to c through b (forward path) and from b to a or c (output
 * path) — and for every probe the kernel's per-rule and per-policy packet counters in b
 * (`iptables-save -c`, read before and after) must change exactly as the tracer's `matched` list
 * and applied policies say. Every namespace runs silent UDP sinks on the probe ports, so no ICMP
 * error is ever generated; IPv6 is disabled so that no neighbour discovery touches the counters.
 *
 * The same runs again for IPv6 (ip6tables-legacy-restore, fd91:1::/64 and fd91:2::/64, ICMPv6,
 * no `-f`): the interfaces get no link-local address and skip duplicate address detection, and
 * every neighbour is static, so that no neighbour discovery or MLD message touches the counters.
 *
 * Scenarios: fresh connections (state NEW) with raw/mangle/nat/filter rules (MARK, CONNMARK,
 * NOTRACK, jumps, gotos, RETURN, policies); DNAT in PREROUTING followed by filter rules on the
 * translated address (the path is chosen from the translated destination, as routing would);
 * and real UDP connections: a NEW datagram that b echoes (the reply is traced on b's output path
 * as ESTABLISHED) followed by a second datagram of the same connection (ESTABLISHED once the reply
 * was seen, NEW otherwise).
 *
 * Needs root and `ip netns`; skipped loudly without them, failed under CI=true.
 * TRACE_SEED and TRACE_SETS change the generated rule sets (TRACE_SETS_V6 the IPv6 ones, 12
 * unless given).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check } from '../server/src/core/index.ts';
import type { Model, Rule } from '../server/src/core/model.ts';
import { parsePacket, trace, type TraceOutcome, type TracePath } from '../server/src/core/trace/index.ts';
import { kernelAvailability } from './kernel/netns.ts';
import { addAddress, bringUp, IPV4_TOOLS, IPV6_TOOLS, type FamilyTools } from './kernel/families.ts';
import { ip, LineProc } from './kernel/line-proc.ts';
import { randomTarget } from './random-rules.ts';
import { mulberry32 as rng } from '../bench/random.ts';

const SEED = Number(process.env.TRACE_SEED ?? 1);
const PROBES_PER_SET = 60;
const CONN_SETS = 8;
const CONNS_PER_SET = 16;
const DPORTS = [5000, 5001, 5002, 5003, 5004, 5005];

/** What differs between the IPv4 and the IPv6 runs. */
interface Profile extends FamilyTools {
  /** The number of rule sets with fresh connections (a third with DNAT). */
  readonly sets: number;
  /** A prefix for namespace and interface names, distinct per profile. */
  readonly tag: string;
  /** a's addresses (the first is the one b's neighbour entry names), b's on b0 (two) and b1 (one), c's. */
  readonly a: readonly string[];
  readonly b0: readonly [string, string];
  readonly b1: string;
  readonly c: readonly string[];
  /** The network behind b1 (c's), and the prefix length of both networks. */
  readonly net2: string;
  readonly prefix: number;
  /** Whether an address is on c's network. */
  readonly onC: (addr: string) => boolean;
  /** The values of -s and -d in the generated rules. */
  readonly nets: readonly string[];
  /** iprange ranges. */
  readonly ranges: readonly string[];
  /** A match of echo requests. */
  readonly icmpEcho: string;
  /** The IP and UDP header bytes in front of a probe's payload. */
  readonly headers: number;
  /** Where the sinks of a and c listen. */
  readonly any: string;
  /**
   * Where b's sinks listen: IPv6 picks the source of a reply from a socket bound to `::` by its
   * own rules (the last address added to b0 here), which would make b's echo a new connection.
   */
  readonly bSinks: readonly string[];
}

const IPV4: Profile = {
  ...IPV4_TOOLS,
  sets: Number(process.env.TRACE_SETS ?? 36),
  tag: 'trc',
  a: ['10.91.1.1', '10.91.1.11', '10.91.1.12', '10.91.1.13'],
  b0: ['10.91.1.2', '10.91.1.3'],
  b1: '10.91.2.1',
  c: ['10.91.2.2', '10.91.2.3'],
  net2: '10.91.2.0',
  prefix: 24,
  onC: (a) => a.startsWith('10.91.2.'),
  nets: ['10.91.1.0/24', '10.91.1.1', '10.91.1.11/32', '10.91.1.8/29', '10.91.0.0/16', '10.91.2.2', '10.91.2.0/255.255.255.0', '10.91.1.2', '10.91.1.3', '10.91.2.1', '10.91.1.12,10.91.1.13', '192.0.2.0/24'],
  ranges: ['10.91.1.1-10.91.1.11', '10.91.1.2-10.91.2.2', '10.91.2.3-10.91.2.9'],
  icmpEcho: '-m icmp --icmp-type 8',
  headers: 28,
  any: '0.0.0.0',
  bSinks: ['0.0.0.0'],
};

/** The IPv6 twin: the same shapes in fd91:1::/64 (a and b0) and fd91:2::/64 (b1 and c). */
const IPV6: Profile = {
  ...IPV6_TOOLS,
  sets: Number(process.env.TRACE_SETS_V6 ?? 12),
  tag: 'tr6',
  a: ['fd91:1::1', 'fd91:1::b', 'fd91:1::c', 'fd91:1::d'],
  b0: ['fd91:1::2', 'fd91:1::3'],
  b1: 'fd91:2::1',
  c: ['fd91:2::2', 'fd91:2::3'],
  net2: 'fd91:2::',
  prefix: 64,
  onC: (a) => a.startsWith('fd91:2:'),
  nets: ['fd91:1::/64', 'fd91:1::1', 'fd91:1::b/128', 'fd91:1::8/125', 'fd91::/16', 'fd91:2::2', 'fd91:2::/ffff:ffff:ffff:ffff::', 'fd91:1::2', 'fd91:1::3', 'fd91:2::1', 'fd91:1::c,fd91:1::d', '2001:db8::/32'],
  ranges: ['fd91:1::1-fd91:1::b', 'fd91:1::2-fd91:2::2', 'fd91:2::3-fd91:2::9'],
  icmpEcho: '-m icmp6 --icmpv6-type 128',
  headers: 48,
  any: '::',
  bSinks: ['fd91:1::2', 'fd91:1::3', 'fd91:2::1'],
};

/** The three namespaces of a profile's run. */
function namespacesOf(profile: Profile): { readonly a: string; readonly b: string; readonly c: string } {
  return { a: `${profile.tag}-${process.pid}-a`, b: `${profile.tag}-${process.pid}-b`, c: `${profile.tag}-${process.pid}-c` };
}


function startIn(ns: string, cmd: string[]): LineProc {
  return new LineProc(spawn('ip', ['netns', 'exec', ns, ...cmd], { env: { ...process.env, PATH: `/usr/sbin:/sbin:${process.env.PATH ?? ''}` } }) as ChildProcessWithoutNullStreams);
}

/** Runs a shell command in b's persistent shell and returns its output. */
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

// ------------------------------------------------------------------------------------------
// Counters.
// ------------------------------------------------------------------------------------------

type Counters = Map<string, bigint>;

/** Parses `iptables-save -c` into packet counts keyed `table|chain|policy` and `table|chain|#n` (kernel order). */
function parseCounters(text: string): Counters {
  const out: Counters = new Map();
  let table = '';
  const seen = new Map<string, number>();
  for (const l of text.split('\n')) {
    if (l.startsWith('*')) table = l.slice(1);
    const c = /^:(\S+) (\S+) \[(\d+):\d+\]/.exec(l);
    if (c && c[2] !== '-') out.set(`${table}|${c[1]}|policy`, BigInt(c[3]));
    const r = /^\[(\d+):\d+\] -A (\S+)/.exec(l);
    if (r) {
      const key = `${table}|${r[2]}`;
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      out.set(`${key}|#${n}`, BigInt(r[1]));
    }
  }
  return out;
}

/** Maps kernel rule positions to file lines: `-s a,b` lines become several kernel rules. */
function kernelPositions(model: Model): Map<string, number> {
  const map = new Map<string, number>();
  for (const t of model.tables) {
    for (const ch of t.chains.values()) {
      let k = 0;
      for (const r of ch.rules) {
        for (let i = 0; i < expansionCount(r); i++) map.set(`${t.name}|${ch.name}|#${k++}`, r.line + 1);
      }
    }
  }
  return map;
}

function expansionCount(r: Rule): number {
  const count = (n: string): number => r.info.base.find((o) => o.name === n)?.values[0]?.value.split(',').length ?? 1;
  return count('s') * count('d');
}

/** The kernel's counter changes as `table|chain|line` / `table|chain|policy` → packets. */
function delta(before: Counters, after: Counters, pos: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = Number(v - (before.get(k) ?? 0n));
    if (d === 0) continue;
    const [t, c, what] = k.split('|');
    const key = what === 'policy' ? k : `${t}|${c}|${pos.get(k) ?? `?${what}`}`;
    out.set(key, (out.get(key) ?? 0) + d);
  }
  return out;
}

/** What the tracer says the counters do for one outcome. */
function expected(o: TraceOutcome, into = new Map<string, number>()): Map<string, number> {
  for (const m of o.matched) into.set(`${m.table}|${m.chain}|${m.line}`, (into.get(`${m.table}|${m.chain}|${m.line}`) ?? 0) + 1);
  for (const p of o.policies) into.set(`${p.table}|${p.chain}|policy`, (into.get(`${p.table}|${p.chain}|policy`) ?? 0) + 1);
  return into;
}

const show = (m: Map<string, number>): string => [...m.entries()].sort().map(([k, v]) => `${k}=${v}`).join(' ');

// ------------------------------------------------------------------------------------------
// Random rule sets.
// ------------------------------------------------------------------------------------------

interface Gen {
  readonly text: string;
}

function generate(rand: () => number, opts: { nat: boolean; dnat: boolean; conntrackSafe: boolean }, profile: Profile): Gen {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const chance = (p: number): boolean => rand() < p;
  const nets = profile.nets;
  const ifaces = ['a0', 'b0', 'b1', 'b+', 'lo', 'eth0', '+'];
  const lines: string[] = [];
  const tables: Record<string, readonly string[]> = {
    raw: ['PREROUTING', 'OUTPUT'],
    mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
    nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
    filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  };
  for (const [table, builtins] of Object.entries(tables)) {
    // Without nat rules the table is still written (empty), so that the previous set's nat rules go.
    const empty = table === 'nat' && !opts.nat;
    const users = ['u0', 'u1', 'u2'];
    lines.push(`*${table}`);
    for (const b of builtins) lines.push(`:${b} ${table === 'filter' || table === 'mangle' ? (chance(0.3) ? 'DROP' : 'ACCEPT') : 'ACCEPT'} [0:0]`);
    for (const u of users) lines.push(`:${u} - [0:0]`);
    const ruleFor = (chain: string, level: number): string => {
      const parts: string[] = [`-A ${chain}`];
      if (chance(0.3)) parts.push(`${chance(0.2) ? '! ' : ''}-s ${pick(nets)}`.replace(/^! (-s \S+,)/, '$1'));
      if (chance(0.3)) parts.push(`${chance(0.2) ? '! ' : ''}-d ${pick(nets)}`.replace(/^! (-d \S+,)/, '$1'));
      // iptables refuses `!` on -s/-d as soon as either names several addresses.
      if (parts.some((x) => /^-[sd] \S+,/.test(x))) for (let i = 1; i < parts.length; i++) parts[i] = parts[i].replace(/^! (-[sd] )/, '$1');
      let proto: string | undefined;
      if (chance(0.5)) {
        proto = pick(['udp', 'udp', 'udp', 'tcp', profile.icmp, '17']);
        parts.push(`${chance(0.1) ? '! ' : ''}-p ${proto}`);
        if (parts[parts.length - 1].startsWith('!')) proto = undefined;
      }
      const isBuiltin = builtins.includes(chain);
      const canIn = !isBuiltin || ['PREROUTING', 'INPUT', 'FORWARD'].includes(chain);
      const canOut = !isBuiltin || ['FORWARD', 'OUTPUT', 'POSTROUTING'].includes(chain);
      if (canIn && chance(0.2)) parts.push(`${chance(0.2) ? '! ' : ''}-i ${pick(ifaces)}`);
      if (canOut && chance(0.2)) parts.push(`${chance(0.2) ? '! ' : ''}-o ${pick(ifaces)}`);
      if (chance(0.05)) {
        const f = chance(0.5) ? '-f' : '! -f';
        if (profile.fragments) parts.push(f);
      }
      if (proto === 'udp' || proto === '17') {
        if (chance(0.5)) parts.push(`-m udp ${chance(0.2) ? '! ' : ''}--dport ${pick(['5000', '5001:5003', '5004:', ':5001', '5005'])}`);
        if (chance(0.2)) parts.push(`-m udp --sport ${pick(['20000:40000', '30000:65535', '1:29999'])}`);
        if (chance(0.2)) parts.push(`-m multiport ${chance(0.2) ? '! ' : ''}--${pick(['dports', 'ports'])} ${pick(['5000,5002', '5001:5003,5005', '53,5004'])}`);
      } else if (proto === 'tcp' && chance(0.5)) parts.push('-m tcp --dport 5000');
      else if (proto === profile.icmp && chance(0.5)) parts.push(profile.icmpEcho);
      if (chance(0.15)) parts.push(`-m mark ${chance(0.2) ? '! ' : ''}--mark ${pick(['0x1', '0x1/0x1', '0x2/0x6', '0x0', '0x10/0xf0'])}`);
      if (chance(0.15) && table !== 'raw') parts.push(`-m state ${chance(0.2) ? '! ' : ''}--state ${pick(['NEW', 'ESTABLISHED', 'NEW,ESTABLISHED', 'INVALID', 'UNTRACKED', 'RELATED,ESTABLISHED'])}`);
      if (chance(0.1)) parts.push(`-m conntrack --ctstate ${pick(['NEW', 'ESTABLISHED', 'UNTRACKED', 'INVALID,NEW'])}`);
      if (chance(0.1) && table !== 'raw') parts.push(`-m connmark --mark ${pick(['0x0', '0x5', '0x4/0x4'])}`);
      if (chance(0.08)) parts.push(`-m iprange --${pick(['src', 'dst'])}-range ${pick(profile.ranges)}`);
      if (chance(0.08)) parts.push(`-m length --length ${pick(['0:40', '41:100', '30:35'])}`);
      if (chance(0.05)) parts.push('-m physdev ! --physdev-is-bridged');
      if (chance(0.05)) parts.push(`-m pkttype --pkt-type ${pick(['unicast', 'broadcast'])}`);
      if (chance(0.05)) parts.push('-m comment --comment "probe rule"');
      // Targets.
      const targets: string[] = ['', 'ACCEPT', 'RETURN'];
      if (!(opts.conntrackSafe && table === 'raw') && table !== 'nat') targets.push('DROP');
      targets.push('MARK --set-xmark 0x1/0x1', 'MARK --or-mark 0x2', 'MARK --set-mark 0x10/0xf0', 'NFLOG');
      if (table !== 'raw' && !opts.conntrackSafe) targets.push('CONNMARK --set-mark 0x5', 'CONNMARK --save-mark', 'CONNMARK --restore-mark');
      if (table === 'raw' && !opts.conntrackSafe) targets.push('CT --notrack', 'NOTRACK');
      if (table === 'nat' && (chain === 'POSTROUTING' || chain === 'INPUT')) targets.push(`SNAT --to-source ${profile.b1}`);
      const t = randomTarget(rand, targets, users, level, 0);
      if (t !== '') parts.push(t);
      return parts.join(' ');
    };
    for (const b of builtins) {
      if (opts.dnat && table === 'nat' && b === 'PREROUTING') {
        lines.push(`-A PREROUTING -d ${profile.b0[1]} -p udp -m udp --dport 5000:5002 -j DNAT --to-destination ${profile.c[0]}`);
        lines.push(`-A PREROUTING -d ${profile.c[1]} -p udp -m udp --dport 5003 -j DNAT --to-destination ${profile.b0[0]}`);
      }
      const n = empty ? 0 : Math.floor(rand() * 6);
      for (let k = 0; k < n; k++) lines.push(ruleFor(b, -1));
      if (opts.dnat && table === 'filter' && b === 'FORWARD') lines.push(`-A FORWARD -d ${profile.c[0]} -p udp -m udp --dport ${pick(['5000', '5001', '5000:5001'])} -j ${pick(['ACCEPT', 'DROP'])}`);
    }
    users.forEach((u, level) => {
      const n = empty ? 0 : Math.floor(rand() * 5);
      for (let k = 0; k < n; k++) lines.push(ruleFor(u, level));
    });
    lines.push('COMMIT');
  }
  return { text: lines.join('\n') + '\n' };
}

// ------------------------------------------------------------------------------------------
// Probes.
// ------------------------------------------------------------------------------------------

interface Probe {
  readonly from: 'a' | 'b';
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly payload: string;
}

const isB = (addr: string, profile: Profile): boolean => profile.b0.includes(addr) || profile.b1 === addr;

/** The packet description of a probe, with everything the kernel will see. */
function describeProbe(p: Probe, path: TracePath, state: string, profile: Profile): string {
  const inIf = path === 'output' ? undefined : 'b0';
  const outIf = path === 'input' ? undefined : profile.onC(p.dst) ? 'b1' : 'b0';
  const srcType = isB(p.src, profile) ? 'LOCAL' : 'UNICAST';
  const dstType = isB(p.dst, profile) ? 'LOCAL' : 'UNICAST';
  return [`proto=udp src=${p.src} dst=${p.dst} sport=${p.sport} dport=${p.dport}`, inIf ? `in=${inIf}` : '', outIf ? `out=${outIf}` : '', `state=${state} mark=0 connmark=0 bridged=no pkttype=unicast length=${profile.headers + p.payload.length} src-type=${srcType} dst-type=${dstType}`].filter(Boolean).join(' ');
}

interface Env {
  readonly shell: LineProc;
  readonly agents: Record<'a' | 'b' | 'c', LineProc>;
  readonly profile: Profile;
}

/** Traces a probe arriving at or leaving b, choosing the path from the (translated) destination. */
function traceProbe(model: Model, p: Probe, state: string, profile: Profile): { outcome: TraceOutcome; path: TracePath; packet: string } {
  const family = profile.family;
  if (p.from === 'b') {
    const packet = describeProbe(p, 'output', state, profile);
    const r = trace(model, parsePacket(packet, family), 'output');
    assert.equal(r.decided, true, `undecided trace for ${packet}: ${r.outcomes.map((o) => o.assumptions.join(', ')).join(' | ')}`);
    return { outcome: r.outcomes[0], path: 'output', packet };
  }
  // Routing happens after PREROUTING: trace that hook first to learn the translated destination.
  const pre = trace(model, parsePacket(describeProbe(p, 'input', state, profile), family), 'PREROUTING');
  assert.equal(pre.decided, true, `undecided PREROUTING trace for ${describeProbe(p, 'input', state, profile)}`);
  const dst = pre.outcomes[0].rewrites.dst ?? p.dst;
  const path: TracePath = isB(dst, profile) ? 'input' : 'forward';
  const packet = describeProbe(p, path, state, profile).replace(/ out=\S+/, path === 'forward' ? ` out=${profile.onC(dst) ? 'b1' : 'b0'}` : '');
  const r = trace(model, parsePacket(packet, family), path);
  assert.equal(r.decided, true, `undecided trace for ${packet}: ${r.outcomes.map((o) => o.assumptions.join(', ')).join(' | ')}`);
  return { outcome: r.outcomes[0], path, packet };
}

async function send(env: Env, p: Probe): Promise<void> {
  const agent = env.agents[p.from];
  agent.write(JSON.stringify(p) + '\n');
  const l = await agent.next(5000);
  assert.equal(l, 'sent', `the agent in ${p.from} did not send ${JSON.stringify(p)}`);
}

async function counters(env: Env): Promise<Counters> {
  return parseCounters(await sh(env.shell, `${env.profile.save} -c`));
}

/** Sends one group of packets, then compares the counter changes with the expectation (re-reading once after a pause, in case softirq processing lagged). */
async function compare(env: Env, pos: Map<string, number>, before: Counters, want: Map<string, number>, what: string): Promise<{ ok: boolean; after: Counters; detail: string }> {
  let after = await counters(env);
  let got = delta(before, after, pos);
  if (show(got) !== show(want)) {
    await new Promise((r) => setTimeout(r, 150));
    after = await counters(env);
    got = delta(before, after, pos);
  }
  const ok = show(got) === show(want);
  return { ok, after, detail: ok ? '' : `${what}\n  tracer: ${show(want)}\n  kernel: ${show(got)}` };
}

// ------------------------------------------------------------------------------------------
// The test.
// ------------------------------------------------------------------------------------------

function setupNamespaces(profile: Profile): void {
  const NS = namespacesOf(profile);
  const v6 = profile.family === 'ipv6';
  const tag = profile.tag;
  for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns]);
  for (const ns of Object.values(NS)) ip(undefined, 'ip', 'netns', 'add', ns);
  ip(undefined, 'ip', 'link', 'add', `${tag}-a0`, 'netns', NS.a, 'type', 'veth', 'peer', 'name', `${tag}-b0`, 'netns', NS.b);
  ip(undefined, 'ip', 'link', 'add', `${tag}-b1`, 'netns', NS.b, 'type', 'veth', 'peer', 'name', `${tag}-c0`, 'netns', NS.c);
  ip(NS.a, 'ip', 'link', 'set', `${tag}-a0`, 'name', 'a0');
  ip(NS.b, 'ip', 'link', 'set', `${tag}-b0`, 'name', 'b0');
  ip(NS.b, 'ip', 'link', 'set', `${tag}-b1`, 'name', 'b1');
  ip(NS.c, 'ip', 'link', 'set', `${tag}-c0`, 'name', 'c0');
  for (const [ns, dev] of [[NS.a, 'a0'], [NS.b, 'b0'], [NS.b, 'b1'], [NS.c, 'c0']]) bringUp(ns, dev, profile.family);
  const add = (ns: string, a: string, dev: string): void => addAddress(ns, dev, a, profile.prefix, profile.family);
  for (const a of profile.a) add(NS.a, a, 'a0');
  for (const b of profile.b0) add(NS.b, b, 'b0');
  add(NS.b, profile.b1, 'b1');
  for (const c of profile.c) add(NS.c, c, 'c0');
  ip(NS.a, 'ip', 'route', 'add', `${profile.net2}/${profile.prefix}`, 'via', profile.b0[0]);
  ip(NS.c, 'ip', 'route', 'add', 'default', 'via', profile.b1);
  if (v6) ip(NS.b, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
  else ip(NS.b, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.b0.rp_filter=0', 'net.ipv4.conf.b1.rp_filter=0');
  // Neighbour entries are resolved once up front, so that probes never wait for ARP or neighbour discovery.
  ip(NS.a, 'ip', 'neigh', 'replace', profile.b0[0], 'lladdr', macOf(NS.b, 'b0'), 'dev', 'a0', 'nud', 'permanent');
  ip(NS.a, 'ip', 'neigh', 'replace', profile.b0[1], 'lladdr', macOf(NS.b, 'b0'), 'dev', 'a0', 'nud', 'permanent');
  for (const a of profile.a) ip(NS.b, 'ip', 'neigh', 'replace', a, 'lladdr', macOf(NS.a, 'a0'), 'dev', 'b0', 'nud', 'permanent');
  for (const c of profile.c) ip(NS.b, 'ip', 'neigh', 'replace', c, 'lladdr', macOf(NS.c, 'c0'), 'dev', 'b1', 'nud', 'permanent');
  ip(NS.c, 'ip', 'neigh', 'replace', profile.b1, 'lladdr', macOf(NS.b, 'b1'), 'dev', 'c0', 'nud', 'permanent');
}

function macOf(ns: string, dev: string): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/address`], { encoding: 'utf8' });
  return r.stdout.trim();
}

/**
 * Waits until b sees no packet of its own for 1.5 s: joining multicast groups (the addresses'
 * solicited-node groups, all-routers once forwarding is on) sends MLD reports, from every
 * namespace, for about a second after the setup; they would pass through the rules under test.
 */
async function settle(env: Env): Promise<void> {
  await sh(env.shell, `printf '*raw\\n:PREROUTING ACCEPT [0:0]\\n:OUTPUT ACCEPT [0:0]\\nCOMMIT\\n' | ${env.profile.restore}`);
  const deadline = Date.now() + 15_000;
  let last = '';
  let quietSince = Date.now();
  for (;;) {
    const now = (await sh(env.shell, `${env.profile.save} -c -t raw`)).split('\n').filter((l) => l.startsWith(':')).join(' ');
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= 1500) return;
    if (Date.now() > deadline) throw new Error(`b kept seeing packets of its own after the setup: ${now}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function teardown(profile: Profile): void {
  for (const ns of Object.values(namespacesOf(profile))) spawnSync('ip', ['netns', 'del', ns]);
}

for (const profile of [IPV4, IPV6]) {
  test(`tracer matches the kernel counters probe by probe (${profile.label})`, { timeout: 600_000 }, (t) => verify(profile, t));
}

async function verify(profile: Profile, t: TestContext): Promise<void> {
  const NS = namespacesOf(profile);
  const SETS = profile.sets;
  const A_ADDRS = profile.a;
  const C_ADDRS = profile.c;
  const B_ADDRS = [...profile.b0, profile.b1];
  const avail = kernelAvailability();
  if (!avail.ok) {
    if (process.env.CI === 'true') assert.fail(`kernel verification of the tracer cannot run under CI: ${avail.reason}`);
    process.stderr.write(`\n*** SKIPPING the tracer's kernel verification: ${avail.reason} ***\n\n`);
    t.skip(avail.reason);
    return;
  }
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'trc-'));
  const agentPath = fileURLToPath(new URL('./kernel/trace-agent.mjs', import.meta.url));
  setupNamespaces(profile);
  const ports = JSON.stringify(DPORTS);
  const any = JSON.stringify([profile.any]);
  const env: Env = {
    shell: startIn(NS.b, ['bash']),
    agents: { a: startIn(NS.a, [process.execPath, agentPath, ports, any]), b: startIn(NS.b, [process.execPath, agentPath, ports, JSON.stringify(profile.bSinks)]), c: startIn(NS.c, [process.execPath, agentPath, ports, any]) },
    profile,
  };
  const failures: string[] = [];
  let probes = 0;
  let agreed = 0;
  try {
    for (const a of Object.values(env.agents)) assert.equal(await a.next(10_000), 'ready');
    if (profile.family === 'ipv6') await settle(env);
    const rand = rng(SEED);
    let sport = 20000;
    const load = async (text: string, k: number): Promise<{ model: Model; pos: Map<string, number> }> => {
      const file = join(dir, `set-${k}.rules`);
      writeFileSync(file, text);
      const checked = check(text, { family: profile.family });
      const errs = checked.diagnostics.filter((d) => d.severity === 'error');
      assert.deepEqual(errs.map((d) => `${d.range.start.line + 1}: ${d.message}`), [], `generated rule set ${k} has errors:\n${text}`);
      await sh(env.shell, `${profile.restore} < ${file}`);
      return { model: checked.model, pos: kernelPositions(checked.model) };
    };
    // Scenario 1 and 2: fresh connections, with and without DNAT.
    for (let k = 0; k < SETS; k++) {
      const dnat = k % 3 === 2;
      const gen = generate(rand, { nat: true, dnat, conntrackSafe: false }, profile);
      const { model, pos } = await load(gen.text, k);
      let before = await counters(env);
      for (let n = 0; n < PROBES_PER_SET; n++) {
        const kind = rand();
        let p: Probe;
        const payload = 'p'.repeat(1 + Math.floor(rand() * 40));
        const dport = DPORTS[Math.floor(rand() * DPORTS.length)];
        sport = sport >= 65000 ? 20000 : sport + 1 + Math.floor(rand() * 3);
        if (kind < 0.4) p = { from: 'a', src: A_ADDRS[Math.floor(rand() * A_ADDRS.length)], dst: B_ADDRS[Math.floor(rand() * B_ADDRS.length)], sport, dport, payload };
        else if (kind < 0.75) p = { from: 'a', src: A_ADDRS[Math.floor(rand() * A_ADDRS.length)], dst: C_ADDRS[Math.floor(rand() * C_ADDRS.length)], sport, dport, payload };
        else {
          const toC = rand() < 0.5;
          p = { from: 'b', src: toC ? profile.b1 : rand() < 0.5 ? profile.b0[0] : profile.b0[1], dst: toC ? C_ADDRS[Math.floor(rand() * C_ADDRS.length)] : A_ADDRS[Math.floor(rand() * A_ADDRS.length)], sport, dport, payload };
        }
        const tr = traceProbe(model, p, 'NEW', profile);
        await send(env, p);
        const res = await compare(env, pos, before, expected(tr.outcome), `set ${k} (${dnat ? 'DNAT' : 'plain'}), ${tr.path}: ${tr.packet}`);
        probes++;
        if (res.ok) agreed++;
        else failures.push(res.detail);
        before = res.after;
      }
    }
    // Scenario 3: real UDP connections — NEW, the echoed reply (ESTABLISHED), then ESTABLISHED.
    for (let k = 0; k < CONN_SETS; k++) {
      const gen = generate(rand, { nat: false, dnat: false, conntrackSafe: true }, profile);
      const { model, pos } = await load(gen.text, 1000 + k);
      let before = await counters(env);
      for (let n = 0; n < CONNS_PER_SET; n++) {
        sport = sport >= 65000 ? 20000 : sport + 1;
        const p: Probe = { from: 'a', src: A_ADDRS[Math.floor(rand() * A_ADDRS.length)], dst: profile.b0[0], sport, dport: DPORTS[Math.floor(rand() * DPORTS.length)], payload: 'echo' + 'x'.repeat(Math.floor(rand() * 20)) };
        let state = 'NEW';
        for (let round = 0; round < 2; round++) {
          const tr = traceProbe(model, p, state, profile);
          const want = expected(tr.outcome);
          const delivered = tr.outcome.verdict === 'ACCEPT';
          if (delivered) {
            const reply: Probe = { from: 'b', src: p.dst, dst: p.src, sport: p.dport, dport: p.sport, payload: 'reply' };
            expected(traceProbe(model, reply, 'ESTABLISHED', profile).outcome, want);
          }
          env.agents.b.drain();
          await send(env, p);
          if (delivered) assert.equal(await env.agents.b.next(5000), 'echoed', `b did not echo ${tr.packet}`);
          const res = await compare(env, pos, before, want, `connection set ${k}, round ${round + 1}: ${tr.packet}${delivered ? ' + echoed reply' : ''}`);
          probes++;
          if (res.ok) agreed++;
          else failures.push(res.detail);
          before = res.after;
          // The reply was seen by conntrack, so the next datagram of the connection is ESTABLISHED.
          if (delivered) state = 'ESTABLISHED';
        }
      }
    }
  } finally {
    for (const a of Object.values(env.agents)) a.kill();
    env.shell.kill();
    teardown(profile);
    rmSync(dir, { recursive: true, force: true });
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(`tracer vs kernel (${profile.label}): ${agreed}/${probes} probes agree (${secs} s)\n`);
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${probes} probes disagree`);
  const least = Math.min(2000, SETS * PROBES_PER_SET);
  assert.ok(probes >= least, `only ${probes} probes ran`);
}
