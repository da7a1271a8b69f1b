/**
 * Evaluation of a rule's conditions against the packet state the tracer carries. Every test is
 * three-valued: true, false, or undefined when the answer depends on something the packet
 * description does not say (an unspecified field) or on state outside the packet (rate limits,
 * ipsets, time of day, …). The code follows the kernel's own match functions (ip_packet_match,
 * xt_tcpudp, xt_multiport, xt_conntrack, xt_physdev, …), including their quirks.
 */
import type { MatchUse, OptionUse, RuleInfo } from '../rule.ts';
import { ADDR_TYPE_PARAMS, CT_STATE_PARAMS, STATE_PARAMS, type Hook } from '../extensions/extensions.ts';
import { canonicalChoiceList, looksNumeric, icmpText, readIcmpType, readPortRange, parseMaskQuad, parseShortQuad, readIPv4, parseIPv6, parsePrefixLength, parseUnsigned, protocolNumberOf, ICMP_TYPES, ICMPV6_TYPES, type Family } from '../extensions/value-kinds.ts';
import { normaliseMac, parseAddress, TCP_FLAG_BITS, type CtState } from './packet.ts';

/** A three-valued truth: undefined means "cannot be decided from the packet". */
export type Tri = boolean | undefined;

/** A 32-bit mark of which only some bits may be known. */
export interface Bits {
  /** The values of the known bits (unknown bits are 0). */
  readonly value: number;
  /** Which bits are known. */
  readonly known: number;
}

/** Fully known bits. */
export const knownBits = (v: number): Bits => ({ value: v >>> 0, known: 0xffffffff });
/** Fully unknown bits. */
export const UNKNOWN_BITS: Bits = { value: 0, known: 0 };

/** Applies `mark = (mark & ~mask) ^ xor` to partly known bits. */
export function xmark(b: Bits, mask: number, xor: number): Bits {
  const known = (b.known | mask) >>> 0;
  const value = (((b.value & ~mask) ^ xor) & known) >>> 0;
  return { value, known };
}

/** The packet as the tracer sees it at one rule: fields may have been rewritten by NAT or MARK. */
export interface EvalState {
  readonly family: Family;
  readonly hook: Hook;
  readonly table: string;
  readonly proto?: number;
  readonly src?: bigint;
  readonly dst?: bigint;
  readonly sport?: number;
  readonly dport?: number;
  /**
   * The incoming interface; '' in OUTPUT and for locally generated packets in POSTROUTING (a
   * forwarded packet keeps the interface it came in on there, as the kernel hands it to the hook).
   */
  readonly in?: string;
  /** The outgoing interface; '' in hooks without one (PREROUTING, INPUT). */
  readonly out?: string;
  /**
   * The conntrack state seen by matches: undefined when unknown. In the raw table, before
   * conntrack has run, the kernel reports INVALID (no entry yet) unless the packet was untracked.
   */
  readonly ct?: CtState;
  /** Whether a conntrack entry is attached (connmark needs one); undefined when unknown. */
  readonly hasCt?: boolean;
  readonly mark: Bits;
  readonly ctmark: Bits;
  readonly bridged?: boolean;
  readonly physdevIn?: string | null;
  readonly physdevOut?: string | null;
  readonly physdevIsBridged?: boolean;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly tcpFlags?: number;
  readonly mac?: string;
  readonly pkttype?: string;
  readonly length?: number;
  readonly srcType?: string;
  readonly dstType?: string;
  readonly fragment: boolean;
  /** The original direction's tuple (before NAT), known for a connection's first packet. */
  readonly orig?: { readonly src?: bigint; readonly dst?: bigint; readonly sport?: number; readonly dport?: number };
}

/** The outcome of one condition: its truth and, when false or undecided, why. */
export interface CondResult {
  readonly result: Tri;
  /** What was tested, e.g. `-s 10.0.0.0/8` or `-m limit`. */
  readonly what: string;
  readonly reason?: string;
}

const and = (a: Tri, b: Tri): Tri => (a === false || b === false ? false : a === undefined || b === undefined ? undefined : true);
const neg = (a: Tri, n: boolean): Tri => (a === undefined ? undefined : n ? !a : a);

/** Parses `addr[/len|/mask]` into value and mask; undefined for host names. */
export function parseNet(s: string, family: Family): { addr: bigint; mask: bigint } | undefined {
  const slash = s.indexOf('/');
  const host = slash >= 0 ? s.slice(0, slash) : s;
  const m = slash >= 0 ? s.slice(slash + 1) : undefined;
  const bits = family === 'ipv4' ? 32 : 128;
  const full = (1n << BigInt(bits)) - 1n;
  // The value iptables gives the address (`010.0.0.1` is 8.0.0.1); a host name stays unread.
  const v4 = family === 'ipv4' ? readIPv4(host) : undefined;
  let addr = family === 'ipv4' ? (v4 === undefined ? undefined : BigInt(v4)) : parseAddress(host, family);
  if (addr === undefined) return undefined;
  let mask = full;
  if (m !== undefined) {
    const len = looksNumeric(m) ? parsePrefixLength(m) : undefined;
    if (len !== undefined) {
      if (len > bits) return undefined;
      mask = len === 0 ? 0n : (full << BigInt(bits - len)) & full;
    } else {
      const mq = family === 'ipv4' ? parseMaskQuad(m) : undefined;
      const mv = family === 'ipv4' ? (mq !== undefined ? BigInt(mq) : undefined) : parseIPv6(m) ? parseAddress(m, family) : undefined;
      if (mv === undefined) return undefined;
      mask = mv;
    }
  }
  addr &= mask;
  return { addr, mask };
}

/** Whether `a` is in `net`. */
function inNet(a: bigint | undefined, net: { addr: bigint; mask: bigint } | undefined): Tri {
  if (net === undefined || a === undefined) return undefined;
  return (a & net.mask) === net.addr;
}

/** The kernel's interface comparison: exact name, or a prefix when the rule's name ends in '+'. */
export function ifaceMatches(actual: string | undefined, pattern: string): Tri {
  if (actual === undefined) return undefined;
  if (pattern.endsWith('+')) return actual.startsWith(pattern.slice(0, -1));
  return actual === pattern;
}

const protoName = (p: number | undefined): string | undefined => (p === 6 ? 'tcp' : p === 17 ? 'udp' : p === 132 ? 'sctp' : p === 33 ? 'dccp' : undefined);

/** Whether a value lies in an inclusive range; unknown when either is unknown. */
function inRange(v: number | undefined, r: [number, number] | undefined): Tri {
  if (v === undefined || r === undefined) return undefined;
  return v >= r[0] && v <= r[1];
}

/** A `value[/mask]` mark as the mark and connmark matches read it. */
export function parseMarkValue(s: string): { value: number; mask: number } | undefined {
  const [v, m] = s.split('/');
  const value = parseUnsigned(v);
  const mask = m === undefined ? 0xffffffff : parseUnsigned(m);
  if (value === undefined || mask === undefined) return undefined;
  return { value: value >>> 0, mask: mask >>> 0 };
}

/** `(bits & mask) == value` over partly known bits. */
function markTest(b: Bits, s: string): Tri {
  const mv = parseMarkValue(s);
  if (!mv) return undefined;
  const { value, mask } = mv;
  const knownInMask = (mask & b.known) >>> 0;
  // A known bit that disagrees decides "no match" whatever the unknown bits are.
  if (((b.value & knownInMask) >>> 0) !== ((value & knownInMask) >>> 0)) return false;
  if (knownInMask !== mask) return undefined;
  return true;
}

/** Evaluates the base part of a rule (-s -d -p -i -o -f) for one source/destination pair. */
export function evalBase(info: RuleInfo, st: EvalState, srcWord: string | undefined, dstWord: string | undefined): CondResult[] {
  const out: CondResult[] = [];
  for (const o of info.base) {
    const v = o.values[0]?.value ?? '';
    const bang = o.negated ? '! ' : '';
    switch (o.name) {
      case 's':
      case 'd': {
        const word = o.name === 's' ? srcWord ?? v : dstWord ?? v;
        const net = parseNet(word, st.family);
        const actual = o.name === 's' ? st.src : st.dst;
        const r = neg(inNet(actual, net), o.negated);
        out.push({ result: r, what: `${bang}-${o.name} ${word}`, reason: net === undefined ? `'${word}' is not an address the tracer can compare (a host name?)` : actual === undefined ? `the packet's ${o.name === 's' ? 'source' : 'destination'} address is not given` : undefined });
        break;
      }
      case 'p': {
        const want = protocolNumberOf(v);
        let r: Tri;
        if (want === 0) r = true;
        else if (want === undefined || st.proto === undefined) r = undefined;
        else r = st.proto === want;
        out.push({ result: neg(r, o.negated), what: `${bang}-p ${v}`, reason: st.proto === undefined ? 'the packet\'s protocol is not given' : undefined });
        break;
      }
      case 'i':
      case 'o': {
        const actual = o.name === 'i' ? st.in : st.out;
        out.push({ result: neg(ifaceMatches(actual, v), o.negated), what: `${bang}-${o.name} ${v}`, reason: actual === undefined ? `the packet's ${o.name === 'i' ? 'incoming' : 'outgoing'} interface is not given` : undefined });
        break;
      }
      case 'f':
        out.push({ result: neg(st.fragment, o.negated), what: `${bang}-f` });
        break;
      default:
        break;
    }
  }
  return out;
}

const valueOf = (o: OptionUse, k = 0): string => o.values[k]?.value ?? '';

/** Packet-type names as the pkttype match knows them. */
const PKTTYPE_ALIASES: Readonly<Record<string, string>> = { host: 'unicast' };

/** Evaluates one `-m` module (or implicit protocol match). */
export function evalMatch(m: MatchUse, st: EvalState, ruleProto: string | undefined): CondResult {
  const what = `-m ${m.name}`;
  const undecided = (reason: string): CondResult => ({ result: undefined, what, reason });
  const tri = (r: Tri, reason?: string): CondResult => ({ result: r, what, reason: r === true ? undefined : reason });
  const opts = m.options;
  const pname = protoName(st.proto) ?? ruleProto;
  const all = (tests: (o: OptionUse) => [Tri, string | undefined]): CondResult => {
    let r: Tri = true;
    const reasons: string[] = [];
    for (const o of opts) {
      const [t, why] = tests(o);
      const v = neg(t, o.negated);
      if (v !== true && why) reasons.push(`${o.negated ? '! ' : ''}--${o.name}${o.values.length ? ' ' + o.values.map((a) => a.value).join(' ') : ''}: ${why}`);
      r = and(r, v);
      if (r === false) return { result: false, what, reason: reasons[reasons.length - 1] };
    }
    return { result: r, what, reason: r === true ? undefined : reasons.join('; ') };
  };
  const fieldWhy = (v: unknown, field: string, r: Tri): string | undefined => (v === undefined ? `the packet's ${field} is not given` : r === false ? `${field} does not match` : undefined);
  switch (m.name) {
    case 'comment':
      return tri(true);
    case 'tcp':
    case 'udp':
    case 'sctp':
    case 'dccp':
    case 'udplite': {
      // The port matches never match a non-first fragment.
      if (st.fragment) return tri(false, 'the packet is a non-first fragment (no layer-4 header)');
      return all((o) => {
        switch (o.name) {
          case 'source-port': { const r = inRange(st.sport, readPortRange(valueOf(o), o.spec?.args[0]?.kind, pname)); return [r, fieldWhy(st.sport, 'source port', r)]; }
          case 'destination-port': { const r = inRange(st.dport, readPortRange(valueOf(o), o.spec?.args[0]?.kind, pname)); return [r, fieldWhy(st.dport, 'destination port', r)]; }
          case 'tcp-flags':
          case 'syn': {
            const mask = o.name === 'syn' ? 0x17 : flagBits(valueOf(o, 0));
            const comp = o.name === 'syn' ? 0x02 : flagBits(valueOf(o, 1));
            const r = st.tcpFlags === undefined ? undefined : (st.tcpFlags & mask) === comp;
            return [r, st.tcpFlags === undefined ? "the packet's TCP flags are not given" : 'TCP flags differ'];
          }
          default:
            return [undefined, 'not modelled by the tracer'];
        }
      });
    }
    case 'multiport': {
      if (st.fragment) return tri(false, 'the packet is a non-first fragment (no layer-4 header)');
      return all((o) => {
        const ranges = valueOf(o).split(',').map((x) => readPortRange(x, o.spec?.args[0]?.kind, pname));
        const anyIn = (v: number | undefined): Tri => ranges.reduce<Tri>((acc, r) => (acc === true ? true : inRange(v, r) === true ? true : acc === undefined || inRange(v, r) === undefined ? undefined : false), false);
        if (o.name === 'source-ports') { const r = anyIn(st.sport); return [r, fieldWhy(st.sport, 'source port', r)]; }
        if (o.name === 'destination-ports') { const r = anyIn(st.dport); return [r, fieldWhy(st.dport, 'destination port', r)]; }
        const a = anyIn(st.sport);
        const b = anyIn(st.dport);
        const r: Tri = a === true || b === true ? true : a === undefined || b === undefined ? undefined : false;
        return [r, r === undefined ? 'a port of the packet is not given' : 'neither port matches'];
      });
    }
    case 'icmp':
    case 'icmp6': {
      if (st.fragment) return tri(false, 'the packet is a non-first fragment');
      return all((o) => {
        const spec = valueOf(o);
        const table = m.name === 'icmp' ? ICMP_TYPES : ICMPV6_TYPES;
        const kind = m.name === 'icmp' ? 'ICMP' : 'ICMPv6';
        const read = readIcmpType(spec, table);
        if (!read) return [undefined, `unreadable ${kind} type`];
        const { type, codes } = read;
        // Type 255 ("any") matches every ICMP packet in the IPv4 match.
        if (m.name === 'icmp' && type === 255) return [true, undefined];
        if (st.icmpType === undefined) return [undefined, `the packet's ${kind} type is not given`];
        if (st.icmpType !== type) return [false, `${kind} type ${icmpText(st.icmpType, 0, 255, st.family)} is not ${icmpText(type, 0, 255, st.family)}`];
        if (codes[0] === 0 && codes[1] === 255) return [true, undefined];
        if (st.icmpCode === undefined) return [undefined, `the packet's ${kind} code is not given`];
        const r = st.icmpCode >= codes[0] && st.icmpCode <= codes[1];
        return [r, `${kind} code ${st.icmpCode} is not ${codes[0] === codes[1] ? codes[0] : `${codes[0]}-${codes[1]}`}`];
      });
    }
    case 'iprange':
      return all((o) => {
        const [a, b] = valueOf(o).split('-');
        // iprange's IPv4 addresses are iptables' numeric form (`010.0.0.1` is 8.0.0.1).
        const read = (x: string): bigint | undefined => {
          if (st.family !== 'ipv4') return parseAddress(x, st.family);
          const n = parseShortQuad(x);
          return n === undefined ? undefined : BigInt(n);
        };
        const lo = read(a);
        const hi = b === undefined ? lo : read(b);
        const actual = o.name === 'src-range' ? st.src : st.dst;
        if (lo === undefined || hi === undefined) return [undefined, 'unreadable range'];
        if (actual === undefined) return [undefined, `the packet's ${o.name === 'src-range' ? 'source' : 'destination'} address is not given`];
        const r = actual >= lo && actual <= hi;
        return [r, 'address outside the range'];
      });
    case 'state':
    case 'conntrack': {
      const noCt = st.ct === 'INVALID' || st.ct === 'UNTRACKED';
      const hasState = opts.some((o) => o.name === 'state' || o.name === 'ctstate');
      let sawNonState = false;
      const res = all((o) => {
        if (o.name === 'state' || o.name === 'ctstate') {
          // As iptables reads them: any case, and beginnings of names (`E` is ESTABLISHED).
          const states = canonicalChoiceList(valueOf(o), o.name === 'state' ? STATE_PARAMS : CT_STATE_PARAMS) ?? valueOf(o).toUpperCase().split(',');
          if (st.ct === undefined) return [undefined, 'the packet\'s conntrack state is not given'];
          if (states.includes(st.ct)) return [true, undefined];
          // The SNAT/DNAT pseudo-states depend on the connection's NAT bindings.
          if (states.some((s) => s === 'SNAT' || s === 'DNAT') && !noCt) return [undefined, 'the SNAT/DNAT pseudo-states depend on the connection'];
          return [false, `state ${st.ct} is not in ${states.join(',')}`];
        }
        sawNonState = true;
        if (st.ct === undefined) return [undefined, 'the packet\'s conntrack state is not given'];
        // Without a conntrack entry, the kernel skips every other test and answers "state given?".
        if (noCt) return [true, undefined];
        if (o.name === 'ctproto') {
          const want = protocolNumberOf(valueOf(o));
          if (st.proto === undefined || want === undefined) return [undefined, "the packet's protocol is not given"];
          return [st.proto === want, 'protocol differs'];
        }
        if (st.ct === 'NEW' && st.orig) {
          const t = st.orig;
          switch (o.name) {
            case 'ctorigsrc': { const r = inNet(t.src, parseNet(valueOf(o), st.family)); return [r, fieldWhy(t.src, 'original source', r)]; }
            case 'ctorigdst': { const r = inNet(t.dst, parseNet(valueOf(o), st.family)); return [r, fieldWhy(t.dst, 'original destination', r)]; }
            case 'ctorigsrcport': { const r = inRange(t.sport, readPortRange(valueOf(o), o.spec?.args[0]?.kind, pname)); return [r, fieldWhy(t.sport, 'original source port', r)]; }
            case 'ctorigdstport': { const r = inRange(t.dport, readPortRange(valueOf(o), o.spec?.args[0]?.kind, pname)); return [r, fieldWhy(t.dport, 'original destination port', r)]; }
            case 'ctdir': return [valueOf(o).toUpperCase() === 'ORIGINAL', 'a new connection\'s packet goes in the ORIGINAL direction'];
            default: break;
          }
        }
        return [undefined, 'depends on the connection table'];
      });
      if (noCt && sawNonState && res.result !== false) return tri(hasState, 'without a conntrack entry only --ctstate can match');
      return res;
    }
    case 'mark':
      return all((o) => { const r = markTest(st.mark, valueOf(o)); return [r, r === undefined ? 'the packet mark is not known' : 'mark differs']; });
    case 'connmark': {
      if (st.hasCt === false) return tri(false, 'the packet has no conntrack entry');
      if (st.hasCt === undefined) return undecided('whether the packet has a conntrack entry is not known');
      return all((o) => { const r = markTest(st.ctmark, valueOf(o)); return [r, r === undefined ? 'the connection mark is not known' : 'connection mark differs']; });
    }
    case 'physdev':
      return tri(...physdev(m, st));
    case 'mac': {
      // xt_mac needs an Ethernet header, which the loopback device's packets do not have: no
      // match, negated or not.
      if (st.in === 'lo') return tri(false, 'a packet from the loopback device has no Ethernet header: -m mac never matches it');
      return all((o) => {
        if (st.mac === undefined) return [undefined, "the packet's source MAC is not given"];
        const r = st.mac === normaliseMac(valueOf(o));
        return [r, 'source MAC differs'];
      });
    }
    case 'addrtype': {
      if (opts.some((o) => o.name === 'limit-iface-in' || o.name === 'limit-iface-out')) return undecided('--limit-iface-in/out depend on the routing table');
      return all((o) => {
        const types = canonicalChoiceList(valueOf(o), ADDR_TYPE_PARAMS) ?? valueOf(o).toUpperCase().split(',');
        const actual = o.name === 'src-type' ? st.srcType : st.dstType;
        if (actual === undefined) return [undefined, `the packet's ${o.name} is not given`];
        return [types.includes(actual), `${o.name} ${actual} is not in ${types.join(',')}`];
      });
    }
    case 'pkttype':
      return all((o) => {
        const want = valueOf(o).toLowerCase();
        if (st.pkttype === undefined) return [undefined, "the packet's link-layer type is not given"];
        return [(PKTTYPE_ALIASES[want] ?? want) === st.pkttype, `packet type ${st.pkttype} differs`];
      });
    case 'length':
      return all((o) => {
        const r = inRange(st.length, lengthRange(valueOf(o)));
        return [r, st.length === undefined ? "the packet's length is not given" : 'length outside the range'];
      });
    default:
      return undecided(m.spec ? `the ${m.name} match depends on state outside the packet description` : `unknown match module '${m.name}'`);
  }
}

function lengthRange(s: string): [number, number] | undefined {
  const [a, b] = s.split(':');
  const lo = parseUnsigned(a);
  const hi = b === undefined ? lo : b === '' ? 65535 : parseUnsigned(b);
  return lo === undefined || hi === undefined ? undefined : [lo, hi];
}

function flagBits(s: string): number {
  let bits = 0;
  for (const f of s.split(',')) if (f !== '') bits |= TCP_FLAG_BITS[f.toUpperCase()] ?? 0;
  return bits;
}

/** The physdev match, following xt_physdev's physdev_mt line by line. */
function physdev(m: MatchUse, st: EvalState): [Tri, string | undefined] {
  const opt = (n: string): OptionUse | undefined => m.options.find((o) => o.name === n);
  const bridged = opt('physdev-is-bridged');
  const isIn = opt('physdev-is-in');
  const isOut = opt('physdev-is-out');
  const pin = opt('physdev-in');
  const pout = opt('physdev-out');
  if (st.bridged === undefined) return [undefined, 'whether the packet is bridged is not given (physdev-in=…, physdev-out=…, physdev-is-bridged or bridged=no)'];
  if (!st.bridged) {
    // Without bridge information only inverted options match.
    for (const o of [bridged, isIn, isOut, pin, pout]) if (o && !o.negated) return [false, 'the packet is not bridged'];
    return [true, undefined];
  }
  const outdev = st.physdevOut;
  const indev = st.physdevIn;
  // A bridged packet's output port exists when physdev-is-bridged says so; its name may be unknown.
  const hasOut: Tri = outdev === undefined ? (st.physdevIsBridged ? true : undefined) : outdev !== null;
  const hasIn: Tri = indev === undefined ? undefined : indev !== null;
  let r: Tri = true;
  if (bridged) r = and(r, neg(hasOut, bridged.negated));
  if (r === false) return [false, '--physdev-is-bridged: the packet does not leave by a bridge port'];
  if (isIn) r = and(r, neg(hasIn, isIn.negated));
  if (isOut) r = and(r, neg(hasOut, isOut.negated));
  if (r === false) return [false, '--physdev-is-in/out differs'];
  if (pin) {
    // The kernel skips the name test when there is no input port.
    const t: Tri = indev === null ? true : indev === undefined ? undefined : neg(ifaceMatches(indev, valueOf(pin)), pin.negated);
    r = and(r, t);
    if (r === false) return [false, `--physdev-in ${valueOf(pin)}: the packet entered by ${indev}`];
  }
  if (pout) {
    const t: Tri = outdev === null ? true : outdev === undefined ? undefined : neg(ifaceMatches(outdev, valueOf(pout)), pout.negated);
    r = and(r, t);
    if (r === false) return [false, `--physdev-out ${valueOf(pout)}: the packet leaves by ${outdev}`];
  }
  return [r, r === undefined ? 'the packet\'s bridge ports are not fully given' : undefined];
}

