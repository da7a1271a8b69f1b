/**
 * What the kernel tests that send probes between namespaces need to know per address family:
 * the tools, the ICMP protocol name, whether `-f` exists, and how to bring up an interface so that
 * only the probes pass through the rules under test.
 */
import type { Family } from '../../server/src/core/extensions/value-kinds.ts';
import { ip } from './line-proc.ts';

/** The per-family tools and names shared by the probe tests' profiles. */
export interface FamilyTools {
  readonly family: Family;
  readonly label: string;
  /** The protocol name of ICMP for this family (`-p …`). */
  readonly icmp: string;
  /** Whether `-f` exists (iptables only). */
  readonly fragments: boolean;
  readonly restore: string;
  readonly save: string;
}

export const IPV4_TOOLS: FamilyTools = { family: 'ipv4', label: 'IPv4', icmp: 'icmp', fragments: true, restore: 'iptables-legacy-restore', save: 'iptables-legacy-save' };
export const IPV6_TOOLS: FamilyTools = { family: 'ipv6', label: 'IPv6', icmp: 'ipv6-icmp', fragments: false, restore: 'ip6tables-legacy-restore', save: 'ip6tables-legacy-save' };

/**
 * Brings up `lo` and `dev` in namespace `ns`. IPv4 runs disable IPv6, so that no neighbour
 * discovery touches the counters; IPv6 runs give the interface no link-local address (so no
 * neighbour discovery or MLD from one) and no duplicate address detection.
 */
export function bringUp(ns: string, dev: string, family: Family): void {
  if (family === 'ipv6') {
    ip(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.disable_ipv6=0', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0');
    ip(ns, 'ip', 'link', 'set', dev, 'addrgenmode', 'none');
  } else ip(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  ip(ns, 'ip', 'link', 'set', 'lo', 'up');
  ip(ns, 'ip', 'link', 'set', dev, 'up');
}

/** Adds an address to `dev` (IPv6 addresses skip duplicate address detection, usable at once). */
export function addAddress(ns: string, dev: string, address: string, prefix: number, family: Family): void {
  ip(ns, 'ip', 'addr', 'add', `${address}/${prefix}`, 'dev', dev, ...(family === 'ipv6' ? ['nodad'] : []));
}
