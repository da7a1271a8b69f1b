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
 * Scenarios: fresh connections (state NEW) with raw/mangle/nat/filter rules (MARK, CONNMARK,
 * NOTRACK, jumps, gotos, RETURN, policies); DNAT in PREROUTING followed by filter rules on the
 * translated address (the path is chosen from the translated destination, as routing would);
 * and real UDP connections: a NEW datagram that b echoes (the reply is traced on b's output path
 * as ESTABLISHED) followed by a second datagram of the same connection (ESTABLISHED once the reply
 * was seen, NEW otherwise).
 *
 * Needs root and `ip netns`; skipped loudly without them, failed under CI=true.
 * TRACE_SEED and TRACE_SETS change the generated rule sets.
 */
import { test } from 'node:test';
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
import { ip, LineProc } from './kernel/line-proc.ts';
import { mulberry32 as rng } from '../bench/random.ts';

const SEED = Number(process.env.TRACE_SEED ?? 1);
const SETS = Number(process.env.TRACE_SETS ?? 36);
const PROBES_PER_SET = 60;
const CONN_SETS = 8;
const CONNS_PER_SET = 16;
const NS = { a: `trc-${process.pid}-a`, b: `trc-${process.pid}-b`, c: `trc-${process.pid}-c` };
const DPORTS = [5000, 5001, 5002, 5003, 5004, 5005];
const A_ADDRS = ['10.91.1.1', '10.91.1.11', '10.91.1.12', '10.91.1.13'];
const B_ADDRS = ['10.91.1.2', '10.91.1.3', '10.91.2.1'];
const C_ADDRS = ['10.91.2.2', '10.91.2.3'];


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

function generate(rand: () => number, opts: { nat: boolean; dnat: boolean; conntrackSafe: boolean }): Gen {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const chance = (p: number): boolean => rand() < p;
  const nets = ['10.91.1.0/24', '10.91.1.1', '10.91.1.11/32', '10.91.1.8/29', '10.91.0.0/16', '10.91.2.2', '10.91.2.0/255.255.255.0', '10.91.1.2', '10.91.1.3', '10.91.2.1', '10.91.1.12,10.91.1.13', '192.0.2.0/24'];
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
        proto = pick(['udp', 'udp', 'udp', 'tcp', 'icmp', '17']);
        parts.push(`${chance(0.1) ? '! ' : ''}-p ${proto}`);
        if (parts[parts.length - 1].startsWith('!')) proto = undefined;
      }
      const isBuiltin = builtins.includes(chain);
      const canIn = !isBuiltin || ['PREROUTING', 'INPUT', 'FORWARD'].includes(chain);
      const canOut = !isBuiltin || ['FORWARD', 'OUTPUT', 'POSTROUTING'].includes(chain);
      if (canIn && chance(0.2)) parts.push(`${chance(0.2) ? '! ' : ''}-i ${pick(ifaces)}`);
      if (canOut && chance(0.2)) parts.push(`${chance(0.2) ? '! ' : ''}-o ${pick(ifaces)}`);
      if (chance(0.05)) parts.push(chance(0.5) ? '-f' : '! -f');
      if (proto === 'udp' || proto === '17') {
        if (chance(0.5)) parts.push(`-m udp ${chance(0.2) ? '! ' : ''}--dport ${pick(['5000', '5001:5003', '5004:', ':5001', '5005'])}`);
        if (chance(0.2)) parts.push(`-m udp --sport ${pick(['20000:40000', '30000:65535', '1:29999'])}`);
        if (chance(0.2)) parts.push(`-m multiport ${chance(0.2) ? '! ' : ''}--${pick(['dports', 'ports'])} ${pick(['5000,5002', '5001:5003,5005', '53,5004'])}`);
      } else if (proto === 'tcp' && chance(0.5)) parts.push('-m tcp --dport 5000');
      else if (proto === 'icmp' && chance(0.5)) parts.push('-m icmp --icmp-type 8');
      if (chance(0.15)) parts.push(`-m mark ${chance(0.2) ? '! ' : ''}--mark ${pick(['0x1', '0x1/0x1', '0x2/0x6', '0x0', '0x10/0xf0'])}`);
      if (chance(0.15) && table !== 'raw') parts.push(`-m state ${chance(0.2) ? '! ' : ''}--state ${pick(['NEW', 'ESTABLISHED', 'NEW,ESTABLISHED', 'INVALID', 'UNTRACKED', 'RELATED,ESTABLISHED'])}`);
      if (chance(0.1)) parts.push(`-m conntrack --ctstate ${pick(['NEW', 'ESTABLISHED', 'UNTRACKED', 'INVALID,NEW'])}`);
      if (chance(0.1) && table !== 'raw') parts.push(`-m connmark --mark ${pick(['0x0', '0x5', '0x4/0x4'])}`);
      if (chance(0.08)) parts.push(`-m iprange --${pick(['src', 'dst'])}-range ${pick(['10.91.1.1-10.91.1.11', '10.91.1.2-10.91.2.2', '10.91.2.3-10.91.2.9'])}`);
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
      if (table === 'nat' && (chain === 'POSTROUTING' || chain === 'INPUT')) targets.push('SNAT --to-source 10.91.2.1');
      for (let k = level + 1; k < users.length; k++) targets.push(`JUMP ${users[k]}`, `GOTO ${users[k]}`);
      const t = pick(targets);
      if (t.startsWith('JUMP ')) parts.push(`-j ${t.slice(5)}`);
      else if (t.startsWith('GOTO ')) parts.push(`-g ${t.slice(5)}`);
      else if (t !== '') parts.push(`-j ${t}`);
      return parts.join(' ');
    };
    for (const b of builtins) {
      if (opts.dnat && table === 'nat' && b === 'PREROUTING') {
        lines.push('-A PREROUTING -d 10.91.1.3 -p udp -m udp --dport 5000:5002 -j DNAT --to-destination 10.91.2.2');
        lines.push('-A PREROUTING -d 10.91.2.3 -p udp -m udp --dport 5003 -j DNAT --to-destination 10.91.1.2');
      }
      const n = empty ? 0 : Math.floor(rand() * 6);
      for (let k = 0; k < n; k++) lines.push(ruleFor(b, -1));
      if (opts.dnat && table === 'filter' && b === 'FORWARD') lines.push(`-A FORWARD -d 10.91.2.2 -p udp -m udp --dport ${pick(['5000', '5001', '5000:5001'])} -j ${pick(['ACCEPT', 'DROP'])}`);
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

const isB = (addr: string): boolean => B_ADDRS.includes(addr);

/** The packet description of a probe, with everything the kernel will see. */
function describeProbe(p: Probe, path: TracePath, state: string): string {
  const inIf = path === 'output' ? undefined : 'b0';
  const outIf = path === 'input' ? undefined : p.dst.startsWith('10.91.2.') ? 'b1' : 'b0';
  const srcType = isB(p.src) ? 'LOCAL' : 'UNICAST';
  const dstType = isB(p.dst) ? 'LOCAL' : 'UNICAST';
  return [`proto=udp src=${p.src} dst=${p.dst} sport=${p.sport} dport=${p.dport}`, inIf ? `in=${inIf}` : '', outIf ? `out=${outIf}` : '', `state=${state} mark=0 connmark=0 bridged=no pkttype=unicast length=${28 + p.payload.length} src-type=${srcType} dst-type=${dstType}`].filter(Boolean).join(' ');
}

interface Env {
  readonly shell: LineProc;
  readonly agents: Record<'a' | 'b' | 'c', LineProc>;
}

/** Traces a probe arriving at or leaving b, choosing the path from the (translated) destination. */
function traceProbe(model: Model, p: Probe, state: string): { outcome: TraceOutcome; path: TracePath; packet: string } {
  if (p.from === 'b') {
    const packet = describeProbe(p, 'output', state);
    const r = trace(model, parsePacket(packet, 'ipv4'), 'output');
    assert.equal(r.decided, true, `undecided trace for ${packet}: ${r.outcomes.map((o) => o.assumptions.join(', ')).join(' | ')}`);
    return { outcome: r.outcomes[0], path: 'output', packet };
  }
  // Routing happens after PREROUTING: trace that hook first to learn the translated destination.
  const pre = trace(model, parsePacket(describeProbe(p, 'input', state), 'ipv4'), 'PREROUTING');
  assert.equal(pre.decided, true, `undecided PREROUTING trace for ${describeProbe(p, 'input', state)}`);
  const dst = pre.outcomes[0].rewrites.dst ?? p.dst;
  const path: TracePath = isB(dst) ? 'input' : 'forward';
  const packet = describeProbe({ ...p, dst: path === 'forward' && !isB(p.dst) ? p.dst : p.dst }, path, state).replace(/ out=\S+/, path === 'forward' ? ` out=${dst.startsWith('10.91.2.') ? 'b1' : 'b0'}` : '');
  const r = trace(model, parsePacket(packet, 'ipv4'), path);
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
  return parseCounters(await sh(env.shell, 'iptables-legacy-save -c'));
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

function setupNamespaces(): void {
  for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns]);
  for (const ns of Object.values(NS)) ip(undefined, 'ip', 'netns', 'add', ns);
  ip(undefined, 'ip', 'link', 'add', 'trc-a0', 'netns', NS.a, 'type', 'veth', 'peer', 'name', 'trc-b0', 'netns', NS.b);
  ip(undefined, 'ip', 'link', 'add', 'trc-b1', 'netns', NS.b, 'type', 'veth', 'peer', 'name', 'trc-c0', 'netns', NS.c);
  ip(NS.a, 'ip', 'link', 'set', 'trc-a0', 'name', 'a0');
  ip(NS.b, 'ip', 'link', 'set', 'trc-b0', 'name', 'b0');
  ip(NS.b, 'ip', 'link', 'set', 'trc-b1', 'name', 'b1');
  ip(NS.c, 'ip', 'link', 'set', 'trc-c0', 'name', 'c0');
  for (const [ns, dev] of [[NS.a, 'a0'], [NS.b, 'b0'], [NS.b, 'b1'], [NS.c, 'c0']]) {
    ip(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    ip(ns, 'ip', 'link', 'set', 'lo', 'up');
    ip(ns, 'ip', 'link', 'set', dev, 'up');
  }
  for (const a of A_ADDRS) ip(NS.a, 'ip', 'addr', 'add', `${a}/24`, 'dev', 'a0');
  ip(NS.b, 'ip', 'addr', 'add', '10.91.1.2/24', 'dev', 'b0');
  ip(NS.b, 'ip', 'addr', 'add', '10.91.1.3/24', 'dev', 'b0');
  ip(NS.b, 'ip', 'addr', 'add', '10.91.2.1/24', 'dev', 'b1');
  for (const c of C_ADDRS) ip(NS.c, 'ip', 'addr', 'add', `${c}/24`, 'dev', 'c0');
  ip(NS.a, 'ip', 'route', 'add', '10.91.2.0/24', 'via', '10.91.1.2');
  ip(NS.c, 'ip', 'route', 'add', 'default', 'via', '10.91.2.1');
  ip(NS.b, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.b0.rp_filter=0', 'net.ipv4.conf.b1.rp_filter=0');
  // Neighbour entries are resolved once up front, so that probes never wait for ARP.
  ip(NS.a, 'ip', 'neigh', 'replace', '10.91.1.2', 'lladdr', macOf(NS.b, 'b0'), 'dev', 'a0', 'nud', 'permanent');
  ip(NS.b, 'ip', 'neigh', 'replace', '10.91.1.1', 'lladdr', macOf(NS.a, 'a0'), 'dev', 'b0', 'nud', 'permanent');
  for (const a of A_ADDRS.slice(1)) ip(NS.b, 'ip', 'neigh', 'replace', a, 'lladdr', macOf(NS.a, 'a0'), 'dev', 'b0', 'nud', 'permanent');
  for (const c of C_ADDRS) ip(NS.b, 'ip', 'neigh', 'replace', c, 'lladdr', macOf(NS.c, 'c0'), 'dev', 'b1', 'nud', 'permanent');
  ip(NS.c, 'ip', 'neigh', 'replace', '10.91.2.1', 'lladdr', macOf(NS.b, 'b1'), 'dev', 'c0', 'nud', 'permanent');
}

function macOf(ns: string, dev: string): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/address`], { encoding: 'utf8' });
  return r.stdout.trim();
}

function teardown(): void {
  for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns]);
}

test('tracer matches the kernel counters probe by probe', { timeout: 600_000 }, async (t) => {
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
  setupNamespaces();
  const ports = JSON.stringify(DPORTS);
  const env: Env = {
    shell: startIn(NS.b, ['bash']),
    agents: { a: startIn(NS.a, [process.execPath, agentPath, ports]), b: startIn(NS.b, [process.execPath, agentPath, ports]), c: startIn(NS.c, [process.execPath, agentPath, ports]) },
  };
  const failures: string[] = [];
  let probes = 0;
  let agreed = 0;
  try {
    for (const a of Object.values(env.agents)) assert.equal(await a.next(10_000), 'ready');
    const rand = rng(SEED);
    let sport = 20000;
    const load = async (text: string, k: number): Promise<{ model: Model; pos: Map<string, number> }> => {
      const file = join(dir, `set-${k}.rules`);
      writeFileSync(file, text);
      const checked = check(text);
      const errs = checked.diagnostics.filter((d) => d.severity === 'error');
      assert.deepEqual(errs.map((d) => `${d.range.start.line + 1}: ${d.message}`), [], `generated rule set ${k} has errors:\n${text}`);
      await sh(env.shell, `iptables-legacy-restore < ${file}`);
      return { model: checked.model, pos: kernelPositions(checked.model) };
    };
    // Scenario 1 and 2: fresh connections, with and without DNAT.
    for (let k = 0; k < SETS; k++) {
      const dnat = k % 3 === 2;
      const gen = generate(rand, { nat: true, dnat, conntrackSafe: false });
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
          p = { from: 'b', src: toC ? '10.91.2.1' : rand() < 0.5 ? '10.91.1.2' : '10.91.1.3', dst: toC ? C_ADDRS[Math.floor(rand() * C_ADDRS.length)] : A_ADDRS[Math.floor(rand() * A_ADDRS.length)], sport, dport, payload };
        }
        const tr = traceProbe(model, p, 'NEW');
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
      const gen = generate(rand, { nat: false, dnat: false, conntrackSafe: true });
      const { model, pos } = await load(gen.text, 1000 + k);
      let before = await counters(env);
      for (let n = 0; n < CONNS_PER_SET; n++) {
        sport = sport >= 65000 ? 20000 : sport + 1;
        const p: Probe = { from: 'a', src: A_ADDRS[Math.floor(rand() * A_ADDRS.length)], dst: '10.91.1.2', sport, dport: DPORTS[Math.floor(rand() * DPORTS.length)], payload: 'echo' + 'x'.repeat(Math.floor(rand() * 20)) };
        let state = 'NEW';
        for (let round = 0; round < 2; round++) {
          const tr = traceProbe(model, p, state);
          const want = expected(tr.outcome);
          const delivered = tr.outcome.verdict === 'ACCEPT';
          if (delivered) {
            const reply: Probe = { from: 'b', src: p.dst, dst: p.src, sport: p.dport, dport: p.sport, payload: 'reply' };
            expected(traceProbe(model, reply, 'ESTABLISHED').outcome, want);
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
    teardown();
    rmSync(dir, { recursive: true, force: true });
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(`tracer vs kernel: ${agreed}/${probes} probes agree (${secs} s)\n`);
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${probes} probes disagree`);
  assert.ok(probes >= 2000, `only ${probes} probes ran`);
});
