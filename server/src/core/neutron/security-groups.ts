/**
 * The iptables security-group firewall driver (neutron/agent/linux/iptables_firewall.py): per-port
 * ingress, egress and spoofing chains, the shared sg-chain and sg-fallback, the NAT
 * short-circuit, conntrack zones in raw, remote groups as ipsets or per-member rules, stateless
 * groups and port-security-disabled ports, for the OVS hybrid and Linux bridge drivers.
 */
import { eui64LinkLocal, formatAddress, type IpVersion, type Prefix } from '../policy/addresses.ts';
import { PORT_PROTOCOLS, type Policy, type Port, type SecurityGroup, type SgRule } from '../policy/model.ts';
import { COMMENTS, IptablesManager } from './manager.ts';

/** One ipset as the driver creates it. */
export interface IpsetDef {
  readonly name: string;
  readonly family: IpVersion;
  readonly members: readonly string[];
}

/** The output of the driver for one family. */
export interface SgOutput {
  readonly manager: IptablesManager;
  readonly ipsets: readonly IpsetDef[];
  /** Conntrack zone per port id (filtered, stateful ports). */
  readonly zones: ReadonlyMap<string, number>;
  /** Effective security-group rules per port id, in `-A`-free argument form, per direction chain. */
  readonly portRules: ReadonlyMap<string, readonly { readonly rule: SgRule; readonly args: string; readonly remoteIp?: string }[]>;
}

/** Options of the driver run. */
export interface SgOptions {
  readonly family: IpVersion;
  /** The host; undefined selects ports without a `host` line. */
  readonly host?: string;
}

/** The tap device of a port. */
export function tapDevice(portId: string): string {
  return `tap${portId}`.slice(0, 14);
}

/** The binary name of the agent that runs the driver. */
export function sgBinaryName(policy: Policy): string {
  return policy.defaults.sgDriver === 'linuxbridge' ? 'neutron-linuxbri' : 'neutron-openvswi';
}

/** The ipset name Neutron gives a remote group: `N` + `IPv4|IPv6` + id, cut to 29 characters. */
export function ipsetName(groupId: string, family: IpVersion): string {
  return `NIPv${family}${groupId}`.slice(0, 29);
}

/** `/32` or `/128` appended to a bare address; other prefixes as written. */
function hostPrefix(p: Prefix): string {
  return `${formatAddress(p.version, p.value)}/${p.length}`;
}

function portChain(prefix: 'i' | 'o' | 's', portId: string): string {
  return `${prefix}${portId}`.slice(0, 11);
}

/** Runs the driver for the ports of one host and one family. */
export function generateSecurityGroups(policy: Policy, options: SgOptions): SgOutput {
  const family = options.family;
  const v6 = family === 6;
  const mgr = new IptablesManager({ binaryName: sgBinaryName(policy), family, comments: policy.defaults.comments, stateful: false, nat: false });
  const groups = new Map(policy.securityGroups.map((g) => [g.name, g]));
  const networks = new Map(policy.networks.map((n) => [n.name, n]));
  const onHost = policy.ports.filter((p) => p.host === options.host).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const filtered = onHost.filter((p) => p.portSecurity);
  const unfiltered = onHost.filter((p) => !p.portSecurity);
  const bridged = '--physdev-is-bridged';
  const lb = policy.defaults.sgDriver === 'linuxbridge';
  const ipsets = new Map<string, IpsetDef>();
  const portRules = new Map<string, { rule: SgRule; args: string; remoteIp?: string }[]>();

  // Members of every group: the fixed IPs of its ports on any host, in address order.
  const members = (g: SecurityGroup): string[] => {
    const addrs: Prefix[] = [];
    for (const p of policy.ports) if (p.securityGroups.includes(g.name)) for (const ip of p.ips) if (ip.version === family) addrs.push(ip);
    addrs.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    return [...new Set(addrs.map(hostPrefix))];
  };

  mgr.addChain('filter', 'sg-chain');
  mgr.addChain('filter', 'sg-fallback');
  mgr.addRule('filter', 'sg-fallback', '-j DROP', { comment: COMMENTS.UNMATCH_DROP });

  for (const port of filtered) {
    const tap = tapDevice(port.id);
    const ichain = mgr.wrap(portChain('i', port.id));
    const ochain = mgr.wrap(portChain('o', port.id));
    const schain = portChain('s', port.id);
    mgr.addRule('filter', 'FORWARD', `-m physdev --physdev-out ${tap} ${bridged} -j ${mgr.wrap('sg-chain')}`, { comment: COMMENTS.VM_INT_SG });
    mgr.addRule('filter', 'FORWARD', `-m physdev --physdev-in ${tap} ${bridged} -j ${mgr.wrap('sg-chain')}`, { comment: COMMENTS.VM_INT_SG });
    mgr.addRule('filter', 'sg-chain', `-m physdev --physdev-out ${tap} ${bridged} -j ${ichain}`, { comment: COMMENTS.SG_TO_VM_SG });
    mgr.addRule('filter', 'sg-chain', `-m physdev --physdev-in ${tap} ${bridged} -j ${ochain}`, { comment: COMMENTS.SG_TO_VM_SG });
    mgr.addRule('filter', 'INPUT', `-m physdev --physdev-in ${tap} ${bridged} -j ${ochain}`, { comment: COMMENTS.INPUT_TO_SG });

    // Ingress chain.
    mgr.addChain('filter', portChain('i', port.id));
    if (v6) for (const t of [130, 135, 136]) mgr.addRule('filter', portChain('i', port.id), `-p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j RETURN`);
    mgr.addRule('filter', portChain('i', port.id), '-m state --state RELATED,ESTABLISHED -j RETURN', { comment: COMMENTS.ALLOW_ASSOC });
    const rules = sgRuleArgs(port, family);
    for (const r of rules.filter((x) => x.rule.direction === 'ingress')) mgr.addRule('filter', portChain('i', port.id), r.args);
    mgr.addRule('filter', portChain('i', port.id), '-m state --state INVALID -j DROP', { comment: COMMENTS.INVALID_DROP });
    mgr.addRule('filter', portChain('i', port.id), `-j ${mgr.wrap('sg-fallback')}`, { comment: COMMENTS.UNMATCHED });

    // Egress chain, with the spoofing chain.
    const o = portChain('o', port.id);
    mgr.addChain('filter', o);
    if (v6) for (const t of [131, 135, 143]) mgr.addRule('filter', o, `-s ::/128 -d ff02::/16 -p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j RETURN`, { comment: COMMENTS.IPV6_ICMP_ALLOW });
    else mgr.addRule('filter', o, '-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 -j RETURN', { comment: COMMENTS.DHCP_CLIENT });
    const pairs = spoofPairs(port, family);
    if (pairs.length > 0) {
      mgr.addChain('filter', schain);
      for (const [mac, ip] of pairs) mgr.addRule('filter', schain, `${ip ? `-s ${ip} ` : ''}-m mac --mac-source ${mac.toUpperCase()} -j RETURN`, { comment: COMMENTS.PAIR_ALLOW });
      mgr.addRule('filter', schain, '-j DROP', { comment: COMMENTS.PAIR_DROP });
      mgr.addRule('filter', o, `-j ${mgr.wrap(schain)}`);
    }
    if (v6) {
      mgr.addRule('filter', o, '-p ipv6-icmp -m icmp6 --icmpv6-type 134 -j DROP', { comment: COMMENTS.IPV6_RA_DROP });
      mgr.addRule('filter', o, '-p ipv6-icmp -j RETURN', { comment: COMMENTS.IPV6_ICMP_ALLOW });
      mgr.addRule('filter', o, '-p udp -m udp --sport 546 --dport 547 -j RETURN', { comment: COMMENTS.DHCP_CLIENT });
      mgr.addRule('filter', o, '-p udp -m udp --sport 547 --dport 546 -j DROP', { comment: COMMENTS.DHCP_SPOOF });
    } else {
      mgr.addRule('filter', o, '-p udp -m udp --sport 68 --dport 67 -j RETURN', { comment: COMMENTS.DHCP_CLIENT });
      mgr.addRule('filter', o, '-p udp -m udp --sport 67 --dport 68 -j DROP', { comment: COMMENTS.DHCP_SPOOF });
    }
    mgr.addRule('filter', o, '-m state --state RELATED,ESTABLISHED -j RETURN', { comment: COMMENTS.ALLOW_ASSOC });
    for (const r of rules.filter((x) => x.rule.direction === 'egress')) mgr.addRule('filter', o, r.args);
    mgr.addRule('filter', o, '-m state --state INVALID -j DROP', { comment: COMMENTS.INVALID_DROP });
    mgr.addRule('filter', o, `-j ${mgr.wrap('sg-fallback')}`, { comment: COMMENTS.UNMATCHED });
    portRules.set(port.id, rules);
  }
  mgr.addRule('filter', 'sg-chain', '-j ACCEPT');

  // Neutron updates the members of every remote group its ports' rules reference, for each
  // family with members, whether or not a rule of that family uses the set.
  if (policy.defaults.ipset) {
    for (const port of filtered) {
      for (const gname of port.securityGroups) {
        for (const rule of groups.get(gname)?.rules ?? []) {
          const remote = rule.remoteGroup !== undefined ? groups.get(rule.remoteGroup) : undefined;
          if (!remote) continue;
          const name = ipsetName(remote.id, family);
          const addrs = members(remote);
          if (addrs.length > 0 && !ipsets.has(name)) ipsets.set(name, { name, family, members: addrs });
        }
      }
    }
  }

  for (const port of unfiltered) {
    const tap = tapDevice(port.id);
    mgr.addRule('filter', 'FORWARD', `-m physdev --physdev-out ${tap} ${bridged} -j ACCEPT`, { comment: COMMENTS.PORT_SEC_ACCEPT });
    mgr.addRule('filter', 'FORWARD', `-m physdev --physdev-in ${tap} ${bridged} -j ACCEPT`, { comment: COMMENTS.PORT_SEC_ACCEPT });
    mgr.addRule('filter', 'INPUT', `-m physdev --physdev-in ${tap} ${bridged} -j ACCEPT`, { comment: COMMENTS.PORT_SEC_ACCEPT });
  }

  // The NAT short-circuit: every port skips the nat table's later rules.
  for (const port of [...filtered, ...unfiltered]) {
    const tap = tapDevice(port.id);
    mgr.addRule('nat', 'PREROUTING', `-m physdev --physdev-out ${tap} -j ACCEPT`, { comment: COMMENTS.TRUSTED_ACCEPT });
    mgr.addRule('nat', 'PREROUTING', `-m physdev --physdev-in ${tap} -j ACCEPT`, { comment: COMMENTS.TRUSTED_ACCEPT });
  }

  // Conntrack zones (or notrack for stateless groups) in raw.
  const zones = new Map<string, number>();
  const zoneByKey = new Map<string, number>();
  let highest = 4096;
  for (const port of filtered) {
    const tap = tapDevice(port.id);
    const br = lb ? `brq${networks.get(port.network)?.id ?? ''}`.slice(0, 14) : `qvb${port.id}`.slice(0, 14);
    const who = lb ? tap.slice(4) : port.id;
    const stateless = port.securityGroups.some((g) => groups.get(g)?.stateless);
    let target: string;
    let comment: string;
    if (stateless) {
      target = 'CT --notrack';
      comment = `Make ${who} stateless`;
    } else {
      const key = lb ? `net:${port.network}` : `port:${port.id}`;
      let zone = zoneByKey.get(key);
      if (zone === undefined) {
        zone = highest + 1;
        if (zone > 65535) continue;
        highest = zone;
        zoneByKey.set(key, zone);
      }
      zones.set(port.id, zone);
      target = `CT --zone ${zone}`;
      comment = `Set zone for ${who}`;
    }
    for (const m of [`-m physdev --physdev-in ${br}`, `-i ${br}`, `-m physdev --physdev-in ${tap}`]) mgr.addRule('raw', 'PREROUTING', `${m} -j ${target}`, { forcedComment: comment });
  }

  return { manager: mgr, ipsets: [...ipsets.values()], zones, portRules };

  /** The security-group rules of a port in iptables arguments, in group and rule order, deduplicated. */
  function sgRuleArgs(port: Port, fam: IpVersion): { rule: SgRule; args: string; remoteIp?: string }[] {
    const out: { rule: SgRule; args: string; remoteIp?: string }[] = [];
    const seen = new Set<string>();
    const push = (rule: SgRule, args: string, remoteIp?: string): void => {
      const key = `${rule.direction} ${args}`;
      if (seen.has(key)) return;
      seen.add(key);
      out.push({ rule, args, ...(remoteIp !== undefined ? { remoteIp } : {}) });
    };
    for (const gname of port.securityGroups) {
      const g = groups.get(gname);
      if (!g) continue;
      for (const rule of g.rules) {
        if (rule.ethertype !== fam) continue;
        const protoArgs = protocolArgs(rule, fam);
        if (rule.remoteGroup !== undefined) {
          const remote = groups.get(rule.remoteGroup);
          if (!remote) continue;
          const addrs = members(remote);
          if (addrs.length === 0) continue;
          if (policy.defaults.ipset) {
            const name = ipsetName(remote.id, fam);
            if (!ipsets.has(name)) ipsets.set(name, { name, family: fam, members: addrs });
            push(rule, `${protoArgs ? `${protoArgs} ` : ''}-m set --match-set ${name} ${rule.direction === 'ingress' ? 'src' : 'dst'} -j RETURN`);
          } else {
            const own = new Set(port.ips.map(hostPrefix));
            for (const a of addrs) {
              if (own.has(a)) continue;
              push(rule, `${rule.direction === 'ingress' ? '-s' : '-d'} ${a} ${protoArgs ? `${protoArgs} ` : ''}-j RETURN`, a);
            }
          }
          continue;
        }
        const parts: string[] = [];
        if (rule.remotePrefix && rule.remotePrefix.length !== 0) parts.push(`${rule.direction === 'ingress' ? '-s' : '-d'} ${hostPrefix(rule.remotePrefix)}`);
        if (protoArgs) parts.push(protoArgs);
        parts.push('-j RETURN');
        push(rule, parts.join(' '));
      }
    }
    return out;
  }
}

/** `-p PROTO [-m PROTO] [ports | icmp type]` for a security-group rule, as Neutron writes it. */
export function protocolArgs(rule: SgRule, family: IpVersion): string {
  let proto = rule.protocol;
  if (proto === undefined) return '';
  if (family === 6 && (proto === 'icmp' || proto === 'icmpv6' || proto === '58')) proto = 'ipv6-icmp';
  const parts = [`-p ${proto}`];
  if (proto === 'icmp' || proto === 'ipv6-icmp') {
    if (rule.icmpType !== undefined) {
      const m = proto === 'icmp' ? '-m icmp --icmp-type' : '-m icmp6 --icmpv6-type';
      parts.push(`${m} ${rule.icmpType}${rule.icmpCode !== undefined ? `/${rule.icmpCode}` : ''}`);
    }
  } else if (rule.ports && PORT_PROTOCOLS.has(proto)) {
    const { min, max } = rule.ports;
    if (proto === 'udplite') parts.push(`-m multiport --dports ${min === max ? min : `${min}:${max}`}`);
    else if (min === max) parts.push(`-m ${proto} --dport ${min}`);
    else parts.push(`-m ${proto} -m multiport --dports ${min}:${max}`);
  }
  return parts.join(' ');
}

/** The (MAC, address) pairs of the spoofing chain: allowed address pairs, then fixed IPs, with the EUI-64 link-local once per MAC for IPv6. */
function spoofPairs(port: Port, family: IpVersion): [string, string | undefined][] {
  const pairs: [string, string | undefined][] = [];
  const add = (mac: string, p: Prefix): void => {
    if (p.version !== family) return;
    pairs.push([mac, hostPrefix(p)]);
    if (family === 6) {
      const lla = `${eui64LinkLocal(mac)}/128`;
      if (!pairs.some(([m, a]) => m === mac && a === lla)) pairs.push([mac, lla]);
    }
  };
  for (const a of port.allowedAddresses) add(a.mac ?? port.mac, a.prefix);
  for (const ip of port.ips) add(port.mac, ip);
  if (port.ips.length === 0) pairs.push([port.mac, undefined]);
  return pairs;
}
