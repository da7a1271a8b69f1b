/**
 * The policy model (Neutron objects) and its construction from the parsed blocks, with every
 * diagnostic of the language: malformed values, unknown statements, unresolved references,
 * duplicates and address-plan inconsistencies. Pure logic; never throws on user input.
 */
import type { Diagnostic, Range } from '../diagnostics.ts';
import { POLICY_DIAGNOSTIC_CODES } from './codes.ts';
import { parsePolicySyntax, type BlockNode, type StatementNode, type WordNode } from './syntax.ts';
import { formatPrefix, isMac, isUuid, parsePrefix, prefixContains, type IpVersion, type Prefix } from './addresses.ts';

/** Security-group driver of the compute node. */
export type SgDriver = 'ovs-hybrid' | 'linuxbridge';

/** File-wide settings. */
export interface PolicyDefaults {
  readonly sgDriver: SgDriver;
  readonly ipset: boolean;
  readonly comments: boolean;
  /** `legacy` reproduces pre-2019 l3-agent rules (no `--random-fully`, older POSTROUTING rule). */
  readonly profile: 'current' | 'legacy';
}

/** A port range, both ends inclusive. */
export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/** A Neutron network. */
export interface Network {
  readonly name: string;
  readonly id: string;
  readonly cidrs: readonly Prefix[];
  readonly range: Range;
}

/** One security-group rule. */
export interface SgRule {
  readonly direction: 'ingress' | 'egress';
  readonly ethertype: IpVersion;
  /** Normalised protocol (a name as Neutron maps it, or a number), undefined for any. */
  readonly protocol?: string;
  readonly ports?: PortRange;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly remotePrefix?: Prefix;
  /** Name of the remote security group. */
  readonly remoteGroup?: string;
  readonly range: Range;
}

/** A security group. */
export interface SecurityGroup {
  readonly name: string;
  readonly id: string;
  readonly stateless: boolean;
  readonly rules: readonly SgRule[];
  readonly range: Range;
  readonly nameRange: Range;
}

/** An allowed address pair. */
export interface AllowedAddress {
  readonly prefix: Prefix;
  readonly mac?: string;
}

/** A Neutron port (a VM interface). */
export interface Port {
  readonly name: string;
  readonly id: string;
  readonly network: string;
  readonly mac: string;
  readonly ips: readonly Prefix[];
  readonly allowedAddresses: readonly AllowedAddress[];
  readonly securityGroups: readonly string[];
  readonly portSecurity: boolean;
  readonly host?: string;
  readonly range: Range;
}

/** A router port: gateway or interface. */
export interface RouterPort {
  readonly portId: string;
  readonly ip: Prefix;
  /** Address scope name; undefined is the default scope. */
  readonly scope?: string;
}

/** A floating IP association. */
export interface FloatingIp {
  readonly floating: Prefix;
  readonly fixed: Prefix;
}

/** A legacy (centralised) router. */
export interface Router {
  readonly name: string;
  /** Router UUID; without one the namespace is named after the block (`qrouter-NAME`). */
  readonly id?: string;
  readonly gateway?: RouterPort;
  readonly interfaces: readonly RouterPort[];
  readonly snat: boolean;
  readonly metadata: boolean;
  readonly floatingIps: readonly FloatingIp[];
  readonly range: Range;
}

/** One firewall rule. */
export interface FirewallRule {
  readonly direction: 'ingress' | 'egress';
  readonly action: 'allow' | 'deny' | 'reject';
  readonly ethertype: IpVersion;
  readonly protocol?: string;
  readonly source?: Prefix;
  readonly destination?: Prefix;
  readonly sourcePorts?: PortRange;
  readonly ports?: PortRange;
  readonly enabled: boolean;
}

/** A firewall group (FWaaS). */
export interface FirewallGroup {
  readonly name: string;
  readonly id: string;
  readonly router: string;
  /** Router port UUIDs; undefined means all interface ports of the router. */
  readonly ports?: readonly string[];
  readonly version: 1 | 2;
  readonly rules: readonly FirewallRule[];
  readonly range: Range;
}

/** Policy-based steering of a router's traffic through a firewall appliance. */
export interface Steering {
  readonly name: string;
  readonly router: string;
  readonly firewall?: { readonly ip: Prefix; readonly dev: string };
  readonly table: number;
  readonly egressDevices: readonly string[];
  readonly ingressCidrs: readonly Prefix[];
  /** The MARK-based variant (`mark VALUE`): steering by fwmark instead of `ip rule dev`. */
  readonly mark?: number;
  readonly range: Range;
}

/** Everything one policy file declares. */
export interface Policy {
  readonly defaults: PolicyDefaults;
  readonly networks: readonly Network[];
  readonly securityGroups: readonly SecurityGroup[];
  readonly ports: readonly Port[];
  readonly routers: readonly Router[];
  readonly firewallGroups: readonly FirewallGroup[];
  readonly steerings: readonly Steering[];
}

/** The result of reading a policy file. */
export interface PolicyResult {
  readonly policy: Policy;
  readonly diagnostics: Diagnostic[];
  /** Declarations by name per kind, for navigation (definition, hover). */
  readonly declarations: ReadonlyMap<string, { readonly kind: string; readonly name: string; readonly range: Range; readonly nameRange: Range }>;
  /** Every reference to a declared name, for navigation. */
  readonly references: readonly { readonly kind: string; readonly name: string; readonly range: Range }[];
}

/** Protocol numbers Neutron maps to iptables names. */
const PROTOCOL_NUMBERS: Readonly<Record<string, string>> = {
  '1': 'icmp', '2': 'igmp', '4': 'ipip', '6': 'tcp', '17': 'udp', '33': 'dccp', '41': 'ipv6-encap', '47': 'gre', '50': 'esp', '51': 'ah',
  '58': 'ipv6-icmp', '98': 'encap', '103': 'pim', '112': 'vrrp', '132': 'sctp', '136': 'udplite',
};
const PROTOCOL_NAMES = new Set(['tcp', 'udp', 'icmp', 'icmpv6', 'ipv6-icmp', 'sctp', 'dccp', 'udplite', 'gre', 'esp', 'ah', 'vrrp', 'igmp', 'ipip', 'ipv6-encap', 'encap', 'pim', 'egp', 'ospf', 'rsvp', 'ipv6-frag', 'ipv6-nonxt', 'ipv6-opts', 'ipv6-route', 'any']);
/** Protocols whose ports Neutron renders; other protocols ignore ports. */
export const PORT_PROTOCOLS = new Set(['tcp', 'udp', 'sctp', 'dccp', 'udplite']);
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Parses a policy document into the model and its diagnostics; never throws. */
export function readPolicy(text: string): PolicyResult {
  return new Builder(text).build();
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

class Builder {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly declarations = new Map<string, { kind: string; name: string; range: Range; nameRange: Range }>();
  private readonly references: { kind: string; name: string; range: Range }[] = [];
  private readonly refChecks: (() => void)[] = [];
  private readonly ids = new Map<string, Range>();

  constructor(private readonly text: string) {}

  build(): PolicyResult {
    const syntax = parsePolicySyntax(this.text);
    for (const e of syntax.errors) this.report(e.range, 'policy-syntax-error', e.message);
    const defaults: Mutable<PolicyDefaults> = { sgDriver: 'ovs-hybrid', ipset: true, comments: true, profile: 'current' };
    const networks: Network[] = [];
    const groups: SecurityGroup[] = [];
    const ports: Port[] = [];
    const routers: Router[] = [];
    const fwgs: FirewallGroup[] = [];
    const steerings: Steering[] = [];
    for (const block of syntax.blocks) {
      switch (block.kind.text) {
        case 'defaults':
          this.readDefaults(block, defaults);
          break;
        case 'network': {
          const n = this.readNetwork(block);
          if (n) networks.push(n);
          break;
        }
        case 'security-group': {
          const g = this.readGroup(block);
          if (g) groups.push(g);
          break;
        }
        case 'port': {
          const p = this.readPort(block);
          if (p) ports.push(p);
          break;
        }
        case 'router': {
          const r = this.readRouter(block);
          if (r) routers.push(r);
          break;
        }
        case 'firewall-group': {
          const f = this.readFirewallGroup(block);
          if (f) fwgs.push(f);
          break;
        }
        case 'steering': {
          const s = this.readSteering(block);
          if (s) steerings.push(s);
          break;
        }
        default:
          this.report(block.kind.range, 'unknown-block', `unknown block '${block.kind.text}': expected defaults, network, security-group, port, router, firewall-group or steering`);
      }
    }
    const policy: Policy = { defaults, networks, securityGroups: groups, ports, routers, firewallGroups: fwgs, steerings };
    for (const check of this.refChecks) check();
    this.crossChecks(policy);
    return { policy, diagnostics: this.diagnostics, declarations: this.declarations, references: this.references };
  }

  private report(range: Range, code: string, message: string, related?: { range: Range; message: string }[]): void {
    const info = POLICY_DIAGNOSTIC_CODES[code];
    this.diagnostics.push({ range, severity: info ? info.severity : 'error', code, message, ...(related ? { related } : {}) });
  }

  /** Registers a block's name; reports a missing or duplicate one. */
  private declare(block: BlockNode, kind: string, needsName = true): string | undefined {
    for (const w of block.extra) this.report(w.range, 'invalid-statement', `unexpected '${w.text}' in the block header`);
    if (!needsName) {
      if (block.name) this.report(block.name.range, 'invalid-statement', `a ${kind} block has no name`);
      return undefined;
    }
    const n = block.name;
    if (!n || !NAME_RE.test(n.text)) {
      this.report(n ? n.range : block.kind.range, 'missing-name', n ? `invalid ${kind} name '${n.text}': names are [A-Za-z_][A-Za-z0-9_.-]*` : `a ${kind} block needs a name`);
      return undefined;
    }
    const key = `${kind}:${n.text}`;
    const prev = this.declarations.get(key);
    if (prev) {
      this.report(n.range, 'duplicate-name', `${kind} '${n.text}' is declared twice`, [{ range: prev.nameRange, message: 'first declared here' }]);
      return undefined;
    }
    this.declarations.set(key, { kind, name: n.text, range: block.range, nameRange: n.range });
    return n.text;
  }

  /** Records a reference to a name of a kind, checked once every block is read. */
  private refer(kind: string, w: WordNode, code = 'unknown-reference'): void {
    this.references.push({ kind, name: w.text, range: w.range });
    this.refChecks.push(() => {
      if (!this.declarations.has(`${kind}:${w.text}`)) this.report(w.range, code, `unknown ${kind} '${w.text}'`);
    });
  }

  private uuid(w: WordNode | undefined, what: string, st: StatementNode, register = true): string | undefined {
    if (!w) {
      this.report(st.range, 'invalid-statement', `${what}: a UUID is missing`);
      return undefined;
    }
    if (!isUuid(w.text)) {
      this.report(w.range, 'invalid-uuid', `${what}: '${w.text}' is not a UUID`);
      return undefined;
    }
    const id = w.text.toLowerCase();
    if (register) {
      const prev = this.ids.get(id);
      if (prev) this.report(w.range, 'duplicate-id', `the id ${id} is used twice`, [{ range: prev, message: 'first used here' }]);
      else this.ids.set(id, w.range);
    }
    return id;
  }

  private prefix(w: WordNode | undefined, what: string, st: StatementNode, opts: { needLength?: boolean; hostOnly?: boolean } = {}): Prefix | undefined {
    if (!w) {
      this.report(st.range, 'invalid-statement', `${what}: an address is missing`);
      return undefined;
    }
    const p = parsePrefix(w.text);
    if (!p) {
      this.report(w.range, 'invalid-address', `${what}: '${w.text}' is not an IPv4/IPv6 address or CIDR`);
      return undefined;
    }
    if (opts.needLength && !p.explicitLength) {
      this.report(w.range, 'invalid-address', `${what}: '${w.text}' needs a prefix length (ADDRESS/LEN)`);
      return undefined;
    }
    if (opts.hostOnly && p.explicitLength) {
      this.report(w.range, 'invalid-address', `${what}: '${w.text}' must be a single address without /LEN`);
      return undefined;
    }
    return p;
  }

  private portRange(w: WordNode | undefined, what: string, st: StatementNode): PortRange | undefined {
    if (!w) {
      this.report(st.range, 'invalid-statement', `${what}: a port or range is missing`);
      return undefined;
    }
    const m = /^(\d+)(?:[-:](\d+))?$/.exec(w.text);
    if (!m) {
      this.report(w.range, 'invalid-port', `${what}: '${w.text}' is not a port N or a range A-B`);
      return undefined;
    }
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : Number(m[2]);
    if (min > 65535 || max > 65535) {
      this.report(w.range, 'invalid-port', `${what}: port '${w.text}' is out of range: ports are 0 to 65535`);
      return undefined;
    }
    if (min > max) {
      this.report(w.range, 'invalid-port', `${what}: the range '${w.text}' starts after it ends`);
      return undefined;
    }
    return { min, max };
  }

  private protocol(w: WordNode): string | undefined {
    const t = w.text.toLowerCase();
    if (/^\d+$/.test(t)) {
      const n = Number(t);
      if (n > 255) {
        this.report(w.range, 'invalid-protocol', `protocol number ${t} is out of range: protocols are 0 to 255`);
        return undefined;
      }
      if (n === 0) return undefined;
      return PROTOCOL_NUMBERS[String(n)] ?? String(n);
    }
    if (!PROTOCOL_NAMES.has(t)) return undefined;
    return t === 'any' ? undefined : t;
  }

  private isProtocol(text: string): boolean {
    const t = text.toLowerCase();
    return PROTOCOL_NAMES.has(t) || /^\d+$/.test(t);
  }

  private onOff(st: StatementNode): boolean | undefined {
    const v = st.words[1];
    if (!v || st.words.length > 2 || (v.text !== 'on' && v.text !== 'off')) {
      this.report(st.range, 'invalid-statement', `'${st.words[0]?.text}' takes on or off`);
      return undefined;
    }
    return v.text === 'on';
  }

  private once(seen: Set<string>, st: StatementNode): boolean {
    const key = (st.words[0] as WordNode).text;
    if (seen.has(key)) {
      this.report(st.range, 'duplicate-statement', `'${key}' is given twice`);
      return false;
    }
    seen.add(key);
    return true;
  }

  private extra(st: StatementNode, from: number): void {
    for (const w of st.words.slice(from)) this.report(w.range, 'invalid-statement', `unexpected '${w.text}'`);
  }

  private unknown(st: StatementNode, kind: string): void {
    const w = st.words[0] as WordNode;
    this.report(w.range, 'unknown-statement', `unknown statement '${w.text}' in a ${kind} block`);
  }

  private readDefaults(block: BlockNode, d: Mutable<PolicyDefaults>): void {
    this.declare(block, 'defaults', false);
    const seen = new Set<string>();
    for (const st of block.statements) {
      const key = (st.words[0] as WordNode).text;
      if (!this.once(seen, st)) continue;
      if (key === 'sg-driver') {
        const v = st.words[1];
        if (v && (v.text === 'ovs-hybrid' || v.text === 'linuxbridge') && st.words.length === 2) d.sgDriver = v.text;
        else this.report(st.range, 'invalid-statement', "sg-driver takes ovs-hybrid or linuxbridge");
      } else if (key === 'ipset' || key === 'comments') {
        const v = this.onOff(st);
        if (v !== undefined) d[key] = v;
      } else if (key === 'profile') {
        const v = st.words[1];
        if (v && (v.text === 'current' || v.text === 'legacy') && st.words.length === 2) d.profile = v.text;
        else this.report(st.range, 'invalid-statement', 'profile takes current or legacy');
      } else this.unknown(st, 'defaults');
    }
  }

  private requireAll(block: BlockNode, seen: Set<string>, required: readonly string[], kind: string): boolean {
    let ok = true;
    for (const r of required) {
      if (!seen.has(r)) {
        this.report(block.headerRange, 'missing-statement', `the ${kind} has no '${r}' statement`);
        ok = false;
      }
    }
    return ok;
  }

  private readNetwork(block: BlockNode): Network | undefined {
    const name = this.declare(block, 'network');
    let id: string | undefined;
    const cidrs: Prefix[] = [];
    const seen = new Set<string>();
    for (const st of block.statements) {
      const key = (st.words[0] as WordNode).text;
      if (key === 'id') {
        if (this.once(seen, st)) id = this.uuid(st.words[1], 'id', st);
        this.extra(st, 2);
      } else if (key === 'cidr') {
        seen.add(key);
        const p = this.prefix(st.words[1], 'cidr', st, { needLength: true });
        if (p) cidrs.push(p);
        this.extra(st, 2);
      } else this.unknown(st, 'network');
    }
    this.requireAll(block, seen, ['id'], 'network');
    if (!name || !id) return undefined;
    return { name, id, cidrs, range: block.range };
  }

  private readGroup(block: BlockNode): SecurityGroup | undefined {
    const name = this.declare(block, 'security-group');
    let id: string | undefined;
    let stateless = false;
    const rules: SgRule[] = [];
    const seen = new Set<string>();
    for (const st of block.statements) {
      const key = (st.words[0] as WordNode).text;
      if (key === 'id') {
        if (this.once(seen, st)) id = this.uuid(st.words[1], 'id', st);
        this.extra(st, 2);
      } else if (key === 'stateless') {
        stateless = true;
        this.extra(st, 1);
      } else if (key === 'ingress' || key === 'egress') {
        const r = this.readSgRule(st, key);
        if (r) rules.push(r);
      } else this.unknown(st, 'security-group');
    }
    this.requireAll(block, seen, ['id'], 'security group');
    if (!name || !id) return undefined;
    return { name, id, stateless, rules, range: block.range, nameRange: (block.name as WordNode).range };
  }

  private readSgRule(st: StatementNode, direction: 'ingress' | 'egress'): SgRule | undefined {
    const words = st.words;
    let ethertype: IpVersion = 4;
    let ethertypeGiven = false;
    let protocol: string | undefined;
    let protocolWord: WordNode | undefined;
    let ports: PortRange | undefined;
    let portWord: WordNode | undefined;
    let icmpType: number | undefined;
    let icmpCode: number | undefined;
    let typeWord: WordNode | undefined;
    let codeWord: WordNode | undefined;
    let remotePrefix: Prefix | undefined;
    let remoteGroup: string | undefined;
    let ok = true;
    for (let i = 1; i < words.length; i++) {
      const w = words[i] as WordNode;
      const t = w.text;
      if ((t === 'ipv4' || t === 'ipv6' || t === 'IPv4' || t === 'IPv6') && !ethertypeGiven && i === 1) {
        ethertype = t.toLowerCase() === 'ipv6' ? 6 : 4;
        ethertypeGiven = true;
      } else if (t === 'port') {
        portWord = words[i + 1];
        ports = this.portRange(words[++i], 'port', st);
        if (!ports) ok = false;
      } else if (t === 'type' || t === 'code') {
        const v = words[++i];
        const n = v && /^\d+$/.test(v.text) ? Number(v.text) : NaN;
        if (!v || !(n >= 0 && n <= 255)) {
          this.report(v ? v.range : w.range, 'invalid-icmp', `ICMP ${t} must be a number 0 to 255`);
          ok = false;
        } else if (t === 'type') {
          icmpType = n;
          typeWord = w;
        } else {
          icmpCode = n;
          codeWord = w;
        }
      } else if (t === 'from' || t === 'to') {
        if ((direction === 'ingress') !== (t === 'from')) this.report(w.range, 'wrong-remote-keyword', `the remote side of an ${direction} rule is written '${direction === 'ingress' ? 'from' : 'to'}'`);
        const v = words[++i];
        if (v && v.text === 'group') {
          const g = words[++i];
          if (!g) {
            this.report(st.range, 'invalid-statement', `'${t} group' needs a security-group name`);
            ok = false;
          } else {
            remoteGroup = g.text;
            this.refer('security-group', g, 'unknown-remote-group');
          }
        } else {
          remotePrefix = this.prefix(v, t, st);
          if (!remotePrefix) ok = false;
        }
      } else if (protocol === undefined && protocolWord === undefined && this.isProtocol(t)) {
        protocolWord = w;
        protocol = this.protocol(w);
        if (/^\d+$/.test(t) && Number(t) > 255) ok = false;
      } else {
        this.report(w.range, 'invalid-statement', `unexpected '${t}' in a security-group rule: expected [ipv4|ipv6] [PROTOCOL] [port N|A-B] [type T [code C]] [from|to CIDR | from|to group NAME]`);
        ok = false;
      }
    }
    if (protocol === 'icmpv6') protocol = ethertype === 6 ? 'ipv6-icmp' : protocol;
    if (ethertype === 6 && protocol === 'icmp') protocol = 'ipv6-icmp';
    const isIcmp = protocol === 'icmp' || protocol === 'ipv6-icmp' || protocol === 'icmpv6';
    if (codeWord && icmpType === undefined) {
      this.report(codeWord.range, 'icmp-code-without-type', 'an ICMP code needs a type');
      ok = false;
    }
    if ((typeWord || codeWord) && !isIcmp) {
      this.report((typeWord ?? codeWord as WordNode).range, 'invalid-icmp', `'type' and 'code' apply to icmp rules only`);
      ok = false;
    }
    if (ports && portWord && !(protocol && PORT_PROTOCOLS.has(protocol))) this.report(portWord.range, 'ports-ignored', `ports apply to tcp, udp, sctp, dccp and udplite only; Neutron ignores them here`);
    if (remotePrefix && remotePrefix.version !== ethertype) {
      this.report(st.range, 'family-mismatch', `the remote prefix is IPv${remotePrefix.version} but the rule is IPv${ethertype}${ethertypeGiven ? '' : ' (the default); write ipv6 after the direction'}`);
      ok = false;
    }
    if (!ok) return undefined;
    return {
      direction, ethertype, range: st.range,
      ...(protocol !== undefined ? { protocol } : {}),
      ...(ports && protocol && PORT_PROTOCOLS.has(protocol) ? { ports } : {}),
      ...(icmpType !== undefined ? { icmpType } : {}),
      ...(icmpCode !== undefined ? { icmpCode } : {}),
      ...(remotePrefix ? { remotePrefix } : {}),
      ...(remoteGroup !== undefined ? { remoteGroup } : {}),
    };
  }

  private portChecks: { port: Port; ipWords: WordNode[]; networkWord?: WordNode; groupsRange?: Range }[] = [];

  private readPort(block: BlockNode): Port | undefined {
    const name = this.declare(block, 'port');
    let id: string | undefined;
    let network: string | undefined;
    let networkWord: WordNode | undefined;
    let mac: string | undefined;
    let host: string | undefined;
    let portSecurity = true;
    let groupsRange: Range | undefined;
    const ips: Prefix[] = [];
    const ipWords: WordNode[] = [];
    const allowed: AllowedAddress[] = [];
    const groups: string[] = [];
    const seen = new Set<string>();
    for (const st of block.statements) {
      const key = (st.words[0] as WordNode).text;
      const v = st.words[1];
      switch (key) {
        case 'id':
          if (this.once(seen, st)) id = this.uuid(v, 'id', st);
          this.extra(st, 2);
          break;
        case 'network':
          if (this.once(seen, st) && v) {
            network = v.text;
            networkWord = v;
            this.refer('network', v);
          } else if (!v) this.report(st.range, 'invalid-statement', 'network needs a network name');
          this.extra(st, 2);
          break;
        case 'mac':
          if (this.once(seen, st)) {
            if (v && isMac(v.text)) mac = v.text.toLowerCase();
            else this.report(v ? v.range : st.range, 'invalid-mac', `'${v?.text ?? ''}' is not a MAC address`);
          }
          this.extra(st, 2);
          break;
        case 'ip': {
          const p = this.prefix(v, 'ip', st, { hostOnly: true });
          if (p && v) {
            ips.push(p);
            ipWords.push(v);
          }
          this.extra(st, 2);
          break;
        }
        case 'allowed-address': {
          const p = this.prefix(v, 'allowed-address', st);
          let pairMac: string | undefined;
          if (st.words[2]) {
            const m = st.words[3];
            if (st.words[2].text !== 'mac') this.report(st.words[2].range, 'invalid-statement', `expected 'mac', found '${st.words[2].text}'`);
            else if (!m || !isMac(m.text)) this.report(m ? m.range : st.range, 'invalid-mac', `'${m?.text ?? ''}' is not a MAC address`);
            else pairMac = m.text.toLowerCase();
            this.extra(st, 4);
          }
          if (p) allowed.push({ prefix: p, ...(pairMac ? { mac: pairMac } : {}) });
          break;
        }
        case 'security-groups':
          seen.add(key);
          groupsRange = st.range;
          for (const g of st.words.slice(1)) {
            groups.push(g.text);
            this.refer('security-group', g);
          }
          break;
        case 'port-security': {
          const on = this.onOff(st);
          if (on !== undefined) portSecurity = on;
          break;
        }
        case 'host':
          if (this.once(seen, st) && v) host = v.text;
          else if (!v) this.report(st.range, 'invalid-statement', 'host needs a host name');
          this.extra(st, 2);
          break;
        default:
          this.unknown(st, 'port');
      }
    }
    this.requireAll(block, seen, ['id', 'network', 'mac'], 'port');
    if (!name || !id || !network || !mac) return undefined;
    const port: Port = { name, id, network, mac, ips, allowedAddresses: allowed, securityGroups: groups, portSecurity, ...(host !== undefined ? { host } : {}), range: block.range };
    this.portChecks.push({ port, ipWords, ...(networkWord ? { networkWord } : {}), ...(groupsRange ? { groupsRange } : {}) });
    return port;
  }

  private routerPort(st: StatementNode, what: string): RouterPort | undefined {
    const id = this.uuid(st.words[1], what, st);
    const ipKw = st.words[2];
    if (!ipKw || ipKw.text !== 'ip') {
      this.report(ipKw ? ipKw.range : st.range, 'invalid-statement', `${what} PORT-UUID ip ADDRESS/LEN [address-scope NAME]: 'ip' is missing`);
      return undefined;
    }
    const ip = this.prefix(st.words[3], `${what} ip`, st, { needLength: true });
    let scope: string | undefined;
    if (st.words[4]) {
      if (st.words[4].text === 'address-scope' && st.words[5]) scope = st.words[5].text;
      else this.report(st.words[4].range, 'invalid-statement', `unexpected '${st.words[4].text}': expected address-scope NAME`);
      this.extra(st, 6);
    }
    if (!id || !ip) return undefined;
    return { portId: id, ip, ...(scope !== undefined ? { scope } : {}) };
  }

  private routerChecks: { router: Router; fipWords: WordNode[][] }[] = [];

  private readRouter(block: BlockNode): Router | undefined {
    const name = this.declare(block, 'router');
    let id: string | undefined;
    let gateway: RouterPort | undefined;
    const interfaces: RouterPort[] = [];
    let snat = true;
    let metadata = true;
    const fips: FloatingIp[] = [];
    const fipWords: WordNode[][] = [];
    const seen = new Set<string>();
    for (const st of block.statements) {
      const key = (st.words[0] as WordNode).text;
      switch (key) {
        case 'id':
          if (this.once(seen, st)) id = this.uuid(st.words[1], 'id', st);
          this.extra(st, 2);
          break;
        case 'gateway':
          if (this.once(seen, st)) gateway = this.routerPort(st, 'gateway');
          break;
        case 'interface': {
          const p = this.routerPort(st, 'interface');
          if (p) interfaces.push(p);
          break;
        }
        case 'snat':
        case 'metadata': {
          if (!this.once(seen, st)) break;
          const v = this.onOff(st);
          if (v !== undefined) {
            if (key === 'snat') snat = v;
            else metadata = v;
          }
          break;
        }
        case 'floating-ip': {
          const f = this.prefix(st.words[1], 'floating-ip', st, { hostOnly: true });
          if (st.words[2]?.text !== 'to') {
            this.report(st.words[2]?.range ?? st.range, 'invalid-statement', "floating-ip ADDRESS to ADDRESS: 'to' is missing");
            break;
          }
          const x = this.prefix(st.words[3], 'floating-ip … to', st, { hostOnly: true });
          this.extra(st, 4);
          if (f && x) {
            if (f.version !== 4 || x.version !== 4) {
              this.report(st.range, 'family-mismatch', 'floating IPs are IPv4 only');
              break;
            }
            fips.push({ floating: f, fixed: x });
            fipWords.push([st.words[1] as WordNode, st.words[3] as WordNode]);
          }
          break;
        }
        default:
          this.unknown(st, 'router');
      }
    }
    if (!name) return undefined;
    const router: Router = { name, ...(id ? { id } : {}), ...(gateway ? { gateway } : {}), interfaces, snat, metadata, floatingIps: fips, range: block.range };
    this.routerChecks.push({ router, fipWords });
    return router;
  }

  private fwChecks: { fwg: FirewallGroup; routerWord: WordNode; portWords: WordNode[] }[] = [];

  private readFirewallGroup(block: BlockNode): FirewallGroup | undefined {
    const name = this.declare(block, 'firewall-group');
    let id: string | undefined;
    let router: string | undefined;
    let routerWord: WordNode | undefined;
    let ports: string[] | undefined;
    const portWords: WordNode[] = [];
    let version: 1 | 2 = 2;
    const rules: FirewallRule[] = [];
    const seen = new Set<string>();
    for (const st of block.statements) {
      const key = (st.words[0] as WordNode).text;
      if (key === 'id') {
        if (this.once(seen, st)) id = this.uuid(st.words[1], 'id', st);
        this.extra(st, 2);
      } else if (key === 'router') {
        if (!this.once(seen, st)) continue;
        routerWord = st.words[1];
        if (!routerWord) {
          this.report(st.range, 'invalid-statement', 'router needs a router name');
          continue;
        }
        router = routerWord.text;
        this.refer('router', routerWord);
        if (st.words[2]) {
          if (st.words[2].text !== 'ports') this.report(st.words[2].range, 'invalid-statement', `expected 'ports', found '${st.words[2].text}'`);
          else {
            ports = [];
            for (const w of st.words.slice(3)) {
              const u = this.uuid(w, 'ports', st, false);
              if (u) {
                ports.push(u);
                portWords.push(w);
              }
            }
          }
        }
      } else if (key === 'version') {
        const v = st.words[1]?.text;
        if (v === '1' || v === '2') version = v === '1' ? 1 : 2;
        else this.report(st.range, 'invalid-statement', 'version takes 1 (FWaaS v1, legacy) or 2');
        this.extra(st, 2);
      } else if (key === 'ingress' || key === 'egress') {
        const r = this.readFwRule(st, key);
        if (r) rules.push(r);
      } else this.unknown(st, 'firewall-group');
    }
    this.requireAll(block, seen, ['id', 'router'], 'firewall group');
    if (!name || !id || !router || !routerWord) return undefined;
    const fwg: FirewallGroup = { name, id, router, ...(ports ? { ports } : {}), version, rules, range: block.range };
    this.fwChecks.push({ fwg, routerWord, portWords });
    return fwg;
  }

  private readFwRule(st: StatementNode, direction: 'ingress' | 'egress'): FirewallRule | undefined {
    const words = st.words;
    const a = words[1];
    if (!a || (a.text !== 'allow' && a.text !== 'deny' && a.text !== 'reject')) {
      this.report(a ? a.range : st.range, 'invalid-statement', 'a firewall rule is `direction allow|deny|reject …`');
      return undefined;
    }
    let ethertype: IpVersion = 4;
    let protocol: string | undefined;
    let protocolSeen = false;
    let source: Prefix | undefined;
    let destination: Prefix | undefined;
    let sourcePorts: PortRange | undefined;
    let ports: PortRange | undefined;
    let enabled = true;
    let ok = true;
    for (let i = 2; i < words.length; i++) {
      const w = words[i] as WordNode;
      const t = w.text;
      if ((t === 'ipv4' || t === 'ipv6') && i === 2) ethertype = t === 'ipv6' ? 6 : 4;
      else if (t === 'from' || t === 'to') {
        const p = this.prefix(words[++i], t, st);
        if (!p) ok = false;
        else if (t === 'from') source = p;
        else destination = p;
      } else if (t === 'port' || t === 'source-port') {
        const r = this.portRange(words[++i], t, st);
        if (!r) ok = false;
        else if (t === 'port') ports = r;
        else sourcePorts = r;
      } else if (t === 'disabled') enabled = false;
      else if (!protocolSeen && this.isProtocol(t)) {
        protocolSeen = true;
        protocol = this.protocol(w);
        if (/^\d+$/.test(t) && Number(t) > 255) ok = false;
      } else {
        this.report(w.range, 'invalid-statement', `unexpected '${t}' in a firewall rule: expected [ipv4|ipv6] [PROTOCOL] [from CIDR] [to CIDR] [source-port P|A-B] [port P|A-B] [disabled]`);
        ok = false;
      }
    }
    if (ethertype === 6 && (protocol === 'icmp' || protocol === 'icmpv6')) protocol = 'ipv6-icmp';
    for (const p of [source, destination]) {
      if (p && p.version !== ethertype) {
        this.report(st.range, 'family-mismatch', `an IPv${p.version} address in an IPv${ethertype} firewall rule`);
        ok = false;
      }
    }
    if ((ports || sourcePorts) && !(protocol && PORT_PROTOCOLS.has(protocol))) {
      this.report(st.range, 'invalid-port', 'firewall rules take ports only with tcp, udp, sctp, dccp or udplite');
      ok = false;
    }
    if (!ok) return undefined;
    return {
      direction, action: a.text as FirewallRule['action'], ethertype, enabled,
      ...(protocol !== undefined ? { protocol } : {}),
      ...(source ? { source } : {}),
      ...(destination ? { destination } : {}),
      ...(sourcePorts ? { sourcePorts } : {}),
      ...(ports ? { ports } : {}),
    };
  }

  private steeringChecks: { steering: Steering; routerWord: WordNode; devWords: WordNode[]; markWord?: WordNode }[] = [];

  private readSteering(block: BlockNode): Steering | undefined {
    const name = this.declare(block, 'steering');
    let router: string | undefined;
    let routerWord: WordNode | undefined;
    let firewall: { ip: Prefix; dev: string } | undefined;
    let table: number | undefined;
    let mark: number | undefined;
    let markWord: WordNode | undefined;
    const egress: string[] = [];
    const ingress: Prefix[] = [];
    const devWords: WordNode[] = [];
    const seen = new Set<string>();
    for (const st of block.statements) {
      const key = (st.words[0] as WordNode).text;
      const v = st.words[1];
      switch (key) {
        case 'router':
          if (this.once(seen, st) && v) {
            router = v.text;
            routerWord = v;
            this.refer('router', v);
          }
          this.extra(st, 2);
          break;
        case 'firewall': {
          if (!this.once(seen, st)) break;
          const ip = this.prefix(v, 'firewall', st, { hostOnly: true });
          const dev = st.words[3];
          if (st.words[2]?.text !== 'dev' || !dev) {
            this.report(st.range, 'invalid-statement', 'firewall ADDRESS dev DEVICE');
            break;
          }
          this.extra(st, 4);
          devWords.push(dev);
          if (ip) firewall = { ip, dev: dev.text };
          break;
        }
        case 'table': {
          if (!this.once(seen, st)) break;
          const n = v && /^\d+$/.test(v.text) ? Number(v.text) : NaN;
          if (!(n >= 1 && n <= 4294967295) || n === 253 || n === 254 || n === 255) this.report(v ? v.range : st.range, 'invalid-statement', 'table takes a routing table number 1 to 2^32-1 other than 253 (default), 254 (main) and 255 (local)');
          else table = n;
          this.extra(st, 2);
          break;
        }
        case 'egress':
          if (v?.text !== 'from' || !st.words[2]) this.report(st.range, 'invalid-statement', 'egress from DEVICE');
          else {
            egress.push(st.words[2].text);
            devWords.push(st.words[2]);
          }
          this.extra(st, 3);
          break;
        case 'ingress': {
          if (v?.text !== 'to') {
            this.report(st.range, 'invalid-statement', 'ingress to CIDR');
            break;
          }
          const p = this.prefix(st.words[2], 'ingress to', st);
          if (p) ingress.push(p);
          this.extra(st, 3);
          break;
        }
        case 'mark': {
          if (!this.once(seen, st)) break;
          const n = v && /^(0x[0-9a-fA-F]{1,8}|\d+)$/.test(v.text) ? Number(v.text) : NaN;
          if (!(n >= 1 && n <= 0xffffffff)) this.report(v ? v.range : st.range, 'invalid-statement', 'mark takes a non-zero 32-bit value');
          else {
            mark = n;
            markWord = v;
          }
          this.extra(st, 2);
          break;
        }
        default:
          this.unknown(st, 'steering');
      }
    }
    this.requireAll(block, seen, ['router', 'firewall', 'table'], 'steering');
    if (!name || !router || !routerWord || table === undefined) return undefined;
    const steering: Steering = { name, router, ...(firewall ? { firewall } : {}), table, egressDevices: egress, ingressCidrs: ingress, ...(mark !== undefined ? { mark } : {}), range: block.range };
    this.steeringChecks.push({ steering, routerWord, devWords, ...(markWord ? { markWord } : {}) });
    return steering;
  }

  /** Checks that need the whole file: address plans, router ports, marks. */
  private crossChecks(policy: Policy): void {
    const networks = new Map(policy.networks.map((n) => [n.name, n]));
    for (const { port, ipWords, groupsRange } of this.portChecks) {
      const net = networks.get(port.network);
      if (net) {
        port.ips.forEach((ip, i) => {
          // A network without a CIDR of the address's family says nothing about it.
          const sameFamily = net.cidrs.filter((c) => c.version === ip.version);
          if (sameFamily.length > 0 && !sameFamily.some((c) => prefixContains(c, ip))) {
            const w = ipWords[i] as WordNode;
            this.report(w.range, 'address-outside-network', `${w.text} is outside every IPv${ip.version} CIDR of network '${net.name}' (${sameFamily.map(formatPrefix).join(', ')})`);
          }
        });
      }
      if (!port.portSecurity && port.securityGroups.length > 0 && groupsRange) this.report(groupsRange, 'security-groups-ignored', 'port security is off: Neutron applies no security group to this port');
    }
    for (const { router, fipWords } of this.routerChecks) {
      router.floatingIps.forEach((f, i) => {
        const [fw, xw] = fipWords[i] as WordNode[];
        if (!router.gateway) this.report((fw as WordNode).range, 'floating-ip-outside-subnet', `router '${router.name}' has no gateway, so it cannot hold floating IP ${(fw as WordNode).text}`);
        else if (!prefixContains(router.gateway.ip, f.floating)) this.report((fw as WordNode).range, 'floating-ip-outside-subnet', `floating IP ${(fw as WordNode).text} is outside the gateway subnet of router '${router.name}'`);
        if (!router.interfaces.some((p) => prefixContains(p.ip, f.fixed))) this.report((xw as WordNode).range, 'fixed-ip-outside-router', `${(xw as WordNode).text} is outside every subnet of the interfaces of router '${router.name}'`);
      });
    }
    const routers = new Map(policy.routers.map((r) => [r.name, r]));
    for (const { fwg, portWords } of this.fwChecks) {
      const r = routers.get(fwg.router);
      if (!r) continue;
      fwg.ports?.forEach((p, i) => {
        if (!r.interfaces.some((x) => x.portId === p)) this.report((portWords[i] as WordNode).range, 'unknown-reference', `router '${r.name}' has no interface port ${p}`);
      });
    }
    for (const { steering, devWords, markWord } of this.steeringChecks) {
      const r = routers.get(steering.router);
      if (!r) continue;
      const devs = new Map(r.interfaces.map((p) => [qrDevice(p.portId), p]));
      for (const w of devWords) if (!devs.has(w.text)) this.report(w.range, 'unknown-reference', `router '${r.name}' has no interface device '${w.text}' (its devices: ${[...devs.keys()].join(', ') || 'none'})`);
      if (steering.mark !== undefined && markWord && steering.firewall) {
        const fwPort = devs.get(steering.firewall.dev);
        if (fwPort) {
          const scopeMark = scopeMarks(r).get(fwPort.scope ?? '') ?? 0x4000000;
          if ((steering.mark & 0xffff0000) >>> 0 !== scopeMark) {
            this.report(markWord.range, 'steering-mark-dropped', `MARK --set-mark 0x${steering.mark.toString(16)} replaces the address-scope mark 0x${scopeMark.toString(16)}/0xffff0000 that Neutron's rule '-o ${steering.firewall.dev} -m mark ! --mark 0x${scopeMark.toString(16)}/0xffff0000 -j DROP' (neutron-l3-agent-scope) requires, so the steered traffic is dropped; steer with 'ip rule … dev' (no mark) instead`);
          }
        }
      }
    }
  }
}

/** The `qr-` device of a router interface port. */
export function qrDevice(portId: string): string {
  return `qr-${portId}`.slice(0, 14);
}

/** The `qg-` device of a router gateway port. */
export function qgDevice(portId: string): string {
  return `qg-${portId}`.slice(0, 14);
}

/** Address-scope marks of a router's scopes: the default scope ('') is id 1024, others 1025, 1026… in order of appearance. */
export function scopeMarks(router: Router): Map<string, number> {
  const marks = new Map<string, number>([['', 1024 * 0x10000]]);
  let next = 1025;
  for (const p of [...router.interfaces, ...(router.gateway ? [router.gateway] : [])]) {
    if (p.scope !== undefined && !marks.has(p.scope)) marks.set(p.scope, (next++ * 0x10000) >>> 0);
  }
  return marks;
}
