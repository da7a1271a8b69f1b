/**
 * The rule-set analysis against the packet tracer, without the kernel: random mangle and filter
 * tables (user chains, jumps, gotos, RETURN, negations, ports, states, marks and MARK, connection
 * marks and CONNMARK, ipset lookups and SET, source MACs, LOG, unmodelled matches) and random packets entering
 * INPUT. The tracer (itself checked against the kernel's counters in trace-kernel.test.ts) follows
 * each packet, branching where a rule depends on what the packet does not say (an ipset's answer,
 * an unmodelled match); no rule it matches on a branch, up to the branch's first such assumption,
 * may be one the analysis calls unreachable. This checks soundness over more features than the kernel test's vocabulary, at a
 * few milliseconds per rule set. A second test applies the quick fix of every unreachable, shadowed
 * and redundant rule found (deleting it) and traces the packets again: no fully decided verdict may
 * change. A third test does the same over every hook and table (raw, mangle, nat, filter; the
 * input, forward and output paths), where what a packet carries differs by hook (interfaces).
 * ANALYSIS_TRACE_SEED and ANALYSIS_TRACE_SETS pick other sets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { check } from '../server/src/core/index.ts';
import { analyse } from '../server/src/core/analysis/analyse.ts';
import { trace } from '../server/src/core/trace/trace.ts';
import { parsePacket } from '../server/src/core/trace/packet.ts';
import { mulberry32 as rng } from '../bench/random.ts';
import { randomTarget, tableTargets } from './random-rules.ts';
import { fixesFor } from '../server/src/core/code-actions.ts';
import { applyEdits } from '../server/src/core/format.ts';

const SEED = Number(process.env.ANALYSIS_TRACE_SEED ?? 3);
const SETS = Number(process.env.ANALYSIS_TRACE_SETS ?? 1000);
const PACKETS = 40;

/** A random mangle and filter table for INPUT. */
function generate(rand: () => number): string {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const chance = (p: number): boolean => rand() < p;
  const users = ['u0', 'u1', 'u2'];
  const rule = (chain: string, level: number, table: 'mangle' | 'filter'): string => {
    const parts = [`-A ${chain}`];
    if (chance(0.3)) parts.push(`${chance(0.25) ? '! ' : ''}-s ${pick(['10.0.0.1', '10.0.0.0/30', '10.0.1.0/24', '192.0.2.0/24'])}`);
    if (chance(0.2)) parts.push(`${chance(0.25) ? '! ' : ''}-d ${pick(['10.0.0.9', '10.0.0.8/29'])}`);
    if (chance(0.2)) parts.push(`${chance(0.3) ? '! ' : ''}-i ${pick(['eth0', 'eth+', 'lo'])}`);
    const proto = chance(0.5) ? pick(['tcp', 'udp', 'icmp']) : undefined;
    if (proto) parts.push(`-p ${proto}`);
    if (proto === 'tcp' && chance(0.5)) parts.push(`-m tcp ${pick(['--dport 22', '! --dport 22:80', '--syn', '--tcp-flags SYN,ACK ACK', '--sport 1024:'])}`);
    if (proto === 'udp' && chance(0.5)) parts.push(`-m udp ${pick(['--dport 53', '! --dport 53', '--sport 1000:2000'])}`);
    if (proto === 'icmp' && chance(0.4)) parts.push(`-m icmp --icmp-type ${pick(['8', 'echo-reply', '3/1'])}`);
    if (chance(0.15)) {
      const [module, option] = pick([['state', '--state'], ['conntrack', '--ctstate']]);
      parts.push(`-m ${module} ${chance(0.25) ? '! ' : ''}${option} ${pick(['NEW', 'ESTABLISHED,RELATED', 'INVALID', 'UNTRACKED', 'NEW,INVALID'])}`);
    }
    if (chance(0.15)) parts.push(`-m mark ${chance(0.25) ? '! ' : ''}--mark ${pick(['0x1', '0x1/0x1', '0x2/0x3', '0x0/0xff'])}`);
    if (chance(0.15)) parts.push(`-m connmark ${chance(0.25) ? '! ' : ''}--mark ${pick(['0x1', '0x4/0x4', '0x0/0xf'])}`);
    if (chance(0.15)) parts.push(`-m set ${chance(0.3) ? '! ' : ''}--match-set ${pick(['s1 src', 's1 dst', 's2 src', 's2 src,dst'])}`);
    if (chance(0.1)) parts.push(`-m mac ${chance(0.3) ? '! ' : ''}--mac-source ${pick(['fa:16:3e:00:00:01', 'FA:16:3E:0:0:1', 'fa:16:3e:00:00:02'])}`);
    if (chance(0.05)) parts.push(pick(['-m limit --limit 5/sec', '-m recent --name x --rcheck', '-m string --string x --algo bm']));
    const targets = ['', 'ACCEPT', 'DROP', 'RETURN', 'LOG', 'MARK --set-xmark 0x1/0x1', 'MARK --set-mark 0x2', 'CONNMARK --set-xmark 0x4/0x4', 'CONNMARK --save-mark --mask 0x3', 'CONNMARK --restore-mark', 'SET --add-set s1 src', 'SET --del-set s2 src'];
    // No ACCEPT in mangle, so that most packets go on to the filter table.
    const own = table === 'mangle' ? targets.filter((t) => t !== 'ACCEPT') : targets;
    const t = randomTarget(rand, own, users, level, 0.3);
    if (t !== '') parts.push(t);
    return parts.join(' ');
  };
  const lines: string[] = [];
  for (const table of ['mangle', 'filter'] as const) {
    const builtins = table === 'mangle' ? ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'] : ['INPUT', 'FORWARD', 'OUTPUT'];
    lines.push(`*${table}`, ...builtins.map((b) => `:${b} ${table === 'filter' && chance(0.4) ? 'DROP' : 'ACCEPT'} [0:0]`), ...users.map((u) => `:${u} - [0:0]`));
    const n = 2 + Math.floor(rand() * (table === 'filter' ? 8 : 4));
    for (let k = 0; k < n; k++) lines.push(rule('INPUT', -1, table));
    users.forEach((u, level) => {
      const m = Math.floor(rand() * 4);
      for (let k = 0; k < m; k++) lines.push(rule(u, level, table));
    });
    lines.push('COMMIT');
  }
  return lines.join('\n') + '\n';
}

/**
 * A random packet entering INPUT, in the tracer's packet syntax. Its state and both marks are
 * always given: the tracer does not carry what an assumption about them implies (whether there is
 * a connection, the bits a CONNMARK copy moved), so without them most paths would end early.
 */
function randomPacket(rand: () => number): string {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const chance = (p: number): boolean => rand() < p;
  const proto = pick(['tcp', 'udp', 'icmp']);
  const fields = [`proto=${proto}`, `src=${pick(['10.0.0.1', '10.0.0.2', '10.0.1.7', '192.0.2.5', '198.51.100.1'])}`, `dst=${pick(['10.0.0.9', '10.0.0.12', '10.0.0.200'])}`, `in=${pick(['eth0', 'eth1', 'lo'])}`];
  if (proto !== 'icmp') fields.push(`sport=${pick([53, 1000, 1500, 40000])}`, `dport=${pick([22, 53, 80, 443])}`);
  else fields.push(`icmp-type=${pick(['8', '0', '3/1'])}`);
  if (proto === 'tcp') fields.push(`flags=${pick(['SYN', 'ACK', 'SYN,ACK', 'FIN,ACK'])}`);
  fields.push(`state=${pick(['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'])}`);
  fields.push(`mark=${pick(['0x0', '0x1', '0x2', '0x3'])}`);
  fields.push(`connmark=${pick(['0x0', '0x1', '0x4', '0x5'])}`);
  if (chance(0.9)) fields.push(`mac=${pick(['fa:16:3e:00:00:01', 'fa:16:3e:00:00:02', '02:00:00:00:00:09'])}`);
  return fields.join(' ');
}

/** What a comparison of the analysis with the tracer found. */
interface Comparison {
  rules: number;
  unreachable: number;
  /** Rules matched on decided paths (with repeats), and the tables and hooks they were in. */
  reached: number;
  readonly reachedIn: Set<string>;
  readonly failures: string[];
}

/**
 * Generates `sets` rule sets, analyses each and traces PACKETS packets through it: no rule the
 * tracer matches on a decided path may be one the analysis calls unreachable.
 */
function againstTracer(rand: () => number, sets: number, generateSet: (rand: () => number) => string, packetOf: (rand: () => number) => { packet: string; path: Parameters<typeof trace>[2] }): Comparison {
  const out: Comparison = { rules: 0, unreachable: 0, reached: 0, reachedIn: new Set(), failures: [] };
  for (let k = 0; k < sets; k++) {
    const text = generateSet(rand);
    const checked = check(text, { analyses: false });
    const errors = checked.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(errors.map((d) => `${d.range.start.line + 1}: ${d.message}`), [], `generated rule set ${k} has errors:\n${text}`);
    const result = analyse(checked.model);
    const dead = new Set<number>();
    for (const [line, reach] of result.rules) {
      out.rules++;
      if (reach.hit.length === 0) dead.add(line);
    }
    out.unreachable += dead.size;
    const lines = text.split('\n');
    for (let p = 0; p < PACKETS; p++) {
      const { packet, path } = packetOf(rand);
      const t = trace(checked.model, parsePacket(packet, 'ipv4'), path);
      for (const o of t.outcomes) {
        // A branch is a real path of this packet up to its first undecided rule (the tracer does
        // not carry what an assumption implies to later rules); a rule that matches on it, or
        // that the branch assumes matches at that first undecided step, can be matched.
        for (const s of o.steps) {
          if (s.kind !== 'rule' || s.line === undefined || s.line === null) continue;
          const matches = s.matched === true || (s.matched === 'undecided' && s.assumed === true);
          if (matches) {
            out.reached++;
            out.reachedIn.add(`${s.table}/${s.hook}`);
            // Trace steps count lines from 1, the analysis from 0.
            if (dead.has(s.line - 1)) {
              out.failures.push(`set ${k}, line ${s.line} (${lines[s.line - 1]}): called unreachable, but the tracer matches it for ${packet} (${path})\n${text}`);
              // The first case on its own, for a closer look (\`ANALYSIS_TRACE_DUMP=FILE\`).
              if (out.failures.length === 1 && process.env.ANALYSIS_TRACE_DUMP) writeFileSync(process.env.ANALYSIS_TRACE_DUMP, `${text}# ${packet} (${path})\n`);
            }
          }
          if (s.matched === 'undecided') break;
        }
      }
    }
  }
  return out;
}

test('no rule the tracer reaches is one the analysis calls unreachable', () => {
  const r = againstTracer(rng(SEED), SETS, generate, (rand) => ({ packet: randomPacket(rand), path: 'INPUT' }));
  process.stderr.write(`analysis vs tracer: ${SETS} rule sets, ${SETS * PACKETS} packets, ${r.rules} rules, ${r.unreachable} unreachable, ${r.reached} rules matched on decided paths, ${r.failures.length} disagreements\n`);
  assert.deepEqual(r.failures.slice(0, 3), [], `${r.failures.length} disagreements`);
  assert.ok(r.unreachable > 0 && r.unreachable < r.rules, 'the rule sets should mix reachable and unreachable rules');
});

test("removing a rule the analysis calls unreachable, shadowed or redundant (its quick fix) changes no traced packet's verdict", () => {
  const rand = rng(SEED + 1000);
  let fixes = 0;
  let compared = 0;
  const failures: string[] = [];
  for (let k = 0; k < SETS / 4; k++) {
    const text = generate(rand);
    const lines = text.split('\n');
    const checked = check(text, { analyses: true });
    const packets = Array.from({ length: PACKETS }, () => randomPacket(rand));
    const before = packets.map((p) => trace(checked.model, parsePacket(p, 'ipv4'), 'INPUT'));
    for (const d of checked.diagnostics) {
      if (d.code !== 'unreachable-rule' && d.code !== 'shadowed-rule' && d.code !== 'redundant-rule') continue;
      for (const f of fixesFor(checked, d, lines)) {
        fixes++;
        const fixed = applyEdits(text, f.edits);
        const after = check(fixed);
        assert.deepEqual(after.diagnostics.filter((x) => x.severity === 'error').map((x) => x.message), [], `set ${k}: ${f.title} (line ${d.range.start.line + 1}) left errors`);
        packets.forEach((p, i) => {
          const t = trace(after.model, parsePacket(p, 'ipv4'), 'INPUT');
          // Only fully decided traces say what the kernel does with the packet.
          if (!t.decided || !before[i].decided) return;
          compared++;
          if (t.verdict !== before[i].verdict) failures.push(`set ${k}: ${f.title} on line ${d.range.start.line + 1} turns ${before[i].verdict} into ${t.verdict} for ${p}\n${text}`);
        });
      }
    }
  }
  process.stderr.write(`quick fixes vs tracer: ${SETS / 4} rule sets, ${fixes} rules removed, ${compared} decided verdicts compared, ${failures.length} changed\n`);
  assert.deepEqual(failures.slice(0, 3), []);
  assert.ok(fixes > 100 && compared > 1000, 'enough fixes and decided packets to mean something');
});

/**
 * Random raw, mangle, nat and filter tables with rules in every builtin chain and user chains
 * called from several hooks: what each hook's packets carry (no incoming interface in OUTPUT, none
 * outgoing before routing, a forwarded packet's incoming interface still in POSTROUTING) must be
 * the same for the analysis and for the tracer. The nat table sees the first packet of a
 * connection only, so most packets are NEW.
 */
function generateAllHooks(rand: () => number): string {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const chance = (p: number): boolean => rand() < p;
  const users = ['u0', 'u1', 'u2'];
  const hooks: Record<string, readonly string[]> = {
    raw: ['PREROUTING', 'OUTPUT'],
    mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
    nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
    filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  };
  const rule = (table: string, chain: string, level: number): string => {
    const parts = [`-A ${chain}`];
    const builtin = !users.includes(chain);
    if (chance(0.3)) parts.push(`${chance(0.25) ? '! ' : ''}-s ${pick(['10.0.0.1', '10.0.0.0/30', '192.0.2.0/24'])}`);
    if (chance(0.2)) parts.push(`${chance(0.25) ? '! ' : ''}-d ${pick(['10.0.0.9', '10.0.0.8/29', '198.51.100.0/24'])}`);
    // iptables refuses -i in OUTPUT and POSTROUTING and -o in PREROUTING and INPUT, but not in the
    // user chains they call.
    if ((!builtin || !['OUTPUT', 'POSTROUTING'].includes(chain)) && chance(0.3)) parts.push(`${chance(0.3) ? '! ' : ''}-i ${pick(['eth0', 'eth+', 'lo'])}`);
    if ((!builtin || !['PREROUTING', 'INPUT'].includes(chain)) && chance(0.3)) parts.push(`${chance(0.3) ? '! ' : ''}-o ${pick(['eth1', 'eth+', 'lo'])}`);
    const proto = chance(0.5) ? pick(['tcp', 'udp', 'icmp']) : undefined;
    if (proto) parts.push(`-p ${proto}`);
    if (proto === 'tcp' && chance(0.5)) parts.push(`-m tcp ${pick(['--dport 22', '! --dport 22:80', '--sport 1024:'])}`);
    if (proto === 'udp' && chance(0.5)) parts.push(`-m udp ${pick(['--dport 53', '! --dport 53'])}`);
    if (chance(0.15) && table !== 'raw') parts.push(`-m conntrack ${chance(0.25) ? '! ' : ''}--ctstate ${pick(['NEW', 'ESTABLISHED,RELATED', 'INVALID'])}`);
    if (chance(0.15)) parts.push(`-m mark ${chance(0.25) ? '! ' : ''}--mark ${pick(['0x1', '0x1/0x1', '0x2/0x3'])}`);
    const targets = tableTargets(table);
    const t = randomTarget(rand, targets, users, level, 0.3);
    if (t !== '') parts.push(t);
    return parts.join(' ');
  };
  const lines: string[] = [];
  for (const [table, builtins] of Object.entries(hooks)) {
    lines.push(`*${table}`, ...builtins.map((b) => `:${b} ${table === 'filter' && chance(0.3) ? 'DROP' : 'ACCEPT'} [0:0]`), ...users.map((u) => `:${u} - [0:0]`));
    for (const b of builtins) for (let k = Math.floor(rand() * 4); k > 0; k--) lines.push(rule(table, b, -1));
    users.forEach((u, level) => {
      for (let k = Math.floor(rand() * 4); k > 0; k--) lines.push(rule(table, u, level));
    });
    lines.push('COMMIT');
  }
  return lines.join('\n') + '\n';
}

/** A random packet on a random path, with the interfaces that path gives it. */
function randomPathPacket(rand: () => number): { packet: string; path: 'input' | 'forward' | 'output' } {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const path = pick(['input', 'forward', 'forward', 'output'] as const);
  const proto = pick(['tcp', 'udp', 'icmp']);
  const fields = [`proto=${proto}`, `src=${pick(['10.0.0.1', '10.0.0.2', '192.0.2.5', '198.51.100.1'])}`, `dst=${pick(['10.0.0.9', '10.0.0.12', '198.51.100.7'])}`];
  if (path !== 'output') fields.push(`in=${pick(['eth0', 'eth1', 'lo'])}`);
  if (path !== 'input') fields.push(`out=${pick(['eth0', 'eth1', 'lo'])}`);
  if (proto !== 'icmp') fields.push(`sport=${pick([53, 1000, 40000])}`, `dport=${pick([22, 53, 80])}`);
  else fields.push(`icmp-type=${pick(['8', '0'])}`);
  fields.push(`state=${pick(['NEW', 'NEW', 'NEW', 'RELATED', 'ESTABLISHED', 'INVALID'])}`, `mark=${pick(['0x0', '0x1', '0x2', '0x3'])}`, 'connmark=0x0');
  return { packet: fields.join(' '), path };
}

test('every hook and table: no rule the tracer reaches on the input, forward or output path is one the analysis calls unreachable', () => {
  const r = againstTracer(rng(SEED + 2000), SETS / 2, generateAllHooks, randomPathPacket);
  process.stderr.write(`analysis vs tracer, every hook: ${SETS / 2} rule sets, ${(SETS / 2) * PACKETS} packets, ${r.rules} rules, ${r.unreachable} unreachable, ${r.reached} rules matched on decided paths in ${[...r.reachedIn].sort().join(', ')}, ${r.failures.length} disagreements\n`);
  assert.deepEqual(r.failures.slice(0, 3), [], `${r.failures.length} disagreements`);
  assert.ok(r.unreachable > 0 && r.unreachable < r.rules, 'the rule sets should mix reachable and unreachable rules');
  // Every table's hooks were reached, POSTROUTING included.
  for (const h of ['raw/PREROUTING', 'raw/OUTPUT', 'mangle/POSTROUTING', 'nat/POSTROUTING', 'nat/PREROUTING', 'filter/FORWARD', 'filter/OUTPUT']) assert.ok(r.reachedIn.has(h), `no rule matched in ${h}`);
});
