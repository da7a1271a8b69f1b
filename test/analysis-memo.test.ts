/**
 * The analysis of an edited version that replays what the analysis of the version before left
 * (memo.ts, the language server's path) must give exactly what a fresh analysis gives: the same
 * diagnostics, in the same order, and the same work. Random rule sets over every table, edited
 * again and again (a rule replaced, inserted or deleted, a policy flipped), each memo built on the
 * last; and a Neutron dump edited where editors edit it. The tests also check that the memo was
 * used: a memo that never replays anything would pass the comparison trivially.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check } from '../server/src/core/index.ts';
import { analyse, type AnalysisOptions, type AnalysisResult } from '../server/src/core/analysis/analyse.ts';
import type { AnalysisMemo } from '../server/src/core/analysis/memo.ts';
import { neutronDump } from '../bench/neutron-dump.ts';
import { mulberry32 } from '../bench/random.ts';
import { randomTarget, tableTargets } from './random-rules.ts';

const SEED = Number(process.env.ANALYSIS_MEMO_SEED ?? 11);
const SETS = Number(process.env.ANALYSIS_MEMO_SETS ?? 150);
const EDITS = 12;

/** Analyses one version, fresh and with the memo of the last one; both must agree. */
function both(lines: readonly string[], previous: AnalysisMemo | undefined, tuning: AnalysisOptions, what: string): AnalysisResult {
  const text = lines.join('\n');
  const prepared = (): ReturnType<typeof check> => check(text, { prepareAnalysis: true });
  const run = (memo: AnalysisMemo | undefined): AnalysisResult => {
    const r = prepared();
    const input = r.analysisInput!;
    return analyse(r.model, { ...tuning, readings: input.readings, errorLines: input.errorLines, reachability: false, timeLimitMs: 1e9, lines, previous: memo, remember: true });
  };
  const fresh = run(undefined);
  const replayed = run(previous);
  assert.deepEqual(replayed.diagnostics, fresh.diagnostics, `${what}: the findings differ from a fresh analysis:\n${text}`);
  assert.equal(replayed.work, fresh.work, `${what}: the work differs from a fresh analysis`);
  return replayed;
}

/** A random rule of a chain of a table, valid where the chain's hook allows it. */
function randomRule(rand: () => number, table: string, chain: string, users: readonly string[]): string {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const chance = (p: number): boolean => rand() < p;
  const builtin = !users.includes(chain);
  const level = builtin ? -1 : users.indexOf(chain);
  const parts = [`-A ${chain}`];
  if (chance(0.3)) parts.push(`${chance(0.25) ? '! ' : ''}-s ${pick(['10.0.0.1', '10.0.0.0/30', '192.0.2.0/24', '10.9.0.0/16'])}`);
  if (chance(0.2)) parts.push(`${chance(0.25) ? '! ' : ''}-d ${pick(['10.0.0.9', '10.0.0.8/29', '198.51.100.0/24'])}`);
  if ((!builtin || !['OUTPUT', 'POSTROUTING'].includes(chain)) && chance(0.25)) parts.push(`${chance(0.3) ? '! ' : ''}-i ${pick(['eth0', 'eth+', 'lo', 'tap1'])}`);
  if ((!builtin || !['PREROUTING', 'INPUT'].includes(chain)) && chance(0.25)) parts.push(`${chance(0.3) ? '! ' : ''}-o ${pick(['eth1', 'eth+', 'lo'])}`);
  const proto = chance(0.5) ? pick(['tcp', 'udp', 'icmp']) : undefined;
  if (proto) parts.push(`-p ${proto}`);
  if (proto === 'tcp' && chance(0.6)) parts.push(`-m tcp ${pick(['--dport 22', '--dport 23', '! --dport 22:80', '--sport 1024:', '--syn'])}`);
  if (proto === 'udp' && chance(0.5)) parts.push(`-m udp ${pick(['--dport 53', '! --dport 53', '--dport 67:68'])}`);
  if (chance(0.15) && table !== 'raw') parts.push(`-m conntrack ${chance(0.25) ? '! ' : ''}--ctstate ${pick(['NEW', 'ESTABLISHED,RELATED', 'INVALID'])}`);
  if (chance(0.15)) parts.push(`-m mark ${chance(0.25) ? '! ' : ''}--mark ${pick(['0x1', '0x1/0x1', '0x2/0x3'])}`);
  if (chance(0.05)) parts.push('-m limit --limit 5/sec');
  const targets = tableTargets(table);
  const t = randomTarget(rand, targets, users, level, 0.35);
  if (t !== '') parts.push(t);
  return parts.join(' ');
}

const HOOKS: Readonly<Record<string, readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};
const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];

/** A random rule set over every table, each with user chains calling one another. */
function randomSet(rand: () => number): string[] {
  const lines: string[] = [];
  for (const [table, builtins] of Object.entries(HOOKS)) {
    lines.push(`*${table}`, ...builtins.map((b) => `:${b} ${table === 'filter' && rand() < 0.3 ? 'DROP' : 'ACCEPT'} [0:0]`), ...USERS.map((u) => `:${u} - [0:0]`));
    for (const b of builtins) for (let k = Math.floor(rand() * 5); k > 0; k--) lines.push(randomRule(rand, table, b, USERS));
    for (const u of USERS) for (let k = Math.floor(rand() * 6); k > 0; k--) lines.push(randomRule(rand, table, u, USERS));
    lines.push('COMMIT');
  }
  lines.push('');
  return lines;
}

/** One random edit of a rule set, in place: a rule replaced, inserted or deleted, or a policy flipped. */
function randomEdit(rand: () => number, lines: string[]): string {
  const rules = lines.flatMap((l, i) => (l.startsWith('-A ') ? [i] : []));
  const at = rules[Math.floor(rand() * rules.length)];
  const kind = rand();
  if (at === undefined || kind < 0.1) {
    const policies = lines.flatMap((l, i) => (/^:[A-Z]+ (ACCEPT|DROP) /.test(l) && !l.startsWith(':u') ? [i] : []));
    const p = policies[Math.floor(rand() * policies.length)];
    lines[p] = lines[p].includes(' ACCEPT ') ? lines[p].replace(' ACCEPT ', ' DROP ') : lines[p].replace(' DROP ', ' ACCEPT ');
    return `policy flipped on line ${p + 1}`;
  }
  let table = '';
  for (let i = at; i >= 0 && table === ''; i--) if (lines[i].startsWith('*')) table = lines[i].slice(1);
  const chain = lines[at].split(' ')[1];
  if (kind < 0.6) {
    lines[at] = randomRule(rand, table, chain, USERS);
    return `line ${at + 1} replaced`;
  }
  if (kind < 0.8) {
    lines.splice(at + (rand() < 0.5 ? 1 : 0), 0, randomRule(rand, table, chain, USERS));
    return `rule inserted at line ${at + 1}`;
  }
  lines.splice(at, 1);
  return `line ${at + 1} deleted`;
}

test('an analysis replaying the memo of the version before gives exactly what a fresh one gives: random rule sets, edited again and again', () => {
  const rand = mulberry32(SEED);
  // Projection on every chain, tiny piece limits (merged pieces), walks at few calls, a tiny effort
  // (a handful of walks at calls, pairwise checks of two rules, a work limit some sets exceed):
  // each limit the memo must respect, as well as the defaults.
  const tunings: AnalysisOptions[] = [{}, { projectionThreshold: 0 }, { pieceLimit: 3 }, { fewCallsLongerThan: 0 }, { effort: 0.002, fewCallsLongerThan: 0 }];
  let total = 0;
  let replayed = 0;
  let findings = 0;
  for (let set = 0; set < SETS; set++) {
    const tuning = tunings[set % tunings.length];
    const lines = randomSet(rand);
    let memo = both(lines, undefined, tuning, `set ${set}`).memo;
    for (let e = 0; e < EDITS; e++) {
      const what = randomEdit(rand, lines);
      const r = both(lines, memo, tuning, `set ${set}, edit ${e} (${what}), tuning ${JSON.stringify(tuning)}`);
      memo = r.memo;
      total += r.walks?.total ?? 0;
      replayed += r.walks?.replayed ?? 0;
      findings += r.diagnostics.length;
    }
  }
  console.log(`# memo, random sets: ${SETS} sets × ${EDITS} edits (seed ${SEED}): ${replayed.toLocaleString('en')} of ${total.toLocaleString('en')} walks replayed, ${findings.toLocaleString('en')} findings compared`);
  // Most walks of an edited set are in chains the edit did not touch.
  assert.ok(replayed > total / 3, `only ${replayed} of ${total} walks replayed`);
  assert.ok(findings > 10_000, `only ${findings} findings compared`);
});

test('a Neutron dump: an edited port, rule, comment, dispatch jump, address or inserted rule replays every walk it can and gives what a fresh analysis gives', () => {
  const lines = neutronDump(40).split('\n');
  let memo = both(lines, undefined, {}, 'the dump').memo;
  const find = (what: RegExp, from = 0): number => {
    const i = lines.findIndex((l, k) => k >= from && what.test(l));
    assert.ok(i >= 0, `no line matches ${what}`);
    return i;
  };
  const middle = (what: RegExp): number => {
    const all = lines.flatMap((l, k) => (what.test(l) ? [k] : []));
    return all[all.length >> 1];
  };
  const edits: { what: string; edit: () => void; replaysMost: boolean }[] = [
    { what: 'a port of an ingress rule', edit: () => { const i = middle(/--dport 22 /); lines[i] = lines[i].replace('--dport 22 ', '--dport 23 '); }, replaysMost: true },
    { what: 'the same port back', edit: () => { const i = middle(/--dport 23 /); lines[i] = lines[i].replace('--dport 23 ', '--dport 22 '); }, replaysMost: true },
    { what: 'a comment', edit: () => { const i = middle(/--comment "Send unmatched/); lines[i] = lines[i].replace('Send unmatched', 'Send other'); }, replaysMost: true },
    { what: 'an egress rule', edit: () => { const i = middle(/^-A neutron-openvswi-o.* --sport 68 --dport 67 .* -j RETURN/); lines[i] = lines[i].replace('-j RETURN', '-j DROP'); }, replaysMost: false },
    { what: 'the fallback chain', edit: () => { const i = find(/^-A neutron-openvswi-sg-fallback /); lines[i] = lines[i].replace('-j DROP', '-j ACCEPT'); }, replaysMost: true },
    { what: 'a dispatch jump', edit: () => { const i = middle(/^-A neutron-openvswi-sg-chain /); lines[i] = lines[i].replace('-j neutron-openvswi-', '-g neutron-openvswi-'); }, replaysMost: false },
    { what: 'an address (a new address class)', edit: () => { const i = middle(/^-A neutron-openvswi-i.* -s 10\./); lines[i] = lines[i].replace(/-s 10\.[0-9.]+\/[0-9]+/, '-s 10.77.0.0/16'); }, replaysMost: false },
    { what: 'an inserted rule (the lines after it move)', edit: () => { const i = middle(/--dport 22 /); lines.splice(i, 0, lines[i].replace('--dport 22 ', '--dport 2222 ')); }, replaysMost: false },
  ];
  for (const e of edits) {
    e.edit();
    const r = both(lines, memo, {}, e.what);
    memo = r.memo;
    const { total, replayed } = r.walks!;
    console.log(`# memo, Neutron dump, ${e.what}: ${replayed} of ${total} walks replayed`);
    if (e.replaysMost) assert.ok(replayed >= total * 0.9, `${e.what}: only ${replayed} of ${total} walks replayed`);
  }
});
