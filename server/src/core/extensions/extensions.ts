/**
 * The match modules and targets iptables knows, as data: each entry names its options, whether
 * and what value they take, whether they can be negated, the protocols they need and the tables
 * and hooks the kernel allows them in. The rule interpreter reads only this table, so adding a
 * module or target is one entry here.
 *
 * Facts follow iptables 1.8.9 (libxt_*, libipt_*, libip6t_*) and the kernel's xt_* checkentry
 * functions as observed by applying rules with iptables-restore in a network namespace.
 */
import type { Family, KindParams } from './value-kinds.ts';

/** The netfilter hooks, named as the builtin chains that sit on them. */
export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** One argument an option takes: the kind of value (a key of VALIDATORS) and its parameters. */
export interface ArgSpec {
  readonly kind: string;
  readonly params?: KindParams;
  /** How the value is called in messages and completion, e.g. `port[:port]`. */
  readonly label?: string;
}

/** One option of a module or target. */
export interface OptionSpec {
  /** Hooks the kernel accepts this option in, when narrower than the module's. */
  readonly hooks?: readonly Hook[];
  /** Tables the kernel accepts this option in, when narrower than the module's. */
  readonly tables?: readonly string[];
  /** The long name without leading dashes. */
  readonly name: string;
  /** Other spellings the parser accepts for the same option. */
  readonly aliases?: readonly string[];
  /** The values the option takes, in order; none for a flag. */
  readonly args: readonly ArgSpec[];
  /** Whether `! --option` is allowed. */
  readonly invert?: boolean;
  /** Whether the option may be given more than once in a rule. */
  readonly multi?: boolean;
  /** The rule must say `-p` with one of these protocols, not negated, when it uses this option. */
  readonly protocols?: readonly string[];
  /** A one-line description, shown on hover and in completion. */
  readonly doc: string;
}

/** A match module or a target extension. */
export interface ExtensionSpec {
  readonly name: string;
  readonly doc: string;
  readonly options: readonly OptionSpec[];
  /** Only available in this family (e.g. `icmp` is IPv4 only). */
  readonly family?: Family;
  /** The rule must say `-p` with one of these protocols, not negated. */
  readonly protocols?: readonly string[];
  /** Tables the kernel accepts it in; all tables when absent. */
  readonly tables?: readonly string[];
  /** Hooks the kernel accepts it on; all hooks when absent. */
  readonly hooks?: readonly Hook[];
  /** Groups of options of which at least one must be given (the extension's final check). */
  readonly requireOneOf?: readonly (readonly string[])[];
  /**
   * Pairs of options that cannot be combined, with why when iptables itself does not say (the
   * kernel refuses the rule without a message), appended to the diagnostic.
   */
  readonly conflicts?: readonly (readonly [string, string, string?])[];
  /** Pairs [x, y]: --x is refused without --y ("option --x also requires --y"). */
  readonly requires?: readonly (readonly [string, string])[];
  /** Whether the extension is present in iptables 1.8.9 on a current kernel (ULOG was removed). */
  readonly unavailable?: string;
  /** For targets: whether it ends the traversal (ACCEPT-like) or lets the packet continue. */
  readonly terminating?: boolean;
  /** Another spelling of the same module (e.g. `icmpv6` for `icmp6`). */
  readonly aliases?: readonly string[];
  /**
   * What differs in one family, where iptables and ip6tables have their own module of the same
   * name (ip6tables' `ah` has more options and needs no `-p ah`); see `specForFamily`.
   */
  readonly variants?: { readonly [F in Family]?: Partial<Omit<ExtensionSpec, 'name' | 'variants'>> };
}

const familySpecs = new WeakMap<ExtensionSpec, Map<Family, ExtensionSpec>>();

/** The extension as the given family's iptables has it (its `variants` applied, once). */
export function specForFamily(spec: ExtensionSpec, family: Family): ExtensionSpec {
  const variant = spec.variants?.[family];
  if (!variant) return spec;
  let byFamily = familySpecs.get(spec);
  if (!byFamily) familySpecs.set(spec, (byFamily = new Map()));
  let merged = byFamily.get(family);
  if (!merged) byFamily.set(family, (merged = { ...spec, ...variant }));
  return merged;
}

// Small constructors keep the table readable; they add nothing but defaults.
const flag = (name: string, doc: string, extra: Partial<OptionSpec> = {}): OptionSpec => ({ name, args: [], doc, ...extra });
/** Conflicts making options exclusive: at most one of them per rule (every pair conflicts). */
const exclusive = (...names: string[]): [string, string][] => names.flatMap((a, i) => names.slice(i + 1).map((b): [string, string] => [a, b]));
const opt = (name: string, kind: string, doc: string, extra: Partial<OptionSpec> & { params?: KindParams; label?: string } = {}): OptionSpec => {
  const { params, label, ...rest } = extra;
  return { name, args: [{ kind, params, label }], doc, ...rest };
};
const u = (max: number, min = 0): KindParams => ({ min, max });
const oneOf = (...choices: string[]): KindParams => ({ choices });

const PORT_PROTOS = ['tcp', 'udp', 'udplite', 'sctp', 'dccp'];
const TCP = ['tcp', '6'];
/** An IPsec SPI or range; iptables accepts a reversed range (it matches nothing). */
const SPI: KindParams = { min: 0, max: 0xffffffff, reversedAccepted: true };
/** Device group names, looked up by iptables in a file of the restoring host. */
const DEVICE_GROUPS: KindParams = { hostNames: { what: 'device group', file: '/etc/iproute2/group' } };
/** Conntrack states as `--ctstate` reads them (beginnings and any case accepted: `E` is ESTABLISHED). */
export const CT_STATE_PARAMS = { choices: ['INVALID', 'ESTABLISHED', 'NEW', 'RELATED', 'UNTRACKED', 'SNAT', 'DNAT'], ignoreCase: true, prefixes: true } as const;
/** Conntrack states as `-m state --state` reads them. */
export const STATE_PARAMS = { choices: ['INVALID', 'ESTABLISHED', 'NEW', 'RELATED', 'UNTRACKED'], ignoreCase: true, prefixes: true } as const;
/** Address types in the kernel's order, as `-m addrtype` reads them (`UN` is UNSPEC, `loc` LOCAL). */
export const ADDR_TYPE_PARAMS = { choices: ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'], ignoreCase: true, prefixes: true } as const;
/** ip6tables' address types: the kernel refuses those IPv6 has no route type for. */
const ADDR_TYPE_PARAMS_V6 = {
  ...ADDR_TYPE_PARAMS,
  kernelRefuses: { choices: ['BROADCAST', 'BLACKHOLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'], why: "ip6tables' addrtype cannot test this type" },
} as const;
/** The options of the addrtype match, with the address types a family's kernel takes. */
function addrTypeOptions(params: KindParams, note: string): OptionSpec[] {
  return [
    opt('src-type', 'choice-list', `Source address type${note}.`, { invert: true, params }),
    opt('dst-type', 'choice-list', `Destination address type${note}.`, { invert: true, params }),
    flag('limit-iface-in', 'Only consider addresses on the incoming interface.', { hooks: ['PREROUTING', 'INPUT', 'FORWARD'] }),
    flag('limit-iface-out', 'Only consider addresses on the outgoing interface.', { hooks: ['OUTPUT', 'FORWARD', 'POSTROUTING'] }),
  ];
}
const NAT_HOOKS_DST: Hook[] = ['PREROUTING', 'OUTPUT'];
const NAT_HOOKS_SRC: Hook[] = ['POSTROUTING', 'INPUT'];

/** Match modules, by name. */
export const MATCHES: readonly ExtensionSpec[] = [
  {
    name: 'addrtype', doc: 'Matches the routing type of the source and/or destination address (LOCAL, UNICAST, BROADCAST, …).',
    options: addrTypeOptions(ADDR_TYPE_PARAMS, ''),
    requireOneOf: [['src-type', 'dst-type']],
    conflicts: [['limit-iface-in', 'limit-iface-out']],
    // ip6tables reads every type, but the kernel's checkentry refuses the ones IPv6 routing has no
    // counterpart for (measured with both backends, source and destination, negated or not).
    variants: { ipv6: { options: addrTypeOptions(ADDR_TYPE_PARAMS_V6, ' (IPv6: UNSPEC, UNICAST, LOCAL, ANYCAST, MULTICAST, UNREACHABLE)') } },
  },
  {
    name: 'ah', doc: 'Matches the SPI of IPsec AH headers.', options: [opt('ahspi', 'uint-range', 'AH SPI or range.', { invert: true, params: SPI })], protocols: ['ah', '51'],
    // ip6tables' ah match reads the AH extension header wherever it is: no -p ah (measured).
    variants: {
      ipv6: {
        protocols: undefined,
        options: [opt('ahspi', 'uint-range', 'AH SPI or range.', { invert: true, params: SPI }), opt('ahlen', 'uint', 'Header length.', { invert: true }), flag('ahres', 'The reserved field is zero.')],
      },
    },
  },
  { name: 'ipcomp', doc: 'Matches the CPI of IPComp packets.', protocols: ['ipcomp', '108'], options: [opt('ipcompspi', 'uint-range', 'CPI or range.', { invert: true, params: SPI }), flag('compres', 'The reserved field is zero.')], requireOneOf: [['ipcompspi']] },
  { name: 'esp', doc: 'Matches the SPI of IPsec ESP packets.', options: [opt('espspi', 'uint-range', 'ESP SPI or range.', { invert: true, params: SPI })], protocols: ['esp', '50'] },
  {
    name: 'bpf', doc: 'Matches with a BPF program.',
    options: [opt('bytecode', 'bpf-bytecode', 'BPF bytecode as "n,c t f k,…".'), opt('object-pinned', 'string', 'Path of a pinned eBPF object.')],
    requireOneOf: [['bytecode', 'object-pinned']],
  },
  // The socket's cgroup is known for local traffic only (measured: refused in PREROUTING and FORWARD).
  // libxt_cgroup takes --path and --cgroup together, but the kernel's checkentry refuses a rule
  // with both (measured with both backends: "line N failed").
  { name: 'cgroup', doc: 'Matches the control group of the local socket.', hooks: ['INPUT', 'OUTPUT', 'POSTROUTING'], options: [opt('cgroup', 'uint', 'net_cls class id.', { invert: true }), opt('path', 'string', 'cgroup v2 path, relative to the cgroup2 root; the kernel looks it up when the rule is loaded and refuses a path that does not exist on that machine (an empty path is the root).', { invert: true })], requireOneOf: [['cgroup', 'path']], conflicts: [['cgroup', 'path', 'a rule matches either a cgroup v1 class id or a cgroup v2 path; the kernel refuses the rule']] },
  {
    name: 'cluster', doc: 'Distributes connections among cluster nodes by hash.',
    options: [
      opt('cluster-total-nodes', 'uint', 'Number of nodes.', { params: u(32, 1) }),
      opt('cluster-local-node', 'uint', 'This node id.', { invert: true, params: u(32, 1) }),
      opt('cluster-local-nodemask', 'uint', 'Mask of local node ids (1 to 32, within the total).', { invert: true, params: u(32, 1) }),
      opt('cluster-hash-seed', 'uint', 'Hash seed.'),
    ],
    requireOneOf: [['cluster-total-nodes'], ['cluster-local-node', 'cluster-local-nodemask'], ['cluster-hash-seed']],
  },
  { name: 'comment', doc: 'Attaches a comment (at most 255 characters) to the rule; always matches.', options: [opt('comment', 'string', 'The comment text.', { params: { truncatesAt: 255 } })], requireOneOf: [['comment']] },
  {
    name: 'connbytes', doc: 'Matches by the number of bytes or packets a connection has transferred.',
    options: [
      opt('connbytes', 'uint-range', 'Range FROM:TO.', { invert: true, params: { u64: true } }),
      opt('connbytes-dir', 'choice', 'Direction.', { params: oneOf('original', 'reply', 'both') }),
      opt('connbytes-mode', 'choice', 'Unit.', { params: oneOf('packets', 'bytes', 'avgpkt') }),
    ],
    requireOneOf: [['connbytes'], ['connbytes-dir'], ['connbytes-mode']],
  },
  { name: 'connlabel', doc: 'Matches conntrack labels.', options: [opt('label', 'connlabel', 'Label bit (0 to 127) or name from connlabel.conf.', { invert: true }), flag('set', 'Set the label if absent.')], requireOneOf: [['label']] },
  {
    name: 'connlimit', doc: 'Limits the number of parallel connections per client address or network.',
    options: [
      opt('connlimit-upto', 'uint', 'Match if at most N connections.', { invert: true }),
      opt('connlimit-above', 'uint', 'Match if more than N connections.', { invert: true }),
      opt('connlimit-mask', 'uint', 'Group hosts by this prefix length.', { params: u(128) }),
      flag('connlimit-saddr', 'Count by source address (default).'),
      flag('connlimit-daddr', 'Count by destination address.'),
    ],
    requireOneOf: [['connlimit-upto', 'connlimit-above']],
    conflicts: [['connlimit-upto', 'connlimit-above'], ['connlimit-saddr', 'connlimit-daddr']],
  },
  { name: 'connmark', doc: 'Matches the connection mark.', options: [opt('mark', 'mark', 'VALUE[/MASK].', { invert: true })], requireOneOf: [['mark']] },
  {
    name: 'conntrack', doc: 'Matches connection tracking state and the original/reply tuples.',
    options: [
      opt('ctstate', 'choice-list', 'Connection states.', { invert: true, params: CT_STATE_PARAMS }),
      opt('ctproto', 'protocol', 'Layer-4 protocol of the connection.', { invert: true }),
      opt('ctorigsrc', 'xt-address', 'Original source address.', { invert: true }),
      opt('ctorigdst', 'xt-address', 'Original destination address.', { invert: true }),
      opt('ctreplsrc', 'xt-address', 'Reply source address.', { invert: true }),
      opt('ctrepldst', 'xt-address', 'Reply destination address.', { invert: true }),
      opt('ctorigsrcport', 'port-range-xt', 'Original source port.', { invert: true }),
      opt('ctorigdstport', 'port-range-xt', 'Original destination port.', { invert: true }),
      opt('ctreplsrcport', 'port-range-xt', 'Reply source port.', { invert: true }),
      opt('ctrepldstport', 'port-range-xt', 'Reply destination port.', { invert: true }),
      opt('ctstatus', 'choice-list', 'Connection status bits.', { invert: true, params: { choices: ['NONE', 'EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'], ignoreCase: true, prefixes: true } }),
      opt('ctexpire', 'uint-range', 'Remaining lifetime in seconds.', { invert: true, params: { min: 0, max: 0xffffffff, reversedAccepted: true } }),
      opt('ctdir', 'choice', 'Packet direction (any case).', { params: { ...oneOf('ORIGINAL', 'REPLY'), ignoreCase: true } }),
    ],
    requireOneOf: [['ctstate', 'ctproto', 'ctorigsrc', 'ctorigdst', 'ctreplsrc', 'ctrepldst', 'ctorigsrcport', 'ctorigdstport', 'ctreplsrcport', 'ctrepldstport', 'ctstatus', 'ctexpire', 'ctdir']],
  },
  { name: 'cpu', doc: 'Matches the CPU handling the packet.', options: [opt('cpu', 'uint', 'CPU number.', { invert: true })], requireOneOf: [['cpu']] },
  {
    name: 'dccp', doc: 'Matches DCCP ports, packet types and options.', protocols: ['dccp', '33'],
    options: [
      opt('source-port', 'port-range-xt', 'Source port or range.', { invert: true, aliases: ['sport'] }),
      opt('destination-port', 'port-range-xt', 'Destination port or range.', { invert: true, aliases: ['dport'] }),
      opt('dccp-types', 'choice-list', 'DCCP packet types.', { invert: true, params: { choices: ['REQUEST', 'RESPONSE', 'DATA', 'ACK', 'DATAACK', 'CLOSEREQ', 'CLOSE', 'RESET', 'SYNC', 'SYNCACK', 'INVALID'], ignoreCase: true } }),
      opt('dccp-option', 'uint', 'DCCP option number.', { invert: true, params: u(255) }),
    ],
  },
  {
    name: 'devgroup', doc: 'Matches the device group of the in/out interface.',
    options: [
      opt('src-group', 'mark', 'Input device group (PREROUTING, INPUT, FORWARD), a number or a name from /etc/iproute2/group.', { invert: true, hooks: ['PREROUTING', 'INPUT', 'FORWARD'], params: DEVICE_GROUPS }),
      opt('dst-group', 'mark', 'Output device group (FORWARD, OUTPUT, POSTROUTING), a number or a name from /etc/iproute2/group.', { invert: true, hooks: ['FORWARD', 'OUTPUT', 'POSTROUTING'], params: DEVICE_GROUPS }),
    ],
    requireOneOf: [['src-group', 'dst-group']],
  },
  {
    name: 'dscp', doc: 'Matches the DSCP field.',
    options: [opt('dscp', 'uint', 'DSCP value 0-63.', { invert: true, params: u(63) }), opt('dscp-class', 'dscp-class', 'DSCP class name.', { invert: true })],
    requireOneOf: [['dscp', 'dscp-class']], conflicts: [['dscp', 'dscp-class']],
  },
  {
    name: 'ecn', doc: 'Matches ECN bits.',
    // The TCP bits are only read from TCP packets: the kernel refuses them without -p tcp.
    options: [flag('ecn-tcp-cwr', 'TCP CWR bit.', { invert: true, protocols: TCP }), flag('ecn-tcp-ece', 'TCP ECE bit.', { invert: true, protocols: TCP }), opt('ecn-ip-ect', 'uint', 'IP ECT codepoint 0-3.', { invert: true, params: u(3) })],
    requireOneOf: [['ecn-tcp-cwr', 'ecn-tcp-ece', 'ecn-ip-ect']],
  },
  {
    name: 'hashlimit', doc: 'Rate limiting per hash bucket (per source/destination address or port).',
    options: [
      opt('hashlimit-upto', 'hashlimit-rate', 'Match if the rate is below this.', { aliases: ['hashlimit'], invert: true }),
      opt('hashlimit-above', 'hashlimit-rate', 'Match if the rate is above this.', { invert: true }),
      opt('hashlimit-burst', 'hashlimit-burst', 'Burst size: packets (1 to 1000000), or bytes with a byte rate (64kb).'),
      opt('hashlimit-mode', 'choice-list', 'What to hash on.', { params: { choices: ['srcip', 'srcport', 'dstip', 'dstport'] } }),
      opt('hashlimit-srcmask', 'prefix-len', 'Source prefix length.'),
      opt('hashlimit-dstmask', 'prefix-len', 'Destination prefix length.'),
      opt('hashlimit-name', 'string', 'Name of the hash table (/proc/net/ipt_hashlimit/NAME).', { params: { minLength: 1, truncatesAt: 254 } }),
      opt('hashlimit-htable-size', 'uint', 'Number of buckets.'),
      opt('hashlimit-htable-max', 'uint', 'Maximum entries.'),
      opt('hashlimit-htable-expire', 'uint', 'Entry expiry in ms (at least 1).', { params: u(0xffffffff, 1) }),
      opt('hashlimit-htable-gcinterval', 'uint', 'Garbage collection interval in ms (at least 1).', { params: u(0xffffffff, 1) }),
      opt('hashlimit-rate-match', 'any', 'Match on the rate.', { args: [] }),
      opt('hashlimit-rate-interval', 'uint', 'Rate sampling interval in seconds (at least 1).', { params: u(0xffffffff, 1) }),
    ],
    requireOneOf: [['hashlimit-upto', 'hashlimit-above'], ['hashlimit-name']],
    conflicts: [['hashlimit-upto', 'hashlimit-above']],
  },
  { name: 'helper', doc: 'Matches the conntrack helper of the connection (e.g. "ftp").', options: [opt('helper', 'string', 'Helper name, optionally "name-port".', { invert: true })], requireOneOf: [['helper']] },
  {
    name: 'icmp', doc: 'Matches the ICMP type and code.', family: 'ipv4', protocols: ['icmp', '1'],
    options: [opt('icmp-type', 'icmp-type', 'ICMP type[/code] or name.', { invert: true })],
    requireOneOf: [['icmp-type']],
  },
  {
    name: 'icmp6', aliases: ['icmpv6'], doc: 'Matches the ICMPv6 type and code.', family: 'ipv6', protocols: ['ipv6-icmp', 'icmpv6', '58'],
    options: [opt('icmpv6-type', 'icmpv6-type', 'ICMPv6 type[/code] or name.', { invert: true })],
    requireOneOf: [['icmpv6-type']],
  },
  {
    name: 'iprange', doc: 'Matches a range of source or destination addresses.',
    options: [opt('src-range', 'addr-range', 'FROM-TO source range.', { invert: true }), opt('dst-range', 'addr-range', 'FROM-TO destination range.', { invert: true })],
    requireOneOf: [['src-range', 'dst-range']],
  },
  {
    name: 'ipvs', doc: 'Matches IPVS connection properties.', unavailable: 'the kernel has no xt_ipvs module loadable in a network namespace here (RULE_APPEND fails: No such file or directory)',
    options: [
      flag('ipvs', 'Packet belongs to an IPVS connection.', { invert: true }),
      opt('vproto', 'protocol', 'VIP protocol.', { invert: true }), opt('vaddr', 'address', 'VIP address.', { invert: true }),
      opt('vport', 'port', 'VIP port.', { invert: true }), opt('vdir', 'choice', 'Direction.', { params: oneOf('ORIGINAL', 'REPLY') }),
      opt('vmethod', 'choice', 'Forwarding method.', { invert: true, params: oneOf('GATE', 'IPIP', 'MASQ') }), opt('vportctl', 'port', 'Control port.', { invert: true }),
    ],
  },
  { name: 'length', doc: 'Matches the layer-3 payload length.', options: [opt('length', 'uint-range', 'Length or range.', { invert: true, params: { min: 0, max: 65535, reversedAccepted: true } })], requireOneOf: [['length']] },
  {
    name: 'limit', doc: 'Matches at a limited average rate with bursts (token bucket).',
    options: [opt('limit', 'rate', 'Average rate, e.g. 3/hour.'), opt('limit-burst', 'uint', 'Burst size.', { params: u(10000, 1) })],
  },
  { name: 'mac', doc: 'Matches the source MAC address.', options: [opt('mac-source', 'mac', 'Source MAC address.', { invert: true })], requireOneOf: [['mac-source']], hooks: ['PREROUTING', 'INPUT', 'FORWARD'] },
  { name: 'mark', doc: 'Matches the packet mark (nfmark).', options: [opt('mark', 'mark', 'VALUE[/MASK].', { invert: true })], requireOneOf: [['mark']] },
  {
    name: 'multiport', doc: 'Matches up to 15 ports or port ranges.', protocols: PORT_PROTOS,
    options: [
      opt('source-ports', 'port-list', 'Source ports.', { invert: true, aliases: ['sports'] }),
      opt('destination-ports', 'port-list', 'Destination ports.', { invert: true, aliases: ['dports'] }),
      opt('ports', 'port-list', 'Source or destination ports.', { invert: true }),
    ],
    requireOneOf: [['source-ports', 'destination-ports', 'ports']],
    conflicts: [['source-ports', 'destination-ports'], ['source-ports', 'ports'], ['destination-ports', 'ports']],
  },
  { name: 'nfacct', doc: 'Counts into an nfacct object.', unavailable: 'the nfacct object must exist (nfacct add NAME) before the rules are loaded; the kernel rejects the rule otherwise', options: [opt('nfacct-name', 'string', 'Accounting object name.', { params: { minLength: 1, maxLength: 31 } })], requireOneOf: [['nfacct-name']] },
  // Passive OS fingerprinting of TCP SYNs; the kernel refuses it in OUTPUT (measured).
  {
    name: 'osf', doc: 'Matches the operating system of the sender by the fingerprint of its TCP SYN (fingerprints loaded with nfnl_osf).', family: 'ipv4', protocols: ['tcp', '6'], hooks: ['PREROUTING', 'INPUT', 'FORWARD'],
    options: [
      opt('genre', 'string', 'Operating system genre (e.g. Linux).', { invert: true }),
      opt('ttl', 'uint', 'TTL check: 0 same TTL, 1 TTL below the fingerprint\'s, 2 no TTL check.', { params: u(2) }),
      opt('log', 'uint', 'Log: 0 every match, 1 the first, 2 every fingerprint seen.', { params: u(2) }),
    ],
    requireOneOf: [['genre']],
  },
  {
    name: 'owner', doc: 'Matches the local socket owner (locally generated packets).', hooks: ['OUTPUT', 'POSTROUTING'],
    options: [
      opt('uid-owner', 'owner', 'User id, range or name.', { invert: true }),
      opt('gid-owner', 'owner', 'Group id, range or name.', { invert: true }),
      flag('suppl-groups', 'Also match supplementary groups.'),
      flag('socket-exists', 'Packet has a socket.', { invert: true }),
    ],
    requireOneOf: [['uid-owner', 'gid-owner', 'socket-exists']],
  },
  {
    name: 'physdev', doc: 'Matches the bridge ports a bridged packet enters or leaves by.',
    options: [
      opt('physdev-in', 'interface', 'Bridge port the packet entered by.', { invert: true }),
      opt('physdev-out', 'interface', 'Bridge port the packet will leave by.', { invert: true }),
      flag('physdev-is-in', 'Packet entered through a bridge port.', { invert: true }),
      flag('physdev-is-out', 'Packet will leave through a bridge port.', { invert: true }),
      flag('physdev-is-bridged', 'Packet is being bridged.', { invert: true }),
    ],
    requireOneOf: [['physdev-in', 'physdev-out', 'physdev-is-in', 'physdev-is-out', 'physdev-is-bridged']],
  },
  { name: 'pkttype', doc: 'Matches the link-layer packet type.', options: [opt('pkt-type', 'choice', 'unicast, broadcast or multicast.', { invert: true, params: { choices: ['unicast', 'broadcast', 'multicast', 'host', 'otherhost', 'outgoing', 'loopback'], ignoreCase: true } })], requireOneOf: [['pkt-type']] },
  {
    name: 'policy', doc: 'Matches the IPsec policy used to handle the packet.',
    options: [
      opt('dir', 'choice', 'in or out.', { params: oneOf('in', 'out') }),
      opt('pol', 'choice', 'none or ipsec.', { params: oneOf('none', 'ipsec') }),
      flag('strict', 'Match the exact policy.'), opt('reqid', 'uint', 'Request id.', { invert: true, multi: true }),
      // --proto also takes the protocol numbers of ah, esp and ipcomp (measured: `--proto 50` is esp).
      opt('spi', 'uint', 'SPI.', { invert: true, multi: true }), opt('proto', 'choice', 'ah, esp or ipcomp (or 51, 50, 108).', { invert: true, multi: true, params: oneOf('ah', 'esp', 'ipcomp', '51', '50', '108') }),
      opt('mode', 'choice', 'tunnel or transport.', { invert: true, multi: true, params: oneOf('tunnel', 'transport') }),
      opt('tunnel-src', 'xt-address', 'Tunnel source.', { invert: true, multi: true }), opt('tunnel-dst', 'xt-address', 'Tunnel destination.', { invert: true, multi: true }),
      flag('next', 'Start the next element of a strict policy.', { multi: true }),
    ],
    // --pol may be left out (ipsec); --next separates the elements of a --strict policy.
    requireOneOf: [['dir']],
    requires: [['next', 'strict']],
  },
  { name: 'quota', doc: 'Matches until a byte quota is used up.', options: [opt('quota', 'uint', 'Bytes.', { invert: true, params: { u64: true } })], requireOneOf: [['quota']] },
  {
    name: 'rateest', doc: 'Matches on rate estimators created by the RATEEST target.', unavailable: 'the named rate estimator must already exist (created by a RATEEST rule); the kernel rejects the rule otherwise',
    options: [
      opt('rateest', 'string', 'Estimator name.'), opt('rateest1', 'string', 'First estimator.'), opt('rateest2', 'string', 'Second estimator.'),
      flag('rateest-delta', 'Compare against the delta.'), opt('rateest-bps', 'string', 'Bytes per second.', { invert: true }), opt('rateest-pps', 'string', 'Packets per second.', { invert: true }),
      opt('rateest-bps1', 'string', 'bps of estimator 1.'), opt('rateest-bps2', 'string', 'bps of estimator 2.'),
      opt('rateest-pps1', 'string', 'pps of estimator 1.'), opt('rateest-pps2', 'string', 'pps of estimator 2.'),
      flag('rateest-lt', 'Less than.', { invert: true }), flag('rateest-gt', 'Greater than.', { invert: true }), flag('rateest-eq', 'Equal.', { invert: true }),
    ],
  },
  // The routing realm is known once the packet is routed: not in PREROUTING (measured).
  { name: 'realm', doc: 'Matches the routing realm.', family: 'ipv4', hooks: ['INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'], options: [opt('realm', 'mark', 'VALUE[/MASK]; the value may be a name from /etc/iproute2/rt_realms.', { invert: true, params: { hostNames: { what: 'routing realm', file: '/etc/iproute2/rt_realms' } } })], requireOneOf: [['realm']] },
  {
    name: 'recent', doc: 'Keeps a list of recently seen addresses and matches against it.',
    options: [
      opt('name', 'string', 'List name (default DEFAULT).', { params: { minLength: 1, truncatesAt: 199 } }),
      flag('set', 'Add the address to the list.', { invert: true }), flag('rcheck', 'Check whether the address is in the list.', { invert: true }),
      flag('update', 'Like rcheck, and refresh the timestamp.', { invert: true }), flag('remove', 'Remove the address from the list.', { invert: true }),
      opt('seconds', 'uint', 'Only if seen within this many seconds (with --rcheck or --update).', { params: u(0xffffffff, 1) }), flag('reap', 'Purge entries older than --seconds.'),
      opt('hitcount', 'uint', 'Only if seen at least this many times (with --rcheck or --update).', { params: u(65535) }), flag('rttl', 'Also match the TTL (with --rcheck or --update).'),
      opt('mask', 'address', 'Netmask applied to the address.'), flag('rsource', 'Use the source address (default).'), flag('rdest', 'Use the destination address.'),
    ],
    requires: [['reap', 'seconds']],
    requireOneOf: [['set', 'rcheck', 'update', 'remove']],
    // --seconds and --rttl only make sense when checking: iptables refuses --rttl with --set or
    // --remove, the kernel --seconds (and a non-zero --hitcount, see validate.ts). --rsource and
    // --rdest may both be given: the last one counts.
    conflicts: [['set', 'rcheck'], ['set', 'update'], ['set', 'remove'], ['rcheck', 'update'], ['rcheck', 'remove'], ['update', 'remove'], ['set', 'seconds'], ['remove', 'seconds'], ['set', 'rttl'], ['remove', 'rttl']],
  },
  {
    name: 'rpfilter', doc: 'Reverse-path filter: matches if the reply would leave by the incoming interface.', tables: ['raw', 'mangle'], hooks: ['PREROUTING'],
    options: [flag('loose', 'Allow any route back.'), flag('validmark', 'Use the packet mark for the lookup.'), flag('accept-local', 'Accept local addresses.'), flag('invert', 'Invert the result.')],
  },
  {
    name: 'sctp', doc: 'Matches SCTP ports and chunk types.', protocols: ['sctp', '132'],
    options: [
      opt('source-port', 'port-range', 'Source port or range.', { invert: true, aliases: ['sport'] }),
      opt('destination-port', 'port-range', 'Destination port or range.', { invert: true, aliases: ['dport'] }),
      { name: 'chunk-types', args: [{ kind: 'choice', params: { ...oneOf('all', 'any', 'only'), ignoreCase: true } }, { kind: 'sctp-chunks' }], invert: true, doc: 'Chunk types: all|any|only (any case) TYPE[:FLAGS],…' },
    ],
  },
  {
    name: 'set', doc: 'Matches against an ipset (the set must exist when the rule is loaded).',
    options: [
      { name: 'match-set', aliases: ['set'], args: [{ kind: 'set-name', label: 'setname' }, { kind: 'set-flags', label: 'src|dst,…' }], invert: true, doc: 'Set name and direction flags.' },
      flag('return-nomatch', 'Return nomatch elements as matches.'), flag('update-counters', 'Update counters.', { invert: true }),
      flag('update-subcounters', 'Update subcounters.', { invert: true }),
      // 64-bit counters; one comparison each for packets and for bytes.
      opt('packets-eq', 'uint', 'Packet counter equals.', { invert: true, params: { u64: true } }), opt('packets-lt', 'uint', 'Packet counter below.', { params: { u64: true } }), opt('packets-gt', 'uint', 'Packet counter above.', { params: { u64: true } }),
      opt('bytes-eq', 'uint', 'Byte counter equals.', { invert: true, params: { u64: true } }), opt('bytes-lt', 'uint', 'Byte counter below.', { params: { u64: true } }), opt('bytes-gt', 'uint', 'Byte counter above.', { params: { u64: true } }),
    ],
    requireOneOf: [['match-set']],
    conflicts: [...exclusive('packets-eq', 'packets-lt', 'packets-gt'), ...exclusive('bytes-eq', 'bytes-lt', 'bytes-gt')],
  },
  {
    name: 'socket', doc: 'Matches packets that belong to a local socket.', hooks: ['PREROUTING', 'INPUT'],
    options: [flag('transparent', 'Only transparent sockets.'), flag('nowildcard', 'Ignore sockets bound to any address.'), flag('restore-skmark', 'Restore the socket mark.')],
  },
  {
    name: 'state', doc: 'Matches the connection tracking state (a subset of conntrack --ctstate).',
    options: [opt('state', 'choice-list', 'Comma-separated states.', { invert: true, params: STATE_PARAMS })],
    requireOneOf: [['state']],
  },
  {
    name: 'statistic', doc: 'Matches a random or every n-th packet.',
    options: [
      opt('mode', 'choice', 'random or nth.', { params: oneOf('random', 'nth') }),
      opt('probability', 'probability', 'Probability 0-1 (random mode).', { invert: true }),
      opt('every', 'uint', 'Every n-th packet (nth mode).', { invert: true, params: u(0xffffffff, 1) }),
      opt('packet', 'uint', 'Initial counter (nth mode), below --every.'),
    ],
    requireOneOf: [['mode']],
    requires: [['every', 'packet']],
    // The mode decides which options apply (validate.ts checks that the mode's own are given).
    conflicts: [['probability', 'every'], ['probability', 'packet']],
  },
  {
    name: 'string', doc: 'Matches a string or hex pattern in the packet.',
    options: [
      opt('algo', 'choice', 'bm or kmp.', { params: oneOf('bm', 'kmp') }), opt('from', 'uint', 'Start offset (0 to 65535).', { params: u(65535) }), opt('to', 'uint', 'End offset (0 to 65535).', { params: u(65535) }),
      opt('string', 'string', 'Pattern.', { invert: true, params: { minLength: 1, maxLength: 128 } }),
      opt('hex-string', 'hex', 'Pattern in |hex|.', { invert: true }), flag('icase', 'Ignore case.'),
    ],
    requireOneOf: [['algo'], ['string', 'hex-string']],
    conflicts: [['string', 'hex-string']],
  },
  {
    name: 'tcp', doc: 'Matches TCP ports, flags and options.', protocols: ['tcp', '6'],
    options: [
      opt('source-port', 'port-range', 'Source port or range.', { invert: true, aliases: ['sport'] }),
      opt('destination-port', 'port-range', 'Destination port or range.', { invert: true, aliases: ['dport'] }),
      { name: 'tcp-flags', args: [{ kind: 'tcp-flag-list', label: 'mask' }, { kind: 'tcp-flag-list', label: 'comp' }], invert: true, doc: 'Examine the flags in MASK; those in COMP must be set.' },
      flag('syn', 'SYN set, ACK, RST and FIN clear (a connection request).', { invert: true }),
      opt('tcp-option', 'uint', 'TCP option number.', { invert: true, params: u(255, 1) }),
    ],
    conflicts: [['syn', 'tcp-flags']],
  },
  { name: 'tcpmss', doc: 'Matches the TCP MSS option of SYN packets.', protocols: ['tcp', '6'], options: [opt('mss', 'uint-range', 'MSS value or range.', { invert: true, params: u(65535) })], requireOneOf: [['mss']] },
  {
    name: 'time', doc: 'Matches the time of day, weekdays, monthdays or a date range.',
    options: [
      opt('datestart', 'datetime', 'Start date.'), opt('datestop', 'datetime', 'Stop date.'),
      opt('timestart', 'time-of-day', 'Start time hh:mm[:ss].'), opt('timestop', 'time-of-day', 'Stop time hh:mm[:ss].'),
      opt('monthdays', 'monthdays', 'Days of the month.', { invert: true }), opt('weekdays', 'weekdays', 'Days of the week.', { invert: true }),
      flag('kerneltz', 'Use the kernel time zone.'), flag('localtz', 'Use local time (deprecated).'), flag('utc', 'Use UTC (default).'),
      flag('contiguous', 'Treat timestart > timestop as one range across midnight.'),
    ],
    conflicts: [['utc', 'kerneltz'], ['utc', 'localtz']],
  },
  { name: 'tos', doc: 'Matches the IPv4 TOS field.', options: [opt('tos', 'tos', 'VALUE[/MASK] or a symbolic name.', { invert: true })], requireOneOf: [['tos']] },
  { name: 'ttl', doc: 'Matches the IPv4 TTL.', family: 'ipv4', options: [opt('ttl-eq', 'uint', 'TTL equals.', { invert: true, params: u(255) }), opt('ttl-lt', 'uint', 'TTL below.', { params: u(255) }), opt('ttl-gt', 'uint', 'TTL above.', { params: u(255) })], requireOneOf: [['ttl-eq', 'ttl-lt', 'ttl-gt']], conflicts: [['ttl-eq', 'ttl-lt'], ['ttl-eq', 'ttl-gt'], ['ttl-lt', 'ttl-gt']] },
  { name: 'hl', doc: 'Matches the IPv6 hop limit.', family: 'ipv6', options: [opt('hl-eq', 'uint', 'Hop limit equals.', { invert: true, params: u(255) }), opt('hl-lt', 'uint', 'Below.', { params: u(255) }), opt('hl-gt', 'uint', 'Above.', { params: u(255) })], requireOneOf: [['hl-eq', 'hl-lt', 'hl-gt']], conflicts: [['hl-eq', 'hl-lt'], ['hl-eq', 'hl-gt'], ['hl-lt', 'hl-gt']] },
  { name: 'u32', doc: 'Matches arbitrary 32-bit words of the packet.', options: [opt('u32', 'u32', 'u32 test expression.', { invert: true })], requireOneOf: [['u32']] },
  {
    name: 'udp', doc: 'Matches UDP ports.', protocols: ['udp', '17'],
    options: [
      opt('source-port', 'port-range-xt', 'Source port or range.', { invert: true, aliases: ['sport'] }),
      opt('destination-port', 'port-range-xt', 'Destination port or range.', { invert: true, aliases: ['dport'] }),
    ],
  },
  { name: 'udplite', doc: 'Matches UDP-Lite (no options).', protocols: ['udplite', '136'], options: [] },
  // IPv6 extension-header matches.
  { name: 'frag', doc: 'Matches IPv6 fragment headers.', family: 'ipv6', options: [opt('fragid', 'uint-range', 'Fragment id.', { invert: true, params: { reversedAccepted: true } }), opt('fraglen', 'uint', 'Length.', { invert: true }), flag('fragres', 'Reserved fields.'), flag('fragfirst', 'First fragment.'), flag('fragmore', 'More fragments.'), flag('fraglast', 'Last fragment.')], conflicts: [['fragmore', 'fraglast']] },
  { name: 'hbh', doc: 'Matches the IPv6 hop-by-hop header.', family: 'ipv6', options: [opt('hbh-len', 'uint', 'Length.', { invert: true }), opt('hbh-opts', 'ip6-opts', 'Options: up to 16 TYPE[:LENGTH].')] },
  { name: 'dst', doc: 'Matches the IPv6 destination options header.', family: 'ipv6', options: [opt('dst-len', 'uint', 'Length.', { invert: true }), opt('dst-opts', 'ip6-opts', 'Options: up to 16 TYPE[:LENGTH].')] },
  { name: 'rt', doc: 'Matches the IPv6 routing header.', family: 'ipv6', options: [opt('rt-type', 'uint', 'Type.', { invert: true }), opt('rt-segsleft', 'uint-range', 'Segments left.', { invert: true, params: { reversedAccepted: true } }), opt('rt-len', 'uint', 'Length.', { invert: true }), flag('rt-0-res', 'Reserved field.'), opt('rt-0-addrs', 'string', 'Addresses.'), flag('rt-0-not-strict', 'Not strict.')] },
  { name: 'mh', doc: 'Matches the IPv6 mobility header type.', family: 'ipv6', protocols: ['mh', 'ipv6-mh', '135'], options: [opt('mh-type', 'mh-type', 'Type or range (names such as binding-update, bu, or 0 to 255).', { invert: true })] },
  { name: 'ipv6header', doc: 'Matches IPv6 extension headers present.', family: 'ipv6', options: [opt('header', 'ipv6-headers', 'Header list.', { invert: true }), flag('soft', 'Match if any is present.')], requireOneOf: [['header']] },
  {
    name: 'srh', doc: 'Matches the IPv6 segment routing header.', family: 'ipv6',
    options: [
      opt('srh-next-hdr', 'uint', 'Next header.', { invert: true, params: u(255) }),
      ...['hdr-len', 'segs-left', 'last-entry'].flatMap((f) => ['eq', 'gt', 'lt'].map((c) => opt(`srh-${f}-${c}`, 'uint', `${f} ${c === 'eq' ? 'equals' : c === 'gt' ? 'above' : 'below'}.`, { invert: true, params: u(255) }))),
      opt('srh-tag', 'uint', 'Tag.', { invert: true, params: u(65535) }),
      opt('srh-psid', 'address', 'Previous segment (address[/prefix]).', { invert: true }),
      opt('srh-nsid', 'address', 'Next segment (address[/prefix]).', { invert: true }),
      opt('srh-lsid', 'address', 'Last segment (address[/prefix]).', { invert: true }),
    ],
  },
  { name: 'eui64', doc: 'Matches the EUI-64 part of a link-local source address.', family: 'ipv6', options: [], hooks: ['PREROUTING', 'INPUT', 'FORWARD'] },
];

/** The verdicts that are not extensions. */
export const STANDARD_TARGETS = ['ACCEPT', 'DROP', 'RETURN', 'QUEUE'] as const;

/** Target extensions, by name. */
export const TARGETS: readonly ExtensionSpec[] = [
  { name: 'AUDIT', doc: 'Creates an audit record.', terminating: false, options: [opt('type', 'choice', 'accept, drop or reject (any case).', { params: { ...oneOf('accept', 'drop', 'reject'), ignoreCase: true } })], requireOneOf: [['type']] },
  { name: 'CHECKSUM', doc: 'Fills in a missing checksum (mangle).', terminating: false, tables: ['mangle'], options: [flag('checksum-fill', 'Compute the checksum.')], requireOneOf: [['checksum-fill']] },
  // Any table, in the hooks where packets leave (measured: filter, nat and raw accept it there).
  { name: 'CLASSIFY', doc: 'Sets the skb priority (tc class).', terminating: false, hooks: ['FORWARD', 'OUTPUT', 'POSTROUTING'], options: [opt('set-class', 'string', 'MAJOR:MINOR.')], requireOneOf: [['set-class']] },
  {
    name: 'CONNMARK', doc: 'Sets, saves or restores the connection mark.', terminating: false,
    options: [
      opt('set-xmark', 'mark', 'value[/ctmask]: zero ctmask bits, then XOR value.'), opt('set-mark', 'mark', 'value[/mask].'),
      // One number each, no /mask (measured: `--and-mark 0x1/0x2` is refused).
      opt('and-mark', 'uint', 'AND the ctmark.'), opt('or-mark', 'uint', 'OR the ctmark.'), opt('xor-mark', 'uint', 'XOR the ctmark.'),
      flag('save-mark', 'Copy the packet mark to the ctmark.'), flag('restore-mark', 'Copy the ctmark to the packet mark.'),
      opt('nfmask', 'uint', 'Mask for the nfmark.'), opt('ctmask', 'uint', 'Mask for the ctmark.'), opt('mask', 'uint', 'Mask for both.'),
    ],
    requireOneOf: [['set-xmark', 'set-mark', 'and-mark', 'or-mark', 'xor-mark', 'save-mark', 'restore-mark']],
    // One operation per rule (measured: any two are refused); the masks go with save and restore.
    conflicts: exclusive('set-xmark', 'set-mark', 'and-mark', 'or-mark', 'xor-mark', 'save-mark', 'restore-mark'),
  },
  { name: 'CONNSECMARK', doc: 'Copies security marks between packets and connections.', terminating: false, tables: ['mangle', 'security'], options: [flag('save', 'Save the packet secmark.'), flag('restore', 'Restore it.')], requireOneOf: [['save', 'restore']], conflicts: [['save', 'restore']] },
  {
    name: 'CT', doc: 'Sets conntrack parameters for the packet (raw table): zone, helper, notrack, timeout.', terminating: false, tables: ['raw'],
    options: [
      flag('notrack', 'Do not track the packet.'), opt('helper', 'string', 'Helper name.'),
      opt('ctevents', 'choice-list', 'Events to generate.', { params: { choices: ['new', 'related', 'destroy', 'reply', 'assured', 'protoinfo', 'helper', 'mark', 'natseqinfo', 'secmark'] } }),
      opt('expevents', 'choice-list', 'Expectation events.', { params: { choices: ['new'] } }), opt('zone-orig', 'ct-zone', 'Zone for the original direction.'), opt('zone-reply', 'ct-zone', 'Zone for the reply direction.'),
      opt('zone', 'ct-zone', 'Conntrack zone id.'), opt('timeout', 'string', 'Timeout policy name.'),
    ],
  },
  { name: 'NOTRACK', doc: 'Disables connection tracking for the packet (raw table).', terminating: false, tables: ['raw'], options: [] },
  {
    name: 'DNAT', doc: 'Rewrites the destination address (and port) of a new connection.', terminating: true, tables: ['nat'], hooks: NAT_HOOKS_DST,
    options: [opt('to-destination', 'nat-range', 'ADDR[-ADDR][:PORT[-PORT]].', { multi: false }), flag('random', 'Randomise the port.'), flag('persistent', 'Same mapping per client.')],
    requireOneOf: [['to-destination']],
  },
  {
    name: 'SNAT', doc: 'Rewrites the source address (and port) of a new connection.', terminating: true, tables: ['nat'], hooks: NAT_HOOKS_SRC,
    options: [opt('to-source', 'nat-range', 'ADDR[-ADDR][:PORT[-PORT]].'), flag('random', 'Randomise the port.'), flag('random-fully', 'Fully randomise the port.'), flag('persistent', 'Same mapping per client.')],
    requireOneOf: [['to-source']],
  },
  {
    name: 'MASQUERADE', doc: 'Source NAT to the address of the outgoing interface.', terminating: true, tables: ['nat'], hooks: ['POSTROUTING'],
    options: [opt('to-ports', 'to-ports', 'Source port range.'), flag('random', 'Randomise the port.'), flag('random-fully', 'Fully randomise the port.')],
  },
  {
    name: 'REDIRECT', doc: 'Redirects the packet to the local machine (destination NAT to a local address).', terminating: true, tables: ['nat'], hooks: NAT_HOOKS_DST,
    options: [opt('to-ports', 'to-ports', 'Destination port range.'), flag('random', 'Randomise the port.')],
  },
  // NPTv6 (RFC 6296): checksum-neutral prefix translation, ip6tables mangle only (measured: DNPT
  // in PREROUTING and OUTPUT, SNPT in INPUT and POSTROUTING).
  {
    name: 'DNPT', doc: 'Translates the destination address prefix (NPTv6, RFC 6296) and continues.', family: 'ipv6', terminating: false, tables: ['mangle'], hooks: ['PREROUTING', 'OUTPUT'],
    options: [opt('src-pfx', 'npt-prefix', 'Prefix to translate from (at most /64).'), opt('dst-pfx', 'npt-prefix', 'Prefix to translate to (at most /64).')],
    requireOneOf: [['src-pfx'], ['dst-pfx']],
  },
  {
    name: 'SNPT', doc: 'Translates the source address prefix (NPTv6, RFC 6296) and continues.', family: 'ipv6', terminating: false, tables: ['mangle'], hooks: ['INPUT', 'POSTROUTING'],
    options: [opt('src-pfx', 'npt-prefix', 'Prefix to translate from (at most /64).'), opt('dst-pfx', 'npt-prefix', 'Prefix to translate to (at most /64).')],
    requireOneOf: [['src-pfx'], ['dst-pfx']],
  },
  { name: 'NETMAP', doc: 'Maps a whole network onto another, 1:1.', terminating: true, tables: ['nat'], options: [opt('to', 'netmap-address', 'Network to map to.')], requireOneOf: [['to']] },
  {
    name: 'TCPOPTSTRIP', doc: 'Removes TCP options from TCP packets (mangle, -p tcp).', terminating: false, tables: ['mangle'], protocols: ['tcp', '6'],
    options: [opt('strip-options', 'tcp-option-list', 'Options to remove: wscale, mss, sack-permitted, sack, timestamp, md5, or numbers.')],
  },
  {
    name: 'ECN', doc: 'Rewrites ECN bits: clears the TCP ECE/CWR flags or sets the IP ECT codepoint (TCP operations need -p tcp).', family: 'ipv4', terminating: false, tables: ['mangle'],
    options: [
      // The TCP operations rewrite TCP flags: the kernel refuses them without -p tcp.
      flag('ecn-tcp-remove', 'Clear the ECE and CWR flags of TCP packets.', { protocols: TCP }),
      opt('ecn-tcp-cwr', 'uint', 'Set (1) or clear (0) the TCP CWR flag.', { params: u(1), protocols: TCP }),
      opt('ecn-tcp-ece', 'uint', 'Set (1) or clear (0) the TCP ECE flag.', { params: u(1), protocols: TCP }),
      opt('ecn-ip-ect', 'uint', 'Set the IP ECT codepoint (0 to 3).', { params: u(3) }),
    ],
    requireOneOf: [['ecn-tcp-remove', 'ecn-tcp-cwr', 'ecn-tcp-ece', 'ecn-ip-ect']],
  },
  {
    name: 'DSCP', doc: 'Sets the DSCP field.', terminating: false, tables: ['mangle'],
    options: [opt('set-dscp', 'uint', 'DSCP 0-63.', { params: u(63) }), opt('set-dscp-class', 'dscp-class', 'DSCP class.')],
    requireOneOf: [['set-dscp', 'set-dscp-class']], conflicts: [['set-dscp', 'set-dscp-class']],
  },
  {
    name: 'TOS', doc: 'Sets the IPv4 TOS field.', terminating: false, tables: ['mangle'],
    options: [opt('set-tos', 'tos', 'value[/mask].'), opt('and-tos', 'uint', 'AND.', { params: u(255) }), opt('or-tos', 'uint', 'OR.', { params: u(255) }), opt('xor-tos', 'uint', 'XOR.', { params: u(255) })],
    requireOneOf: [['set-tos', 'and-tos', 'or-tos', 'xor-tos']],
    conflicts: exclusive('set-tos', 'and-tos', 'or-tos', 'xor-tos'),
  },
  { name: 'TTL', doc: 'Sets the IPv4 TTL.', family: 'ipv4', terminating: false, tables: ['mangle'], options: [opt('ttl-set', 'uint', 'Set.', { params: u(255) }), opt('ttl-dec', 'uint', 'Decrement (1 to 255).', { params: u(255, 1) }), opt('ttl-inc', 'uint', 'Increment (1 to 255).', { params: u(255, 1) })], requireOneOf: [['ttl-set', 'ttl-dec', 'ttl-inc']], conflicts: exclusive('ttl-set', 'ttl-dec', 'ttl-inc') },
  { name: 'HL', doc: 'Sets the IPv6 hop limit.', family: 'ipv6', terminating: false, tables: ['mangle'], options: [opt('hl-set', 'uint', 'Set.', { params: u(255) }), opt('hl-dec', 'uint', 'Decrement (1 to 255).', { params: u(255, 1) }), opt('hl-inc', 'uint', 'Increment (1 to 255).', { params: u(255, 1) })], requireOneOf: [['hl-set', 'hl-dec', 'hl-inc']], conflicts: exclusive('hl-set', 'hl-dec', 'hl-inc') },
  { name: 'IDLETIMER', doc: 'Notifies userspace when no packet hit it for a time.', terminating: false, options: [opt('timeout', 'uint', 'Seconds (1 to 2147482: the kernel counts milliseconds in an int).', { params: u(2147482, 1) }), opt('label', 'string', 'Label (27 characters kept).', { params: { minLength: 1, truncatesAt: 27 } }), opt('alarm', 'any', 'Use an alarm timer.', { args: [] })], requireOneOf: [['timeout'], ['label']] },
  {
    name: 'LOG', doc: 'Logs the packet to the kernel log and continues.', terminating: false,
    options: [
      opt('log-level', 'log-level', 'Syslog level.'), opt('log-prefix', 'string', 'Prefix, at most 29 characters.', { params: { minLength: 1, truncatesAt: 29 } }),
      flag('log-tcp-sequence', 'Log TCP sequence numbers.'), flag('log-tcp-options', 'Log TCP options.'), flag('log-ip-options', 'Log IP options.'),
      flag('log-uid', 'Log the socket user id.'), flag('log-macdecode', 'Decode MAC addresses.'),
    ],
  },
  {
    name: 'NFLOG', doc: 'Sends the packet to nfnetlink_log and continues.', terminating: false,
    options: [
      opt('nflog-group', 'uint', 'Group 0-65535.', { params: u(65535) }), opt('nflog-prefix', 'string', 'Prefix (iptables-legacy keeps 63 characters).', { params: { truncatesAt: 63 } }),
      opt('nflog-range', 'uint', 'Bytes to copy (deprecated).'), opt('nflog-size', 'uint', 'Bytes to copy.'), opt('nflog-threshold', 'uint', 'Queue threshold (0: the default).', { params: u(65535) }),
    ],
    conflicts: [['nflog-range', 'nflog-size']],
  },
  { name: 'ULOG', doc: 'Removed from the kernel; use NFLOG.', terminating: false, unavailable: 'the ULOG target was removed from Linux 3.17; use NFLOG', options: [opt('ulog-nlgroup', 'uint', 'Group.'), opt('ulog-prefix', 'string', 'Prefix.'), opt('ulog-cprange', 'uint', 'Bytes.'), opt('ulog-qthreshold', 'uint', 'Threshold.')] },
  {
    name: 'MARK', doc: 'Sets the packet mark (nfmark) and continues.', terminating: false,
    options: [opt('set-xmark', 'mark', 'value[/mask]: zero mask bits, then XOR value.'), opt('set-mark', 'mark', 'value[/mask].'), opt('and-mark', 'uint', 'AND (one number, no /mask).'), opt('or-mark', 'uint', 'OR (one number).'), opt('xor-mark', 'uint', 'XOR (one number).')],
    requireOneOf: [['set-xmark', 'set-mark', 'and-mark', 'or-mark', 'xor-mark']],
    conflicts: exclusive('set-xmark', 'set-mark', 'and-mark', 'or-mark', 'xor-mark'),
  },
  {
    name: 'NFQUEUE', doc: 'Passes the packet to a userspace queue.', terminating: true,
    options: [opt('queue-num', 'uint', 'Queue number.', { params: u(65535) }), opt('queue-balance', 'queue-range', 'Range of queues, FIRST:LAST.'), flag('queue-bypass', 'Accept if no program listens.'), flag('queue-cpu-fanout', 'Spread over the queues by CPU id (with --queue-balance).'), flag('fail-open', 'Accept when the queue is full.')],
    conflicts: [['queue-num', 'queue-balance']],
    requires: [['queue-cpu-fanout', 'queue-balance']],
  },
  {
    name: 'REJECT', doc: 'Drops the packet and answers with an ICMP error or a TCP reset.', terminating: true, tables: ['filter'], hooks: ['INPUT', 'FORWARD', 'OUTPUT'],
    options: [opt('reject-with', 'reject-with', 'The reply to send.')],
  },
  { name: 'SECMARK', doc: 'Sets the SELinux security mark.', unavailable: 'SECMARK needs an active security module (SELinux); the kernel rejects it otherwise', terminating: false, tables: ['mangle', 'security'], options: [opt('selctx', 'string', 'Security context.')], requireOneOf: [['selctx']] },
  {
    name: 'SET', doc: 'Adds or deletes the packet\'s address to/from an ipset.', terminating: false,
    options: [
      { name: 'add-set', args: [{ kind: 'set-name' }, { kind: 'set-flags' }], doc: 'Add to the set.' },
      { name: 'del-set', args: [{ kind: 'set-name' }, { kind: 'set-flags' }], doc: 'Delete from the set.' },
      // xt_SET maps only in mangle, and priority or queue only once routed (measured in every mangle hook).
      { name: 'map-set', args: [{ kind: 'set-name' }, { kind: 'set-flags' }], doc: 'Map from the set (mangle table).', tables: ['mangle'] },
      opt('timeout', 'uint', 'Entry timeout.'), flag('exist', 'Refresh existing entries.'), flag('map-mark', 'Map the mark.'),
      flag('map-prio', 'Map the priority (FORWARD, OUTPUT, POSTROUTING).', { hooks: ['FORWARD', 'OUTPUT', 'POSTROUTING'] }),
      flag('map-queue', 'Map the queue (FORWARD, OUTPUT, POSTROUTING).', { hooks: ['FORWARD', 'OUTPUT', 'POSTROUTING'] }),
    ],
    requireOneOf: [['add-set', 'del-set', 'map-set']],
    // libxt_SET: --timeout and --exist go with --add-set, the --map-* flags with --map-set.
    requires: [['timeout', 'add-set'], ['exist', 'add-set'], ['map-mark', 'map-set'], ['map-prio', 'map-set'], ['map-queue', 'map-set']],
  },
  {
    // Any table with an INPUT or FORWARD hook (measured: mangle and nat INPUT accept it).
    name: 'SYNPROXY', doc: 'Answers SYNs on behalf of a server (needs conntrack INVALID/UNTRACKED handling).', terminating: true, hooks: ['INPUT', 'FORWARD'], protocols: ['tcp', '6'],
    // iptables reads --mss and --wscale as plain numbers (measured: --wscale 256 and --mss 70000 are accepted).
    options: [opt('mss', 'uint', 'MSS.'), opt('wscale', 'uint', 'Window scale.'), flag('sack-perm', 'SACK permitted.'), flag('timestamp', 'Timestamps.'), flag('ecn', 'ECN.')],
  },
  {
    // --set-mss works in every hook; only clamping needs the route, so the output side (measured).
    name: 'TCPMSS', doc: 'Sets or clamps the MSS option of TCP SYN packets.', terminating: false, protocols: ['tcp', '6'],
    options: [opt('set-mss', 'uint', 'MSS value.', { params: u(65535) }), flag('clamp-mss-to-pmtu', 'Clamp to the path MTU minus headers (FORWARD, OUTPUT, POSTROUTING).', { hooks: ['FORWARD', 'OUTPUT', 'POSTROUTING'] })],
    requireOneOf: [['set-mss', 'clamp-mss-to-pmtu']], conflicts: [['set-mss', 'clamp-mss-to-pmtu']],
  },
  // Any table (measured in filter, nat, raw and mangle).
  { name: 'TEE', doc: 'Clones the packet to another gateway.', terminating: false, options: [opt('gateway', 'address', 'Gateway address.'), opt('oif', 'interface', 'Output interface.')], requireOneOf: [['gateway']] },
  {
    name: 'TPROXY', doc: 'Transparent proxying to a local socket (mangle PREROUTING).', terminating: true, tables: ['mangle'], hooks: ['PREROUTING'], protocols: ['tcp', 'udp', '6', '17'],
    options: [opt('on-port', 'port', 'Local port.'), opt('on-ip', 'address', 'Local address.'), opt('tproxy-mark', 'mark', 'Mark to set.')],
    requireOneOf: [['on-port']],
  },
  { name: 'TRACE', doc: 'Traces the packet through the rule set (raw table).', terminating: false, tables: ['raw'], options: [] },
  { name: 'LED', doc: 'Blinks a LED.', unavailable: 'the xt_LED kernel module is missing on common kernels (RULE_APPEND fails)', terminating: false, options: [opt('led-trigger-id', 'string', 'Trigger name.'), opt('led-delay', 'string', 'Delay in ms or inf.'), flag('led-always-blink', 'Always blink.')], requireOneOf: [['led-trigger-id']] },
  { name: 'RATEEST', doc: 'Creates a rate estimator.', terminating: false, options: [opt('rateest-name', 'string', 'Name.'), opt('rateest-interval', 'string', 'Interval.'), opt('rateest-ewmalog', 'string', 'EWMA constant.')], requireOneOf: [['rateest-name'], ['rateest-interval'], ['rateest-ewmalog']] },
];

/** Builtin chains of each table, in the order netfilter creates them. */
export const BUILTIN_CHAINS: Readonly<Record<string, readonly Hook[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** The tables iptables-restore accepts. */
export const TABLES = Object.keys(BUILTIN_CHAINS);

const byName = (list: readonly ExtensionSpec[]): Map<string, ExtensionSpec> => {
  const m = new Map<string, ExtensionSpec>();
  for (const e of list) {
    m.set(e.name, e);
    for (const a of e.aliases ?? []) m.set(a, e);
  }
  return m;
};

/** Match modules by name and alias. */
export const MATCH_BY_NAME: ReadonlyMap<string, ExtensionSpec> = byName(MATCHES);
/** Target extensions by name and alias. */
export const TARGET_BY_NAME: ReadonlyMap<string, ExtensionSpec> = byName(TARGETS);
