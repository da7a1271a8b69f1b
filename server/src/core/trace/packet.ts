/**
 * The packet description the tracer works on, and its text syntax, shared by the CLI and the
 * editor: `proto=tcp src=10.0.0.5 dst=10.0.0.9 sport=40000 dport=22 in=eth0 state=NEW`.
 * Every field is optional; a field left out means "any value", and a rule that depends on it is
 * reported as undecided by the tracer. The one exception is `fragment`: a packet with ports is a
 * first fragment or an unfragmented packet, so it defaults to `no`.
 */
import { MAC_ADDRESS, parseIPv4, parseIPv6, parsePort, parseUnsigned, protocolNumberOf, ICMP_TYPES, ICMPV6_TYPES, type Family } from '../extensions/value-kinds.ts';
import { suggest } from '../rule.ts';

/** Connection tracking states a packet can be in. */
export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';

/** TCP flag bits, as the tcp match numbers them. */
export const TCP_FLAG_BITS: Readonly<Record<string, number>> = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ALL: 0x3f, NONE: 0 };

/** A packet as the tracer sees it; `undefined` fields are unknown ("any"). */
export interface Packet {
  readonly family: Family;
  /** Layer-4 protocol number. */
  readonly proto?: number;
  /** Addresses as unsigned integers (32 bits for IPv4, 128 bits for IPv6). */
  readonly src?: bigint;
  readonly dst?: bigint;
  readonly sport?: number;
  readonly dport?: number;
  /** Interface names; only consulted in the hooks where the kernel knows them. */
  readonly in?: string;
  readonly out?: string;
  readonly state?: CtState;
  readonly mark?: number;
  readonly ctmark?: number;
  /**
   * Bridge information (physdev): `false` when the packet is not bridged, `true` when it has
   * bridge information, undefined when unknown. Set by any physdev field.
   */
  readonly bridged?: boolean;
  /** Bridge ports; `null` means the packet has no such port (e.g. it is delivered locally). */
  readonly physdevIn?: string | null;
  readonly physdevOut?: string | null;
  /** True when the packet leaves by a bridge port (physdev-is-bridged), even if its name is not given. */
  readonly physdevIsBridged?: boolean;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** TCP flags as a bit set of TCP_FLAG_BITS. */
  readonly tcpFlags?: number;
  /** Source MAC address, lower case with two digits per byte. */
  readonly mac?: string;
  /** Link-layer packet type: unicast (host), broadcast, multicast, otherhost, outgoing, loopback. */
  readonly pkttype?: string;
  /** Layer-3 length as the length match sees it. */
  readonly length?: number;
  /** Address types (addrtype match), upper case. */
  readonly srcType?: string;
  readonly dstType?: string;
  /** True for a non-first fragment; defaults to false. */
  readonly fragment: boolean;
}

/** A problem in a packet description, with the word it concerns. */
export class PacketSyntaxError extends Error {
  constructor(message: string, readonly word?: string) {
    super(message);
  }
}

const STATES: readonly CtState[] = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'];
const PKT_TYPES = ['unicast', 'host', 'broadcast', 'multicast', 'otherhost', 'outgoing', 'loopback'];
const ADDR_TYPES = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'];

/** Field names and their aliases, for messages and suggestions. */
const KEYS: Readonly<Record<string, string>> = {
  proto: 'proto', protocol: 'proto', p: 'proto',
  src: 'src', s: 'src', source: 'src',
  dst: 'dst', d: 'dst', destination: 'dst',
  sport: 'sport', dport: 'dport',
  in: 'in', i: 'in', out: 'out', o: 'out',
  state: 'state', ctstate: 'state',
  mark: 'mark', connmark: 'connmark', ctmark: 'connmark',
  'physdev-in': 'physdev-in', 'physdev-out': 'physdev-out', 'physdev-is-bridged': 'physdev-is-bridged', bridged: 'bridged',
  'icmp-type': 'icmp-type', 'icmpv6-type': 'icmp-type', 'icmp-code': 'icmp-code',
  flags: 'flags', 'tcp-flags': 'flags',
  mac: 'mac', 'mac-source': 'mac',
  pkttype: 'pkttype', 'pkt-type': 'pkttype',
  length: 'length', len: 'length',
  'src-type': 'src-type', 'dst-type': 'dst-type',
  fragment: 'fragment', frag: 'fragment',
};

/** Parses an address of the given family into an unsigned integer, or undefined. */
export function parseAddress(s: string, family: Family): bigint | undefined {
  if (family === 'ipv4') {
    const v = parseIPv4(s);
    return v === undefined ? undefined : BigInt(v);
  }
  const groups = parseIPv6(s);
  if (!groups) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Formats an address integer back as text. */
export function formatAddress(v: bigint, family: Family): string {
  if (family === 'ipv4') return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups, as inet_ntop does.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function parseFlags(v: string): number {
  let bits = 0;
  for (const f of v.split(/[,|]/)) {
    if (f === '') continue;
    const b = TCP_FLAG_BITS[f.toUpperCase()];
    if (b === undefined) throw new PacketSyntaxError(`unknown TCP flag '${f}' in flags=${v}: expected a comma-separated list of SYN, ACK, FIN, RST, PSH, URG (or NONE)`, f);
    bits |= b;
  }
  return bits;
}

function parseNumber(key: string, v: string, max: number): number {
  const n = parseUnsigned(v);
  if (n === undefined || n > max) throw new PacketSyntaxError(`${key}=${v}: expected a number from 0 to ${max}`, v);
  return n;
}

/** Splits the packet text into words; `key="a b"` keeps quoted values together. */
function words(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      if (cur !== '') out.push(cur);
      cur = '';
      i++;
    } else if (c === '"' || c === "'") {
      const close = text.indexOf(c, i + 1);
      if (close < 0) throw new PacketSyntaxError(`unterminated quote in packet description`);
      cur += text.slice(i + 1, close);
      i = close + 1;
    } else {
      cur += c;
      i++;
    }
  }
  if (cur !== '') out.push(cur);
  return out;
}

/**
 * Parses a packet description. Throws PacketSyntaxError with a message naming the bad word.
 * `family` decides how addresses and ICMP types are read.
 */
export function parsePacket(text: string, family: Family): Packet {
  const p: { -readonly [K in keyof Packet]: Packet[K] } = { family, fragment: false };
  const seen = new Set<string>();
  let icmpCodeGiven = false;
  for (const word of words(text)) {
    const eq = word.indexOf('=');
    const rawKey = (eq >= 0 ? word.slice(0, eq) : word).toLowerCase();
    const value = eq >= 0 ? word.slice(eq + 1) : undefined;
    const key = KEYS[rawKey];
    if (key === undefined) {
      const hint = suggest(rawKey, Object.keys(KEYS));
      throw new PacketSyntaxError(`unknown packet field '${rawKey}'${hint}; fields are proto, src, dst, sport, dport, in, out, state, mark, connmark, physdev-in, physdev-out, physdev-is-bridged, bridged, icmp-type, flags, mac, pkttype, length, src-type, dst-type, fragment`, word);
    }
    if (seen.has(key)) throw new PacketSyntaxError(`packet field '${key}' is given twice`, word);
    seen.add(key);
    const need = (): string => {
      if (value === undefined || value === '') throw new PacketSyntaxError(`packet field '${key}' needs a value (${key}=…)`, word);
      return value;
    };
    switch (key) {
      case 'proto': {
        const v = need();
        const n = protocolNumberOf(v);
        if (n === undefined || n > 255) throw new PacketSyntaxError(`unknown protocol '${v}': use a name such as tcp, udp, icmp or a number 0-255`, v);
        if (n === 0) throw new PacketSyntaxError(`proto=${v} is not a packet protocol: give tcp, udp, icmp, … or leave proto out for "any"`, v);
        p.proto = n;
        break;
      }
      case 'src':
      case 'dst': {
        const v = need();
        const a = parseAddress(v, family);
        if (a === undefined) throw new PacketSyntaxError(`${key}=${v}: expected ${family === 'ipv4' ? 'an IPv4 address such as 10.0.0.5' : 'an IPv6 address such as 2001:db8::5'}`, v);
        if (key === 'src') p.src = a;
        else p.dst = a;
        break;
      }
      case 'sport':
      case 'dport': {
        const v = need();
        const n = parsePort(v);
        if (n === undefined) throw new PacketSyntaxError(`${key}=${v}: expected a port 0-65535 or a service name`, v);
        if (key === 'sport') p.sport = n;
        else p.dport = n;
        break;
      }
      case 'in':
      case 'out': {
        const v = need();
        if (v.length >= 16 || /[\s/]/.test(v)) throw new PacketSyntaxError(`${key}=${v}: not an interface name (at most 15 characters, no blanks or '/')`, v);
        if (key === 'in') p.in = v;
        else p.out = v;
        break;
      }
      case 'state': {
        const v = need().toUpperCase();
        if (!(STATES as readonly string[]).includes(v)) throw new PacketSyntaxError(`state=${value}: expected one of ${STATES.join(', ')}`, value);
        p.state = v as CtState;
        break;
      }
      case 'mark':
      case 'connmark': {
        const n = parseNumber(key, need(), 0xffffffff);
        if (key === 'mark') p.mark = n;
        else p.ctmark = n;
        break;
      }
      case 'physdev-in':
      case 'physdev-out': {
        const v = need();
        const port = v === 'none' ? null : v;
        if (key === 'physdev-in') p.physdevIn = port;
        else p.physdevOut = port;
        if (p.bridged === false) throw new PacketSyntaxError(`${key} contradicts bridged=no`, word);
        p.bridged = true;
        break;
      }
      case 'physdev-is-bridged':
        if (value !== undefined) throw new PacketSyntaxError(`physdev-is-bridged is a flag and takes no value`, word);
        if (p.bridged === false) throw new PacketSyntaxError(`physdev-is-bridged contradicts bridged=no`, word);
        p.bridged = true;
        p.physdevIsBridged = true;
        // Being bridged means the packet will leave by a bridge port (its name may stay unknown).
        if (p.physdevOut === null) throw new PacketSyntaxError(`physdev-is-bridged contradicts physdev-out=none`, word);
        break;
      case 'bridged': {
        const v = need().toLowerCase();
        if (!['yes', 'no', 'true', 'false'].includes(v)) throw new PacketSyntaxError(`bridged=${value}: expected yes or no`, value);
        const b = v === 'yes' || v === 'true';
        if (!b && p.bridged === true) throw new PacketSyntaxError(`bridged=no contradicts the physdev fields`, word);
        p.bridged = b;
        if (!b) {
          p.physdevIn = null;
          p.physdevOut = null;
        }
        break;
      }
      case 'icmp-type': {
        const v = need();
        const names = family === 'ipv6' ? ICMPV6_TYPES : ICMP_TYPES;
        const named = [...names.entries()].find(([k]) => k.toLowerCase() === v.toLowerCase());
        const m = /^([0-9]+)(?:\/([0-9]+))?$/.exec(v);
        if (named && named[0] !== 'any') {
          p.icmpType = named[1][0];
          if (named[1][1] >= 0) p.icmpCode = named[1][1];
        } else if (m && Number(m[1]) <= 255 && (m[2] === undefined || Number(m[2]) <= 255)) {
          p.icmpType = Number(m[1]);
          if (m[2] !== undefined) p.icmpCode = Number(m[2]);
        } else {
          throw new PacketSyntaxError(`icmp-type=${v}: expected TYPE[/CODE] (0-255) or a name such as echo-request`, v);
        }
        break;
      }
      case 'icmp-code':
        p.icmpCode = parseNumber(key, need(), 255);
        icmpCodeGiven = true;
        break;
      case 'flags':
        p.tcpFlags = parseFlags(need());
        break;
      case 'mac': {
        const v = need();
        if (!MAC_ADDRESS.test(v)) throw new PacketSyntaxError(`mac=${v}: expected six hexadecimal bytes such as fa:16:3e:11:22:33`, v);
        p.mac = normaliseMac(v);
        break;
      }
      case 'pkttype': {
        const v = need().toLowerCase();
        if (!PKT_TYPES.includes(v)) throw new PacketSyntaxError(`pkttype=${value}: expected one of ${PKT_TYPES.join(', ')}`, value);
        p.pkttype = v === 'host' ? 'unicast' : v;
        break;
      }
      case 'length':
        p.length = parseNumber(key, need(), 65535);
        break;
      case 'src-type':
      case 'dst-type': {
        const v = need().toUpperCase();
        if (!ADDR_TYPES.includes(v)) throw new PacketSyntaxError(`${key}=${value}: expected one of ${ADDR_TYPES.join(', ')}`, value);
        if (key === 'src-type') p.srcType = v;
        else p.dstType = v;
        break;
      }
      case 'fragment': {
        const v = (value ?? 'yes').toLowerCase();
        if (!['yes', 'no', 'true', 'false'].includes(v)) throw new PacketSyntaxError(`fragment=${value}: expected yes or no`, value);
        p.fragment = v === 'yes' || v === 'true';
        break;
      }
      default:
        break;
    }
  }
  if (icmpCodeGiven && p.icmpType === undefined) throw new PacketSyntaxError('icmp-code needs icmp-type as well');
  const portProto = p.proto === undefined || [6, 17, 132, 33, 136].includes(p.proto);
  if ((p.sport !== undefined || p.dport !== undefined) && !portProto) throw new PacketSyntaxError('sport/dport need a protocol with ports (tcp, udp, sctp, dccp, udplite)');
  if (p.tcpFlags !== undefined && p.proto !== undefined && p.proto !== 6) throw new PacketSyntaxError('flags need proto=tcp');
  if (p.icmpType !== undefined && p.proto !== undefined && p.proto !== (family === 'ipv6' ? 58 : 1)) throw new PacketSyntaxError(`icmp-type needs proto=${family === 'ipv6' ? 'icmpv6' : 'icmp'}`);
  return p;
}

/** Lower-case, two digits per byte, as the mac match compares. */
export function normaliseMac(s: string): string {
  return s.split(':').map((b) => b.padStart(2, '0').toLowerCase()).join(':');
}

/** Writes a packet back in the packet syntax (canonical order, only the known fields). */
export function formatPacket(p: Packet): string {
  const out: string[] = [];
  if (p.proto !== undefined) out.push(`proto=${protocolName(p.proto)}`);
  if (p.src !== undefined) out.push(`src=${formatAddress(p.src, p.family)}`);
  if (p.dst !== undefined) out.push(`dst=${formatAddress(p.dst, p.family)}`);
  if (p.sport !== undefined) out.push(`sport=${p.sport}`);
  if (p.dport !== undefined) out.push(`dport=${p.dport}`);
  if (p.in !== undefined) out.push(`in=${p.in}`);
  if (p.out !== undefined) out.push(`out=${p.out}`);
  if (p.state !== undefined) out.push(`state=${p.state}`);
  if (p.mark !== undefined) out.push(`mark=0x${p.mark.toString(16)}`);
  if (p.ctmark !== undefined) out.push(`connmark=0x${p.ctmark.toString(16)}`);
  if (p.bridged === false) out.push('bridged=no');
  if (p.physdevIn !== undefined) out.push(`physdev-in=${p.physdevIn ?? 'none'}`);
  if (p.physdevOut !== undefined) out.push(`physdev-out=${p.physdevOut ?? 'none'}`);
  if (p.physdevIsBridged) out.push('physdev-is-bridged');
  else if (p.bridged === true && p.physdevIn === undefined && p.physdevOut === undefined) out.push('bridged=yes');
  if (p.icmpType !== undefined) out.push(`icmp-type=${p.icmpType}${p.icmpCode !== undefined ? `/${p.icmpCode}` : ''}`);
  if (p.tcpFlags !== undefined) out.push(`flags=${tcpFlagNames(p.tcpFlags)}`);
  if (p.mac !== undefined) out.push(`mac=${p.mac}`);
  if (p.pkttype !== undefined) out.push(`pkttype=${p.pkttype}`);
  if (p.length !== undefined) out.push(`length=${p.length}`);
  if (p.srcType !== undefined) out.push(`src-type=${p.srcType}`);
  if (p.dstType !== undefined) out.push(`dst-type=${p.dstType}`);
  if (p.fragment) out.push('fragment');
  return out.join(' ');
}

/** A protocol number as a name, when it has a common one. */
export function protocolName(n: number): string {
  const names: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp', 33: 'dccp', 136: 'udplite', 47: 'gre', 50: 'esp', 51: 'ah' };
  return names[n] ?? String(n);
}

/** TCP flag bits as `SYN,ACK`. */
export function tcpFlagNames(bits: number): string {
  const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'].filter((f) => (bits & TCP_FLAG_BITS[f]) !== 0);
  return names.length ? names.join(',') : 'NONE';
}
