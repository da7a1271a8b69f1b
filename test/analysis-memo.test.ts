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
import { randomRule, randomSet, USERS } from './random-rules.ts';

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
