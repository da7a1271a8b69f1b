/**
 * Kernel verification of how the analysis and the tracer read `-m mac` for packets without an
 * Ethernet header: xt_mac never matches them, negated or not. A namespace pings its own loopback
 * address (each echo request and reply enters INPUT from `lo`, which has no Ethernet header) through
 * a table whose first two rules test a MAC and its negation; with both backends, the kernel's
 * counters must show neither rule hit and the rule after them hit, as the analysis (told that the
 * packets come from `lo` without a MAC) and the tracer (given `in=lo`) say.
 *
 * Needs root, `ip netns` and ping; skipped loudly without them, failed under CI=true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check } from '../server/src/core/index.ts';
import { analyse } from '../server/src/core/analysis/analyse.ts';
import { concreteSpace } from '../server/src/core/analysis/rule-space.ts';
import { parsePacket, trace } from '../server/src/core/trace/index.ts';
import { loopbackPingAvailable, pingOwnLoopback } from './kernel/loopback.ts';

const NS = `mac-${process.pid}`;
const PINGS = 3;
const RULES = ['-A INPUT -m mac ! --mac-source 02:00:00:00:00:01 -j DROP', '-A INPUT -m mac --mac-source 02:00:00:00:00:01 -j DROP', '-A INPUT -p icmp -j ACCEPT'];
const TEXT = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...RULES, 'COMMIT', ''].join('\n');

/** The packet counts of the INPUT rules, in order, from `iptables-save -c`. */
function counters(save: string): number[] {
  return save
    .split('\n')
    .filter((l) => / -A INPUT /.test(l))
    .map((l) => Number(/^\[(\d+):/.exec(l)?.[1] ?? NaN));
}

test('-m mac never matches packets from the loopback device, negated or not: kernel, analysis and tracer agree', { timeout: 60_000 }, (t) => {
  if (!loopbackPingAvailable(t, 'loopback MAC')) return;

  // What the analysis and the tracer say.
  const { model, diagnostics } = check(TEXT);
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  const fromLoopback = analyse(model, { entry: (_table, hook, v) => (hook === 'INPUT' ? concreteSpace(v, { in: ['lo'], mac: [null], proto: [1] }) : []) });
  const reached = RULES.map((_, k) => (fromLoopback.rules.get(4 + k)?.hit.length ?? 0) > 0);
  assert.deepEqual(reached, [false, false, true], 'the analysis: only the ICMP rule is reached from lo');
  const traced = trace(model, parsePacket('proto=icmp src=127.0.0.1 dst=127.0.0.1 in=lo icmp-type=8 state=NEW', 'ipv4'), 'INPUT');
  assert.equal(traced.outcomes.length, 1, 'the tracer decides every rule');
  assert.deepEqual(
    traced.outcomes[0].steps.filter((s) => s.kind === 'rule' && s.matched === true).map((s) => s.line),
    [7],
    'the tracer: only the ICMP rule (line 7) matches',
  );

  // What the kernel does, with each backend.
  for (const backend of ['legacy', 'nft'] as const) {
    const kernel = counters(pingOwnLoopback(NS, backend, TEXT, PINGS));
    // Each ping's request and reply enter INPUT from lo.
    assert.deepEqual(kernel, [0, 0, 2 * PINGS], `${backend}: the counters of the three rules`);
    process.stderr.write(`loopback MAC test (${backend}): counters ${kernel.join(', ')}; analysis and tracer agree\n`);
  }
});
