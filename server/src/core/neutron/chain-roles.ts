/**
 * What a chain is for when one of Neutron's agents made it, read from its name the way Neutron's
 * iptables manager builds names (../shared/reference/neutron-iptables.md, section 1): the agent's
 * binary name cut to 16 characters, wrapped chains written `<bin>-<name>` with the name cut to 11
 * characters, and two shared chains without a binary name. Hovers use it, so that a reader of a
 * dump of a Neutron host sees which port, router or firewall a chain belongs to.
 */

/** A chain's role, in words. */
export interface NeutronChainRole {
  /** The agent that made the chain ("the Open vSwitch agent"), or undefined for the shared chains. */
  readonly agent?: string;
  /** What the chain does. */
  readonly role: string;
  /** A few words for the outline ("ingress of port 5f2a4e0c-8…"). */
  readonly short: string;
}

/** The agents whose binary names (first 16 characters of the executable's name) are known. */
const AGENTS: Readonly<Record<string, string>> = {
  'neutron-openvswi': 'the Open vSwitch agent (iptables hybrid security-group driver)',
  'neutron-linuxbri': 'the Linux bridge agent (iptables security-group driver)',
  'neutron-l3-agent': 'the L3 agent (in a router namespace)',
};

/** The chains every agent's manager shares, written without a binary name. */
const SHARED: Readonly<Record<string, string>> = {
  'neutron-filter-top': 'shared by the agents: FORWARD and OUTPUT jump here before the agents\' own wrapper chains; it jumps to each agent\'s `local` chain',
  'neutron-postrouting-bottom': 'shared by the agents (nat): POSTROUTING jumps here after the agents\' wrapper chains; it runs the source NAT chain (`snat`) last',
};

const BUILTINS = new Set(['INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING']);

/** Outline words and roles of the wrapped chains with fixed names (as cut to 11 characters). */
const NAMED: Readonly<Record<string, readonly [short: string, role: string]>> = {
  local: ['agent-local chain', 'the agent\'s chain under `neutron-filter-top` (FORWARD and OUTPUT)'],
  'sg-chain': ['security-group dispatch', 'security groups: for each port, a jump to its ingress chain (`i…`) for traffic leaving by the port\'s tap device and to its egress chain (`o…`) for traffic entering by it; then ACCEPT'],
  'sg-fallback': ['security-group fallback (drop)', 'security groups: drops the traffic that no rule of a port\'s ingress or egress chain allowed'],
  snat: ['source NAT', 'source NAT of the router\'s traffic: the floating IPs first (`float-snat`), then what leaves by the gateway port, to the gateway\'s address'],
  'float-snat': ['floating-IP source NAT', 'source NAT of each floating IP\'s fixed address to the floating IP (in mangle: saves the packet\'s address-scope mark into the connection\'s mark)'],
  scope: ['address scopes', 'address scopes: marks traffic by the scope of the router port it enters (mangle), drops traffic leaving by an internal port of another scope (filter)'],
  mark: ['gateway ingress mark', 'marks traffic entering by the router\'s gateway port (0x2/0xffff)'],
  floatingip: ['floating-IP marks', 'marks traffic to the floating IPs with their address scope (mangle)'],
  accepted: ['FWaaS accept', 'FWaaS: accepts (the target of allow rules)'],
  dropped: ['FWaaS drop', 'FWaaS: drops (the target of deny rules and of the default policy)'],
  rejected: ['FWaaS reject', 'FWaaS: rejects with port unreachable (the target of reject rules)'],
  'fwaas-defau': ['FWaaS default policy', 'FWaaS: the default policy of a firewall group\'s router ports (everything its rules did not allow is dropped)'],
};

/** Describes a chain name if Neutron's agents make chains of that name; undefined otherwise. */
export function neutronChainRole(name: string): NeutronChainRole | undefined {
  const shared = SHARED[name];
  if (shared) return { role: shared, short: 'Neutron, shared by the agents' };
  if (name.length < 18 || name[16] !== '-' || !name.startsWith('neutron-')) return undefined;
  const bin = name.slice(0, 16);
  const agent = AGENTS[bin] ?? `the agent with binary name \`${bin}\``;
  const rest = name.slice(17);
  if (BUILTINS.has(rest)) return { agent, role: `the agent's rules for the builtin chain ${rest}, which jumps here (\`-A ${rest} -j ${name}\`)`, short: `Neutron wrapper of ${rest}` };
  const named = NAMED[rest];
  if (named) return { agent, role: named[1], short: `Neutron ${named[0]}` };
  // FWaaS v2: `iv4`/`ov4`/`iv6`/`ov6` and the firewall group's id (cut to 11 characters in all).
  const fw = /^([io])v([46])([0-9a-f]{8})$/.exec(rest);
  if (fw) {
    const dir = fw[1] === 'i' ? 'ingress (traffic to the router\'s internal ports)' : 'egress (traffic from the router\'s internal ports)';
    return { agent, role: `FWaaS: the IPv${fw[2]} ${dir} rules of the firewall group whose id starts with ${fw[3]}`, short: `FWaaS IPv${fw[2]} ${fw[1] === 'i' ? 'ingress' : 'egress'} of group ${fw[3]}…` };
  }
  // Security groups: `i`, `o`, `s` and the port's id cut to 10 characters; the port's tap device is
  // `tap` and its id cut to 11.
  const port = /^([ios])([0-9a-f]{8}-[0-9a-f])$/.exec(rest);
  if (port) {
    const id = port[2];
    const role =
      port[1] === 'i'
        ? `security groups: the ingress chain of the port whose id starts with ${id} (traffic to the VM, leaving by tap${id}…): packets of known connections return, then the group's ingress rules; INVALID packets are dropped, the rest goes to \`sg-fallback\``
        : port[1] === 'o'
          ? `security groups: the egress chain of the port whose id starts with ${id} (traffic from the VM, entering by tap${id}…): DHCP requests return, the anti-spoofing chain \`s${id}\` runs, DHCP replies from the VM are dropped, packets of known connections return, then the group's egress rules; INVALID packets are dropped, the rest goes to \`sg-fallback\``
          : `security groups: the anti-spoofing chain of the port whose id starts with ${id}: traffic from the port's addresses with its MAC (and its allowed address pairs) returns, the rest is dropped`;
    const what = port[1] === 'i' ? 'ingress' : port[1] === 'o' ? 'egress' : 'anti-spoofing';
    return { agent, role, short: `${what} of port ${id}…` };
  }
  return undefined;
}
