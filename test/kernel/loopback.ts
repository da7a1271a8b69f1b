/**
 * The setup of the kernel tests that watch a namespace ping its own loopback address: each echo
 * request and reply leaves on lo and comes back in on it, so one namespace is enough.
 */
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { kernelAvailability } from './netns.ts';
import { ENV, ip } from './line-proc.ts';

/**
 * Whether a loopback ping test can run here (root, `ip netns`, ping). When it cannot, it fails
 * under CI=true and otherwise says so loudly and skips the test `t` (named `what` in the messages).
 */
export function loopbackPingAvailable(t: { skip(reason: string): void }, what: string): boolean {
  const avail = kernelAvailability();
  const reason = !avail.ok ? avail.reason : spawnSync('ping', ['-V'], { env: ENV }).error ? 'ping is not installed (apt-get install -y iputils-ping)' : undefined;
  if (reason === undefined) return true;
  if (process.env.CI === 'true') assert.fail(`the ${what} test cannot run under CI: ${reason}`);
  process.stderr.write(`\n*** SKIPPING the ${what} kernel test: ${reason} ***\n\n`);
  t.skip(reason);
  return false;
}

/**
 * Loads `text` with one backend into a fresh namespace `ns`, pings 127.0.0.1 there `pings` times
 * (every ping must be answered) and returns `iptables-save -c`; the namespace is deleted after.
 */
export function pingOwnLoopback(ns: string, backend: 'legacy' | 'nft', text: string, pings: number): string {
  spawnSync('ip', ['netns', 'del', ns], { env: ENV });
  ip(undefined, 'ip', 'netns', 'add', ns);
  try {
    ip(ns, 'ip', 'link', 'set', 'lo', 'up');
    const load = spawnSync('ip', ['netns', 'exec', ns, `iptables-${backend}-restore`], { input: text, encoding: 'utf8', env: ENV });
    assert.equal(load.status, 0, `${backend}: ${load.stderr}`);
    const p = spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', String(pings), '-i', '0.2', '-W', '1', '127.0.0.1'], { encoding: 'utf8', env: ENV });
    assert.equal(p.status, 0, `${backend}: every ping is answered: ${p.stdout}${p.stderr}`);
    return spawnSync('ip', ['netns', 'exec', ns, `iptables-${backend}-save`, '-c'], { encoding: 'utf8', env: ENV }).stdout;
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { env: ENV });
  }
}
