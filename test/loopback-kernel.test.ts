/**
 * Kernel verification of what conntrack does with packets that come back in on the loopback
 * device: they keep the connection they were given on their way out, so raw PREROUTING sees its
 * state (NEW, then ESTABLISHED) where other packets are not tracked yet (INVALID), and their NAT was
 * set up on the way out (nat OUTPUT and POSTROUTING), so nat PREROUTING and INPUT never see them.
 * A namespace pings its own loopback address; with both backends, the kernel's per-rule counters
 * must be those the tracer predicts for the same packets, and the analysis must call the nat rules
 * for packets from lo unreachable.
 *
 * Needs root, `ip netns` and ping; skipped loudly without them, failed under CI=true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check } from '../server/src/core/index.ts';
import { parsePacket, trace } from '../server/src/core/trace/index.ts';
import { loopbackPingAvailable, pingOwnLoopback } from './kernel/loopback.ts';

const NS = `lo-${process.pid}`;
const PINGS = 3;
const TEXT = [
  '*raw',
  ':PREROUTING ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  '-A PREROUTING -i lo -m conntrack --ctstate NEW',
  '-A PREROUTING -i lo -m conntrack --ctstate ESTABLISHED',
  '-A PREROUTING -i lo -m conntrack --ctstate INVALID',
  '-A OUTPUT -o lo -m conntrack --ctstate INVALID',
  '-A OUTPUT -o lo -m conntrack --ctstate NEW',
  'COMMIT',
  '*nat',
  ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':POSTROUTING ACCEPT [0:0]',
  '-A PREROUTING -i lo',
  '-A INPUT -i lo',
  '-A OUTPUT -o lo',
  '-A POSTROUTING -o lo',
  'COMMIT',
  '',
].join('\n');
const RULE_LINES = TEXT.split('\n').flatMap((l, i) => (l.startsWith('-A ') ? [i + 1] : []));

/** The packet counts of the rules of TEXT, in its order, from `iptables-save -c` (which may order the tables otherwise). */
function counters(save: string): number[] {
  const counts = new Map<string, number>();
  let table = '';
  for (const l of save.split('\n')) {
    if (l.startsWith('*')) table = l.slice(1);
    const m = /^\[(\d+):\d+\] (-A .*)$/.exec(l);
    if (m) counts.set(`${table} ${m[2]}`, Number(m[1]));
  }
  let current = '';
  const out: number[] = [];
  for (const l of TEXT.split('\n')) {
    if (l.startsWith('*')) current = l.slice(1);
    if (l.startsWith('-A ')) out.push(counts.get(`${current} ${l}`) ?? NaN);
  }
  return out;
}

test('packets from the loopback device keep their connection: raw PREROUTING sees its state, nat PREROUTING and INPUT never see them', { timeout: 60_000 }, (t) => {
  if (!loopbackPingAvailable(t, 'loopback conntrack')) return;

  // What the tracer predicts: every echo request and reply leaves by lo (output path) and comes
  // back in on it (input path); the first request is NEW, everything after it ESTABLISHED.
  const checked = check(TEXT, { analyses: true });
  assert.deepEqual(checked.diagnostics.filter((d) => d.severity === 'error'), []);
  const predicted = new Map<number, number>(RULE_LINES.map((l) => [l, 0]));
  for (let k = 0; k < 2 * PINGS; k++) {
    const state = k === 0 ? 'NEW' : 'ESTABLISHED';
    const type = k % 2 === 0 ? 8 : 0;
    for (const [path, iface] of [['output', 'out=lo'], ['input', 'in=lo']] as const) {
      const r = trace(checked.model, parsePacket(`proto=icmp src=127.0.0.1 dst=127.0.0.1 ${iface} icmp-type=${type} state=${state}`, 'ipv4'), path);
      assert.equal(r.outcomes.length, 1, `the tracer decides every rule (${path}, ${state})`);
      for (const s of r.outcomes[0].steps) if (s.kind === 'rule' && s.matched === true && s.line) predicted.set(s.line, (predicted.get(s.line) ?? 0) + 1);
    }
  }
  const expected = RULE_LINES.map((l) => predicted.get(l) ?? 0);

  // The analysis: nat PREROUTING and INPUT never see a packet from lo.
  const unreachable = new Set(checked.diagnostics.filter((d) => d.code === 'unreachable-rule').map((d) => d.range.start.line + 1));
  const natFromLo = RULE_LINES.filter((l) => /^-A (PREROUTING|INPUT) -i lo$/.test(TEXT.split('\n')[l - 1]) && l > TEXT.split('\n').indexOf('*nat'));
  assert.deepEqual(natFromLo.filter((l) => !unreachable.has(l)), [], 'the analysis calls the nat rules for packets from lo unreachable');

  // What the kernel does, with each backend.
  for (const backend of ['legacy', 'nft'] as const) {
    const kernel = counters(pingOwnLoopback(NS, backend, TEXT, PINGS));
    assert.deepEqual(kernel, expected, `${backend}: the kernel's counters (lines ${RULE_LINES.join(', ')}) against the tracer's prediction`);
    process.stderr.write(`loopback conntrack test (${backend}): counters ${kernel.join(', ')}, as the tracer predicts\n`);
  }
});
