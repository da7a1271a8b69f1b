/**
 * Translates rules into packet spaces. The dimensions are the fields iptables matches on; the
 * address, interface and mark dimensions are compressed per table into the classes the table's own
 * rules can tell apart (an address class per stretch of addresses between the bounds of the
 * networks and ranges the rules name, an interface class per literal name and per `prefix+`
 * pattern, a mark value per combination of the mark bits any `-m mark` tests), which keeps the
 * spaces small and exact: two packets of the same classes are treated alike by every rule.
 *
 * A match the analysis does not model (limit, recent, string, set, owner, unknown modules, host
 * names, …) makes the rule "approximated": its space then stands for the packets it MAY match,
 * and the analysis never lets such a rule hide later rules.
 */
import type { Rule } from '../model.ts';
import type { MatchUse, OptionUse, RuleInfo } from '../rule.ts';
import { canonicalChoiceList, ICMP_TYPES, ICMPV6_TYPES, icmpText, looksNumeric, MAC_ADDRESS, parseMaskQuad, parseShortQuad, readIPv4, readIcmpType, readPortRange, parsePrefixLength, parseUnsigned, protocolNumberOf, type Family } from '../extensions/value-kinds.ts';
import { formatAddress, normaliseMac, parseAddress, TCP_FLAG_BITS } from '../trace/packet.ts';
import { CT_STATE_PARAMS, STATE_PARAMS, type Hook } from '../extensions/extensions.ts';
import { cubeWith, EMPTY_SET, fromValues, intervalsOf, isFull, normalise, range, setIntersect, setSubsetOf, setSubtract, setUnion, universe, type Cube, type Dimensions, type Interval, type IntervalSet, type Space } from './packet-space.ts';

/** An inclusive interval of addresses. */
type AddressInterval = readonly [bigint, bigint];

/** Dimension indices. */
export const D = { src: 0, dst: 1, proto: 2, sport: 3, dport: 4, icmp: 5, in: 6, out: 7, state: 8, mark: 9, flags: 10, frag: 11, bridged: 12, physIn: 13, physOut: 14, sets: 15, mac: 16 } as const;

/**
 * The ipset lookups tracked exactly at most (see `Vocabulary.setLookups`); the table's most used
 * ones are tracked, and rules with the others are approximated.
 */
const MAX_SET_LOOKUPS = 10;

/** The highest address of a family. */
function addressMax(family: Family): bigint {
  return family === 'ipv4' ? (1n << 32n) - 1n : (1n << 128n) - 1n;
}

/** The last address of address class `c` (the classes start at `starts`; the last ends at `max`). */
function classEnd(starts: readonly bigint[], c: number, max: bigint): bigint {
  return c + 1 < starts.length ? starts[c + 1] - 1n : max;
}

/**
 * The size of a run of values of a dimension, counting the addresses an address class holds (the
 * classes start at `starts`; the last ends at `max`). IPv4 sizes are exact in doubles, so they are
 * taken from a table of the starts as numbers: ranking the blockers of 10,000 shadowed rules spent
 * 47 ms on the big-integer arithmetic alone. IPv6 sizes need the big integers (their difference is
 * what must be exact, not the addresses).
 */
function addressMeasure(starts: readonly bigint[], max: bigint): (dim: number, lo: number, hi: number) => number {
  if (max < BigInt(Number.MAX_SAFE_INTEGER)) {
    const at = new Float64Array(starts.length + 1);
    for (let i = 0; i < starts.length; i++) at[i] = Number(starts[i]);
    at[starts.length] = Number(max) + 1;
    return (dim, lo, hi) => (dim === D.src || dim === D.dst ? at[hi + 1] - at[lo] : hi - lo + 1);
  }
  return (dim, lo, hi) => (dim === D.src || dim === D.dst ? Number(classEnd(starts, hi, max) - starts[lo] + 1n) : hi - lo + 1);
}

/** The key of an ipset lookup: the set's name and the direction flags (`src`, `dst,dst` …) as written. */
export function setLookupKey(set: string, flags: string): string {
  return `${set}\n${flags}`;
}

/** The set's name and the direction flags of an ipset lookup's key. */
function setLookupOf(key: string): { readonly set: string; readonly flags: string } {
  const k = key.indexOf('\n');
  return { set: key.slice(0, k), flags: key.slice(k + 1) };
}

/** Conntrack states in the order of the state dimension. */
export const STATES = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'] as const;

/** The states of the packets the nat table sees (see hookEntry). */
const NAT_STATES: IntervalSet = fromValues(['NEW', 'RELATED'].map((x) => (STATES as readonly string[]).indexOf(x)));

/** The states of packets that belong to a connection (NEW, ESTABLISHED, RELATED). */
const TRACKED_STATES: IntervalSet = [0, 2];

/** The mark variables (see `MarkVariable`) tracked exactly at most; above, mark matches are approximated. */
const MAX_MARK_BITS = 10;

/**
 * One variable of the compressed mark: a single bit that some test or MARK operation names by
 * value, or a group of bits that every test and every operation of the table covers wholly or not
 * at all and never names by value. A group's variable says whether any of its bits is set: a test
 * covering it requires them all clear (its value has none of them), and an operation covering it
 * clears them all (its value has none of them), so that one bit per group is exact. This keeps a
 * test with a wide mask (`--mark 0x1`, whose mask is every bit, or Neutron's `0x4000000/0xffff0000`)
 * exact with a handful of variables.
 */
export interface MarkVariable {
  /** The mark bits the variable stands for (one bit, or a group's bits). */
  readonly mask: number;
  /**
   * Whether the bits are those of the connection's mark (`-m connmark`, CONNMARK) rather than of
   * the packet's: both marks share the mark dimension, each with variables of its own.
   */
  readonly ct: boolean;
}

/** An interface class: the empty name (no interface), a literal name, or "other names under a prefix". */
export interface IfaceClass {
  readonly kind: 'none' | 'name' | 'other';
  /** The name, or the longest `prefix+` pattern's prefix ('' for other names with no such prefix when kind is other and noPrefix). */
  readonly text: string;
  /** For `other`: whether a `prefix+` pattern is the longest known prefix (false: no known prefix at all). */
  readonly underPrefix: boolean;
}

/** What the rules of a table can distinguish, and the dimensions built from it. */
export interface Vocabulary {
  readonly family: Family;
  readonly dims: Dimensions;
  readonly ifaces: readonly IfaceClass[];
  /**
   * The variables of the compressed mark, lowest bits first: bit j of a value of the mark
   * dimension is variable j. Empty when no test reads the mark (or when too many would be needed).
   */
  readonly markBits: readonly MarkVariable[];
  /** True when mark matches cannot be modelled (too many variables). */
  readonly markOpaque: boolean;
  /**
   * The first address of every address class, ascending (the first is 0): class k holds the
   * addresses from `addressStarts[k]` up to the next start. No rule of the table tells two
   * addresses of one class apart.
   */
  readonly addressStarts: readonly bigint[];
  /**
   * The ipset lookups (`setLookupKey`) the membership dimension tracks: bit j of its values says
   * whether the packet is in the set when looked up as lookup j says. The analysis does not know
   * what a set holds, so each lookup is a free variable: a rule is unreachable only when it is
   * unreachable whatever the sets hold (and whatever two lookups of one set answer: an over-
   * approximation, which keeps every claim sound). A set is taken to hold the same entries while
   * one packet passes the rules, except that a SET target may change the sets it names.
   */
  readonly setLookups: readonly string[];
  /**
   * The source MAC addresses the rules name (`-m mac --mac-source`), lower case, sorted. Classes of
   * the MAC dimension: 0 for a packet without an Ethernet header (from a loopback or tunnel
   * device, say), which `-m mac` never matches, negated or not; 1 for any MAC not named; 2 + i for
   * `macs[i]`.
   */
  readonly macs: readonly string[];
}

const valueOf = (o: OptionUse, k = 0): string => o.values[k]?.value ?? '';

/** One thing a `VocabularyCollector` was told: the method and its arguments (see `record`). */
export type CollectorCall =
  | readonly ['iface', string]
  | readonly ['addresses', readonly (AddressInterval | undefined)[]]
  | readonly ['mark', number, number, boolean]
  | readonly ['ipset', string]
  | readonly ['mac', string]
  | readonly ['markOperation', number, number, boolean];

/**
 * Collects what the rules of a table tell apart (interface names and `prefix+` patterns, the
 * bounds of address networks and ranges, tested mark bits) while `readRule` reads them, and
 * builds the table's vocabulary from it.
 */
export class VocabularyCollector {
  /** What the collector was told since `record` (see `record`), while recording. */
  private log: CollectorCall[] | undefined;
  // Everything is counted (how many readings told it), so that `forget` can take back what one
  // reading told: what no reading tells any more is gone, as if never told.
  private readonly names = new Counts<string>();
  private readonly prefixes = new Counts<string>();
  /**
   * Per mark, the packet's (0) and the connection's (1): per bit, how many tests read it and how
   * many values name it; the masks of tests and operations (distinct, as read).
   */
  private readonly marks = [0, 1].map(() => ({ tested: new Array<number>(32).fill(0), masks: new Counts<number>(), values: new Array<number>(32).fill(0) }));
  private readonly addrMax: bigint;
  private readonly bounds = new Counts<bigint>();
  /** The ipset lookups (`setLookupKey`) the rules make, with how many rules make each. */
  private readonly setLookups = new Counts<string>();
  /** The source MAC addresses the rules name, as `normaliseMac` writes them. */
  private readonly macs = new Counts<string>();

  constructor(readonly family: Family) {
    this.addrMax = addressMax(family);
  }

  /**
   * Starts writing down what the collector is told, until `recorded`. An editor's incremental
   * check (incremental.ts) keeps what each rule reading told, so that the vocabulary of an edited
   * version can be told what a new reading names (`replay`) and made to forget what a reading no
   * rule has any more named (`forget`).
   */
  record(): void {
    this.log = [];
  }

  /** What the collector was told since `record`; stops recording. */
  recorded(): readonly CollectorCall[] {
    const log = this.log ?? [];
    this.log = undefined;
    return log;
  }

  /** Tells the collector again what `recorded` returned. */
  replay(calls: readonly CollectorCall[]): void {
    for (const c of calls) this.apply(c, 1);
  }

  /**
   * Takes back what `recorded` returned, told earlier: the vocabulary is then the one of what the
   * collector was told without it (the same as a collector told only the rest).
   */
  forget(calls: readonly CollectorCall[]): void {
    for (const c of calls) this.apply(c, -1);
  }

  private apply(c: CollectorCall, by: 1 | -1): void {
    switch (c[0]) {
      case 'iface':
        return this.countIface(c[1], by);
      case 'addresses':
        return this.countAddresses(c[1], by);
      case 'mark':
        return this.countMark(c[1], c[2], c[3], by);
      case 'ipset':
        return this.setLookups.add(c[1], by);
      case 'mac':
        return this.macs.add(c[1], by);
      case 'markOperation':
        return this.countMarkOperation(c[1], c[2], c[3], by);
    }
  }

  private countIface(pattern: string, by: number): void {
    if (pattern.endsWith('+')) this.prefixes.add(pattern.slice(0, -1), by);
    else if (pattern !== '') this.names.add(pattern, by);
  }

  private countAddresses(ivs: readonly (AddressInterval | undefined)[], by: number): void {
    for (const iv of ivs) {
      if (!iv) continue;
      this.bounds.add(iv[0], by);
      if (iv[1] < this.addrMax) this.bounds.add(iv[1] + 1n, by);
    }
  }

  private countMark(mask: number, value: number, ct: boolean, by: number): void {
    const w = this.marks[ct ? 1 : 0];
    addBits(w.tested, mask, by);
    w.masks.add(mask, by);
    addBits(w.values, value & mask, by);
  }

  private countMarkOperation(mask: number, xor: number, ct: boolean, by: number): void {
    const w = this.marks[ct ? 1 : 0];
    w.masks.add(mask, by);
    addBits(w.values, xor, by);
  }

  // Each method below is what a rule reading tells; a call is written down only while recording.

  /** An interface name or `prefix+` pattern. */
  iface(pattern: string): void {
    this.log?.push(['iface', pattern]);
    this.countIface(pattern, 1);
  }

  /** Address intervals a rule names (unreadable ones are skipped: they make the rule approximated). */
  addresses(ivs: readonly (AddressInterval | undefined)[]): void {
    this.log?.push(['addresses', ivs]);
    this.countAddresses(ivs, 1);
  }

  /** A mark test `(mark & mask) == value`, of the connection's mark when `ct`. */
  mark(mask: number, value: number, ct = false): void {
    this.log?.push(['mark', mask, value, ct]);
    this.countMark(mask, value, ct, 1);
  }

  /** An ipset lookup (`-m set --match-set NAME FLAGS`). */
  ipset(key: string): void {
    this.log?.push(['ipset', key]);
    this.setLookups.add(key, 1);
  }

  /** A source MAC address a rule names (as `normaliseMac` writes it). */
  mac(address: string): void {
    this.log?.push(['mac', address]);
    this.macs.add(address, 1);
  }

  /** A MARK operation `mark = (mark & ~mask) ^ xor` (CONNMARK's on the connection's mark when `ct`). */
  markOperation(mask: number, xor: number, ct = false): void {
    this.log?.push(['markOperation', mask, xor, ct]);
    this.countMarkOperation(mask, xor, ct, 1);
  }

  /**
   * The mark variables, the packet's mark first: tested bits that some value names, one each; the
   * other tested bits grouped by the masks that cover them (bits covered by the same masks are
   * never told apart).
   */
  private markVariables(): MarkVariable[] {
    const out: MarkVariable[] = [];
    for (const ct of [false, true]) {
      const w = this.marks[ct ? 1 : 0];
      const own: MarkVariable[] = [];
      const groups = new Map<string, number>();
      const masks = [...w.masks.keys()];
      for (let b = 0; b < 32; b++) {
        const bit = (1 << b) >>> 0;
        if (w.tested[b] === 0) continue;
        if (w.values[b] !== 0) {
          own.push({ mask: bit, ct });
          continue;
        }
        const signature = masks.map((m) => ((m & bit) !== 0 ? '1' : '0')).join('');
        groups.set(signature, ((groups.get(signature) ?? 0) | bit) >>> 0);
      }
      for (const mask of groups.values()) own.push({ mask, ct });
      // Lowest bits first, so that a table testing single bits numbers its variables as the bits go.
      out.push(...own.sort((x, y) => lowestBit(x.mask) - lowestBit(y.mask)));
    }
    return out;
  }

  /** The vocabulary of everything collected. */
  build(): Vocabulary {
    const family = this.family;
    const addrMax = this.addrMax;
    const ifaces: IfaceClass[] = [{ kind: 'none', text: '', underPrefix: false }];
    for (const n of [...this.names.keys()].sort()) ifaces.push({ kind: 'name', text: n, underPrefix: false });
    ifaces.push({ kind: 'other', text: '', underPrefix: false });
    for (const p of [...this.prefixes.keys()].sort()) ifaces.push({ kind: 'other', text: p, underPrefix: true });
    const variables = this.markVariables();
    const markOpaque = variables.length > MAX_MARK_BITS;
    const markBits = markOpaque ? [] : variables;
    const k = ifaces.length - 1;
    // Address 0 starts the first class whatever the rules name.
    const addressStarts = [...new Set([0n, ...this.bounds.keys()])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    const a = addressStarts.length - 1;
    // The most used lookups, the most used of all on the highest bit: "in the set" is then a
    // single interval of the dimension for it (a lower bit's values are many short intervals).
    const setLookups = [...this.setLookups.entries()]
      .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
      .slice(0, MAX_SET_LOOKUPS)
      .map(([key]) => key)
      .reverse();
    const macs = [...this.macs.keys()].sort();
    const dims: Dimensions = {
      names: ['source', 'destination', 'protocol', 'source port', 'destination port', 'ICMP type', 'in-interface', 'out-interface', 'state', 'mark', 'TCP flags', 'fragment', 'bridged', 'physdev-in', 'physdev-out', 'ipset membership', 'source MAC'],
      max: [a, a, 255, 65535, 65535, 65535, k, k, STATES.length - 1, (1 << markBits.length) - 1, 63, 1, 1, k, k, (1 << setLookups.length) - 1, macs.length + 1],
      // Address classes stand for many addresses: rank spaces by the addresses they hold.
      measure: addressMeasure(addressStarts, addrMax),
    };
    return { family, dims, ifaces, markBits, markOpaque, addressStarts, setLookups, macs };
  }
}

/** How many times each key was told; a key told as many times as taken back is gone. */
class Counts<K> {
  private readonly map = new Map<K, number>();
  add(key: K, by: number): void {
    const n = (this.map.get(key) ?? 0) + by;
    if (n > 0) this.map.set(key, n);
    else this.map.delete(key);
  }
  keys(): IterableIterator<K> {
    return this.map.keys();
  }
  entries(): IterableIterator<[K, number]> {
    return this.map.entries();
  }
}

/** Adds `by` to the count of every bit set in `bits`. */
function addBits(counts: number[], bits: number, by: number): void {
  for (let b = 0; b < 32; b++) if (((bits >>> b) & 1) !== 0) counts[b] += by;
}

/** Whether an interface class matches a rule's interface pattern (`name` or `prefix+`), as the kernel compares them. */
function classMatches(c: IfaceClass, pattern: string): boolean {
  if (pattern.endsWith('+')) {
    const p = pattern.slice(0, -1);
    if (c.kind === 'none') return p === '';
    if (c.kind === 'name') return c.text.startsWith(p);
    return c.underPrefix && c.text.startsWith(p);
  }
  return c.kind === 'name' && c.text === pattern;
}

/** Per vocabulary, the interface classes of every pattern met so far, and of every literal name. */
const ifaceCache = new WeakMap<Vocabulary, { readonly patterns: Map<string, IntervalSet>; readonly names: Map<string, number> }>();

/**
 * The interface classes a pattern matches. A literal name is its own class (found in a map: a
 * table may name thousands of interfaces); a `prefix+` pattern is compared with every class once
 * and remembered.
 */
function ifaceSet(v: Vocabulary, pattern: string): IntervalSet {
  let cache = ifaceCache.get(v);
  if (!cache) {
    const names = new Map<string, number>();
    v.ifaces.forEach((c, i) => {
      if (c.kind === 'name') names.set(c.text, i);
    });
    ifaceCache.set(v, (cache = { patterns: new Map(), names }));
  }
  if (!pattern.endsWith('+')) {
    const i = cache.names.get(pattern);
    return i === undefined ? EMPTY_SET : [i, i];
  }
  let set = cache.patterns.get(pattern);
  if (!set) {
    const ids: number[] = [];
    v.ifaces.forEach((c, i) => {
      if (classMatches(c, pattern)) ids.push(i);
    });
    cache.patterns.set(pattern, (set = fromValues(ids)));
  }
  return set;
}

/** The interface class of the empty name ("no interface"). */
export const NO_IFACE: IntervalSet = [0, 0];

/** The address class holding an address. */
export function addressClassOf(v: Vocabulary, a: bigint): number {
  const s = v.addressStarts;
  let lo = 0;
  let hi = s.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (s[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The address classes of some address intervals: exact for the table's own networks and ranges,
 * whose bounds are class bounds (a reversed interval, whose start is a bound, gives no class).
 */
function addressSet(v: Vocabulary, ivs: readonly AddressInterval[]): IntervalSet {
  return normalise(ivs.map(([lo, hi]) => [addressClassOf(v, lo), hi < lo ? -1 : addressClassOf(v, hi)] as Interval));
}

/** The addresses of some address classes, as intervals. */
function addressIntervals(v: Vocabulary, s: IntervalSet): AddressInterval[] {
  const max = addressMax(v.family);
  return intervalsOf(s).map(([lo, hi]) => [v.addressStarts[lo], classEnd(v.addressStarts, hi, max)] as AddressInterval);
}

/** A `value[/mask]` mark. */
function parseMarkValue(s: string): { value: number; mask: number } | undefined {
  const [v, m] = s.split('/');
  const value = parseUnsigned(v);
  const mask = m === undefined ? 0xffffffff : parseUnsigned(m);
  if (value === undefined || mask === undefined) return undefined;
  return { value: value >>> 0, mask: mask >>> 0 };
}

/** The lowest set bit of a nonzero mask. */
function lowestBit(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

/**
 * Compressed mark values satisfying `(mark & mask) == value`, for the connection's mark when `ct`
 * (the other mark's variables may be anything). A variable the mask covers must be set exactly
 * when the value has one of its bits (never, for a group: see `MarkVariable`).
 */
export function markSet(v: Vocabulary, mask: number, value: number, ct = false): IntervalSet {
  if ((value & ~mask) >>> 0 !== 0) return EMPTY_SET;
  const vals: number[] = [];
  for (let c = 0; c < 1 << v.markBits.length; c++) {
    let ok = true;
    v.markBits.forEach((x, j) => {
      if (x.ct === ct && (mask & x.mask) !== 0 && ((c >>> j) & 1) !== ((value & x.mask) !== 0 ? 1 : 0)) ok = false;
    });
    if (ok) vals.push(c);
  }
  return fromValues(vals);
}

/**
 * The compressed mark after `mark = (mark & ~mask) ^ xor`, on the connection's mark when `ct` (a
 * covered group is cleared: see `MarkVariable`; the other mark is kept).
 */
export function markTransform(v: Vocabulary, mask: number, xor: number, ct = false): (c: number) => number {
  return (c) => {
    let out = 0;
    v.markBits.forEach((x, j) => {
      const old = (c >>> j) & 1;
      const bit = x.ct !== ct ? old : ((mask & x.mask) !== 0 ? 0 : old) ^ ((xor & x.mask) !== 0 ? 1 : 0);
      if (bit) out |= 1 << j;
    });
    return out;
  };
}

/**
 * The bits of the compressed mark whose variables some bit of `mask` reaches, of the connection's
 * mark when `ct`: what a copy between the two marks (CONNMARK's save and restore) may change.
 */
export function markBitsUnder(v: Vocabulary, mask: number, ct: boolean): number {
  let bits = 0;
  v.markBits.forEach((x, j) => {
    if (x.ct === ct && (mask & x.mask) !== 0) bits |= 1 << j;
  });
  return bits;
}

/** Per vocabulary, the bit of every tracked ipset lookup. */
const setBitCache = new WeakMap<Vocabulary, ReadonlyMap<string, number>>();

/** The bit of the membership dimension that tracks an ipset lookup; -1 when it is not tracked. */
export function setLookupBit(v: Vocabulary, key: string): number {
  let bits = setBitCache.get(v);
  if (!bits) setBitCache.set(v, (bits = new Map(v.setLookups.map((k, j) => [k, j]))));
  return bits.get(key) ?? -1;
}

/** Per vocabulary, the membership sets built so far (index 2j + 1 for members of lookup j). */
const membershipCache = new WeakMap<Vocabulary, IntervalSet[]>();

/**
 * The values of the membership dimension in which lookup bit `j` answers `member`; one shared
 * array per vocabulary, so that the rules asking the same question share it (comparing cubes then
 * finds them equal at once).
 */
export function membershipSet(v: Vocabulary, j: number, member: boolean): IntervalSet {
  let cache = membershipCache.get(v);
  if (!cache) membershipCache.set(v, (cache = []));
  const k = 2 * j + (member ? 1 : 0);
  let set = cache[k];
  if (!set) {
    // Runs of 2^j values alternate between out and in, starting with out.
    const step = 1 << j;
    const out: number[] = [];
    for (let lo = member ? step : 0; lo <= v.dims.max[D.sets]; lo += 2 * step) out.push(lo, lo + step - 1);
    cache[k] = set = out;
  }
  return set;
}

/** Per vocabulary, the class of every MAC address it names. */
const macClassCache = new WeakMap<Vocabulary, ReadonlyMap<string, number>>();

/** The class of the MAC dimension for no Ethernet header: `-m mac` never matches such packets. */
export const NO_MAC: IntervalSet = [0, 0];

/** The class of a source MAC address (as `normaliseMac` writes it): 1 when the rules name it nowhere. */
export function macClassOf(v: Vocabulary, address: string): number {
  let classes = macClassCache.get(v);
  if (!classes) macClassCache.set(v, (classes = new Map(v.macs.map((m, i) => [m, i + 2]))));
  return classes.get(address) ?? 1;
}

/** The bits of the membership dimension that track lookups of the named sets (whatever their flags). */
export function setLookupBitsOf(v: Vocabulary, sets: readonly string[]): number {
  let bits = 0;
  v.setLookups.forEach((key, j) => {
    if (sets.includes(setLookupOf(key).set)) bits |= 1 << j;
  });
  return bits;
}

/** The (mask, xor) of a MARK target, as libxt_MARK builds it; undefined when unreadable. */
function markOperationOf(opts: readonly OptionUse[]): { mask: number; xor: number } | undefined {
  for (const o of opts) {
    const mv = parseMarkValue(valueOf(o));
    if (!mv) continue;
    const hasMask = valueOf(o).includes('/');
    switch (o.name) {
      case 'set-xmark': return { mask: mv.mask, xor: mv.value };
      case 'set-mark': return { mask: ((hasMask ? mv.mask : 0xffffffff) | mv.value) >>> 0, xor: mv.value };
      case 'and-mark': return { mask: ~mv.value >>> 0, xor: 0 };
      case 'or-mark': return { mask: mv.value, xor: mv.value };
      case 'xor-mark': return { mask: 0, xor: mv.value };
      default: break;
    }
  }
  return undefined;
}

/**
 * What a CONNMARK target does to the marks, as libxt_CONNMARK reads its options: an operation on
 * the connection's mark like MARK's, or a copy between the marks whose masks default to every bit
 * (`--mask` sets both). Nothing when unreadable (the analysis then forgets both marks).
 */
function connmarkOperationOf(opts: readonly OptionUse[]): Pick<TargetReading, 'ctMark' | 'copiesMark'> {
  const copy = opts.find((o) => o.name === 'save-mark' || o.name === 'restore-mark');
  if (!copy) {
    const ctMark = markOperationOf(opts);
    return ctMark ? { ctMark } : {};
  }
  const num = (name: string): number | undefined => {
    const o = opts.find((x) => x.name === name);
    return o === undefined ? undefined : parseUnsigned(valueOf(o));
  };
  const both = num('mask') ?? 0xffffffff;
  return { copiesMark: { to: copy.name === 'save-mark' ? 'connection' : 'packet', nfmask: (num('nfmask') ?? both) >>> 0, ctmask: (num('ctmask') ?? both) >>> 0 } };
}

/**
 * An `a-b` address range (or one address) of the iprange match; undefined when unreadable. A
 * reversed range is kept as it is: it holds no address, as in the kernel's comparison.
 */
function rangeInterval(s: string, family: Family): AddressInterval | undefined {
  const [lo, hi] = s.split('-');
  // iprange's IPv4 addresses are iptables' numeric form (`010.0.0.1` is 8.0.0.1, `10.1` 10.1.0.0).
  const read = (x: string): bigint | undefined => (family === 'ipv4' ? bigOf(parseShortQuad(x)) : parseAddress(x, family));
  const a = read(lo ?? '');
  const z = hi === undefined ? a : read(hi);
  return a === undefined || z === undefined ? undefined : [a, z];
}

/** A number as a bigint, undefined staying undefined. */
function bigOf(n: number | undefined): bigint | undefined {
  return n === undefined ? undefined : BigInt(n);
}

/** An address or network (`a`, `a/len`, `a/mask` with a contiguous mask) as an interval; undefined otherwise. */
function netInterval(s: string, family: Family): AddressInterval | undefined {
  const slash = s.indexOf('/');
  const host = slash >= 0 ? s.slice(0, slash) : s;
  const bits = family === 'ipv4' ? 32 : 128;
  // The value iptables gives the address (`010.0.0.1` is 8.0.0.1); a host name stays unread.
  const addr = family === 'ipv4' ? bigOf(readIPv4(host)) : parseAddress(host, family);
  if (addr === undefined) return undefined;
  let len = bits;
  if (slash >= 0) {
    const m = s.slice(slash + 1);
    const n = looksNumeric(m) ? parsePrefixLength(m) : undefined;
    if (n !== undefined) len = n;
    else {
      const mv = family === 'ipv4' ? bigOf(parseMaskQuad(m)) : parseAddress(m, family);
      if (mv === undefined) return undefined;
      // Only contiguous masks are intervals.
      const inv = ((1n << BigInt(bits)) - 1n) ^ mv;
      if ((inv & (inv + 1n)) !== 0n) return undefined;
      len = bits - inv.toString(2).replace(/^0+/, '').length;
    }
    if (len > bits) return undefined;
  }
  const span = (1n << BigInt(bits - len)) - 1n;
  const lo = addr & ~span & ((1n << BigInt(bits)) - 1n);
  return [lo, lo + span];
}

/** Bits of a comma-separated TCP flag list. */
function flagBits(s: string): number {
  let bits = 0;
  for (const f of s.split(',')) if (f !== '') bits |= TCP_FLAG_BITS[f.toUpperCase()] ?? 0;
  return bits;
}

/** The meaning of a rule's conditions as a packet space. */
export interface RuleSpace {
  /** The packets the rule matches (or may match, when approximated). */
  readonly space: Space;
  /** True when some condition is not modelled: the rule may match fewer packets than `space`. */
  readonly approximated: boolean;
  /** What was not modelled, for messages. */
  readonly unmodelled: readonly string[];
}

/** Per vocabulary, the interface classes of every name ("some interface"), built once. */
const presentIfaces = new WeakMap<Vocabulary, IntervalSet>();

function presentIface(v: Vocabulary): IntervalSet {
  let s = presentIfaces.get(v);
  if (!s) presentIfaces.set(v, (s = setSubtract(range(0, v.dims.max[D.physIn]), NO_IFACE)));
  return s;
}

/** The cube of every packet: packet-space.ts builds it once per vocabulary, so that rules share its sets. */
function fullCube(v: Vocabulary): Cube {
  return universe(v.dims);
}

/** A constraint builder: one cube (per-dimension sets) plus extra alternatives (unions). */
class Builder {
  private cube: IntervalSet[];
  /** Alternatives that are AND-ed with the cube: each is a union of cubes. */
  private readonly alternatives: Cube[][] = [];
  readonly unmodelled: string[] = [];
  constructor(private readonly v: Vocabulary) {
    this.cube = fullCube(v).slice();
  }
  /** Restricts one dimension (negated: to the complement). */
  restrict(dim: number, set: IntervalSet, negated = false): void {
    const full = fullCube(this.v)[dim];
    const s = negated ? setSubtract(full, set) : setIntersect(set, full);
    this.cube[dim] = setIntersect(this.cube[dim], s);
  }
  /** Adds a disjunction of constraint maps. */
  either(options: readonly ReadonlyMap<number, IntervalSet>[]): void {
    if (options.length === 1) {
      // A single alternative is a plain restriction.
      for (const [d, x] of options[0]) this.restrict(d, x);
      return;
    }
    const full = fullCube(this.v);
    this.alternatives.push(
      options.map((m) => {
        const c = full.slice();
        for (const [d, x] of m) c[d] = setIntersect(x, full[d]);
        return c;
      }),
    );
  }
  opaque(what: string): void {
    this.unmodelled.push(what);
  }
  build(): Space {
    if (this.alternatives.length === 0) return this.cube.some((s) => s.length === 0) ? [] : [this.cube];
    let cubes: Cube[] = [this.cube];
    for (const alt of this.alternatives) {
      const next: Cube[] = [];
      for (const c of cubes) for (const a of alt) {
        const x = c.map((s, i) => setIntersect(s, a[i]));
        if (!x.some((s) => s.length === 0)) next.push(x);
      }
      cubes = next;
    }
    return cubes.filter((c) => !c.some((s) => s.length === 0));
  }
}

const PORT_PROTOS = new Set(['tcp', 'udp', 'sctp', 'dccp', 'udplite']);

/**
 * A set of values, or how to compute it once the vocabulary is known: the classes of some
 * addresses or of an interface name (kept as data: a file of unique rules holds one per rule until
 * the vocabulary is built, and closures cost three times the memory), or a function.
 */
type SetOf = IntervalSet | { readonly addresses: readonly AddressInterval[] } | { readonly iface: string } | ((v: Vocabulary) => IntervalSet);

const setIn = (s: SetOf, v: Vocabulary): IntervalSet => (typeof s === 'function' ? s(v) : 'addresses' in s ? addressSet(v, s.addresses) : 'iface' in s ? ifaceSet(v, s.iface) : s);

/** A condition restricting one dimension, kept as data (the most common step by far). */
interface Restriction {
  readonly dim: number;
  readonly set: SetOf;
  readonly negated: boolean;
}

/** One condition of a rule, applied to a builder once the table's vocabulary is known. */
type Step = Restriction | ((b: Builder, v: Vocabulary) => void);

/** Records a rule's conditions as steps, in the order a `Builder` is to apply them. */
class Recorder {
  readonly steps: Step[] = [];
  restrict(dim: number, set: SetOf, negated = false): void {
    this.steps.push({ dim, set, negated });
  }
  either(options: readonly ReadonlyMap<number, SetOf>[]): void {
    this.steps.push((b, v) => b.either(options.map((m) => new Map([...m].map(([d, x]) => [d, setIn(x, v)])))));
  }
  opaque(what: string): void {
    this.steps.push((b) => b.opaque(what));
  }
  custom(step: Step): void {
    this.steps.push(step);
  }
}

/** A rule's target as the analysis needs it. */
export interface TargetReading {
  readonly name: string;
  /** `-g` rather than `-j`. */
  readonly goto: boolean;
  /** The target names a chain (rather than a builtin or extension target). */
  readonly chain: boolean;
  /** A key comparing actions: the target with its options. */
  readonly action: string;
  /** A MARK target's operation, when readable. */
  readonly mark?: { readonly mask: number; readonly xor: number };
  /** A CONNMARK target's operation on the connection's mark (set, and, or, xor), when readable. */
  readonly ctMark?: { readonly mask: number; readonly xor: number };
  /**
   * A CONNMARK target that copies one mark into the other: into the connection's (`--save-mark`)
   * or the packet's (`--restore-mark`), with the masks of the packet's and the connection's mark.
   */
  readonly copiesMark?: { readonly to: 'connection' | 'packet'; readonly nfmask: number; readonly ctmask: number };
  /** The sets a SET target adds the packet to or deletes it from (their lookups may then answer otherwise). */
  readonly changesSets?: readonly string[];
  /** A SET target that sets the mark from the set's entry (`--map-set … --map-mark`). */
  readonly mapsMark?: boolean;
}

/**
 * A rule as the analysis reads it, once (a rule's interpretation may be recomputed on every
 * access on big files): its conditions, to be placed in the table's vocabulary, and its target.
 */
export interface RuleReading {
  readonly steps: readonly Step[];
  readonly target?: TargetReading;
}

/**
 * Reads a rule's conditions and target, telling `collect` what they name (interfaces, addresses,
 * marks) so that the table's vocabulary can be built before any space is.
 */
export function readRule(rule: Rule, collect: VocabularyCollector): RuleReading {
  return readRuleInfo(rule.info, collect);
}

/** `readRule` from the rule's interpretation, for those who hold it already (the model's observers). */
export function readRuleInfo(info: RuleInfo, collect: VocabularyCollector): RuleReading {
  const b = new Recorder();
  const family = collect.family;
  const proto = info.protocolNegated ? undefined : info.protocol;
  for (const o of info.base) {
    const val = valueOf(o);
    switch (o.name) {
      case 's':
      case 'd': {
        const ivs = val.split(',').map((x) => netInterval(x, family));
        collect.addresses(ivs);
        if (ivs.some((x) => x === undefined)) b.opaque(`${o.negated ? '! ' : ''}-${o.name} ${val}`);
        else b.restrict(o.name === 's' ? D.src : D.dst, { addresses: ivs as AddressInterval[] }, o.negated);
        break;
      }
      case 'p': {
        const n = protocolNumberOf(val);
        if (n === undefined || n > 255) b.opaque(`-p ${val}`);
        else if (n !== 0) b.restrict(D.proto, range(n, n), o.negated);
        break;
      }
      case 'i':
      case 'o':
        collect.iface(val);
        b.restrict(o.name === 'i' ? D.in : D.out, { iface: val }, o.negated);
        break;
      case 'f':
        b.restrict(D.frag, range(1, 1), o.negated);
        break;
      default:
        break;
    }
  }
  for (const m of info.matches) matchSpace(m, b, collect, proto);
  const t = info.target;
  const target: TargetReading | undefined = t && {
    name: t.name,
    goto: !!t.goto,
    chain: t.kind === 'chain',
    action: [t.goto ? '-g' : '-j', t.name, ...t.options.map((o) => `${o.negated ? '!' : ''}${o.name}=${o.values.map((x) => x.value).join(' ')}`)].join(' '),
    mark: t.name === 'MARK' ? markOperationOf(t.options) : undefined,
    ...(t.name === 'CONNMARK' ? connmarkOperationOf(t.options) : {}),
    ...(t.name === 'SET'
      ? { changesSets: t.options.filter((o) => o.name === 'add-set' || o.name === 'del-set').map((o) => valueOf(o)), mapsMark: t.options.some((o) => o.name === 'map-mark') }
      : {}),
  };
  if (target?.mark) collect.markOperation(target.mark.mask, target.mark.xor);
  if (target?.ctMark) collect.markOperation(target.ctMark.mask, target.ctMark.xor, true);
  return { steps: b.steps, target };
}

/** The packets a read rule matches, in a vocabulary that knows everything it names. */
export function spaceOf(reading: RuleReading, v: Vocabulary): RuleSpace {
  const b = new Builder(v);
  for (const step of reading.steps) {
    if (typeof step === 'function') step(b, v);
    else b.restrict(step.dim, setIn(step.set, v), step.negated);
  }
  return { space: b.build(), approximated: b.unmodelled.length > 0, unmodelled: b.unmodelled.length > 0 ? b.unmodelled : NOTHING_UNMODELLED };
}

/** Shared by the many rules whose conditions are all modelled. */
const NOTHING_UNMODELLED: readonly string[] = [];

const NOT_FRAGMENT: IntervalSet = [0, 0];


function matchSpace(m: MatchUse, b: Recorder, collect: VocabularyCollector, proto: string | undefined): void {
  const pnum = proto !== undefined && looksNumeric(proto) ? protocolNumberOf(proto) : undefined;
  const pname = pnum !== undefined ? ({ 6: 'tcp', 17: 'udp', 132: 'sctp', 33: 'dccp', 136: 'udplite' } as Record<number, string>)[pnum] : proto;
  switch (m.name) {
    case 'comment':
      return;
    case 'tcp':
    case 'udp':
    case 'sctp':
    case 'dccp':
    case 'udplite': {
      if (!m.spec || !pname || !PORT_PROTOS.has(pname)) return b.opaque(`-m ${m.name}`);
      // The port matches never match a non-first fragment, negated or not.
      b.restrict(D.frag, NOT_FRAGMENT);
      for (const o of m.options) {
        if (o.name === 'source-port' || o.name === 'destination-port') {
          const iv = readPortRange(valueOf(o), o.spec?.args[0]?.kind, pname);
          if (!iv) b.opaque(`--${o.name} ${valueOf(o)}`);
          else b.restrict(o.name === 'source-port' ? D.sport : D.dport, normalise([iv]), o.negated);
        } else if (m.name === 'tcp' && (o.name === 'tcp-flags' || o.name === 'syn')) {
          const mask = o.name === 'syn' ? 0x17 : flagBits(valueOf(o, 0));
          const comp = o.name === 'syn' ? 0x02 : flagBits(valueOf(o, 1));
          const vals: number[] = [];
          for (let f = 0; f < 64; f++) if ((f & mask) === comp) vals.push(f);
          b.restrict(D.flags, fromValues(vals), o.negated);
        } else b.opaque(`--${o.name}`);
      }
      return;
    }
    case 'multiport': {
      if (!pname || !PORT_PROTOS.has(pname)) return b.opaque('-m multiport');
      b.restrict(D.frag, NOT_FRAGMENT);
      for (const o of m.options) {
        const ivs = valueOf(o).split(',').map((x) => readPortRange(x, o.spec?.args[0]?.kind, pname));
        if (ivs.some((x) => x === undefined)) {
          b.opaque(`--${o.name} ${valueOf(o)}`);
          continue;
        }
        const set = normalise(ivs as Interval[]);
        if (o.name === 'source-ports') b.restrict(D.sport, set, o.negated);
        else if (o.name === 'destination-ports') b.restrict(D.dport, set, o.negated);
        else if (o.name === 'ports') {
          // Either port in the list; negated: neither.
          if (o.negated) {
            b.restrict(D.sport, set, true);
            b.restrict(D.dport, set, true);
          } else b.either([new Map([[D.sport, set]]), new Map([[D.dport, set]])]);
        } else b.opaque(`--${o.name}`);
      }
      return;
    }
    case 'icmp':
    case 'icmp6': {
      b.restrict(D.frag, NOT_FRAGMENT);
      const table = m.name === 'icmp' ? ICMP_TYPES : ICMPV6_TYPES;
      for (const o of m.options) {
        const spec = valueOf(o);
        const read = readIcmpType(spec, table);
        if (!read || read.type > 255 || read.codes[1] > 255) {
          b.opaque(`--${o.name} ${spec}`);
          continue;
        }
        const { type, codes } = read;
        // Type 255 ("any") matches every ICMP packet in the IPv4 match.
        const set = m.name === 'icmp' && type === 255 ? range(0, 65535) : range(type * 256 + codes[0], type * 256 + codes[1]);
        b.restrict(D.icmp, set, o.negated);
      }
      return;
    }
    case 'iprange':
      for (const o of m.options) {
        const iv = rangeInterval(valueOf(o), collect.family);
        collect.addresses([iv]);
        if (!iv) b.opaque(`--${o.name} ${valueOf(o)}`);
        else b.restrict(o.name === 'src-range' ? D.src : D.dst, { addresses: [iv] }, o.negated);
      }
      return;
    case 'state':
    case 'conntrack':
      for (const o of m.options) {
        if (o.name !== 'state' && o.name !== 'ctstate') {
          b.opaque(`--${o.name}`);
          continue;
        }
        // As iptables reads them: any case, and beginnings of names (`E` is ESTABLISHED).
        const names = canonicalChoiceList(valueOf(o), o.name === 'state' ? STATE_PARAMS : CT_STATE_PARAMS);
        if (!names || names.some((s) => !(STATES as readonly string[]).includes(s))) {
          b.opaque(`--${o.name} ${valueOf(o)}`);
          continue;
        }
        b.restrict(D.state, fromValues(names.map((s) => (STATES as readonly string[]).indexOf(s))), o.negated);
      }
      return;
    case 'mark':
      for (const o of m.options) {
        const text = valueOf(o);
        const mv = parseMarkValue(text);
        if (mv && o.name === 'mark') collect.mark(mv.mask, mv.value);
        // Whether the mark can be modelled is known only once every rule has been read.
        b.custom((bb, v) => {
          if (!mv || v.markOpaque) bb.opaque(`--mark ${text}`);
          else bb.restrict(D.mark, markSet(v, mv.mask, mv.value), o.negated);
        });
      }
      return;
    case 'set': {
      // `--return-nomatch` also matches the set's nomatch entries: another question than
      // membership, left unmodelled. Counter comparisons are not modelled either; the membership
      // test still holds for the rule to match.
      if (m.options.some((o) => o.name === 'return-nomatch')) return b.opaque('-m set --return-nomatch');
      const test = m.options.find((o) => o.name === 'match-set');
      for (const o of m.options) {
        if (o !== test && o.name !== 'update-counters' && o.name !== 'update-subcounters') b.opaque(`--${o.name}`);
      }
      if (!test) return b.opaque('-m set');
      const key = setLookupKey(valueOf(test, 0), valueOf(test, 1));
      collect.ipset(key);
      const text = `${test.negated ? '! ' : ''}--match-set ${valueOf(test, 0)} ${valueOf(test, 1)}`;
      return b.custom((bb, v) => {
        const j = setLookupBit(v, key);
        if (j < 0) bb.opaque(`-m set ${text} (more than ${MAX_SET_LOOKUPS} ipset lookups in the table)`);
        else bb.restrict(D.sets, membershipSet(v, j, !test.negated));
      });
    }
    case 'connmark':
      // xt_connmark needs the packet's connection: an INVALID or untracked packet never matches,
      // negated or not.
      b.restrict(D.state, TRACKED_STATES);
      for (const o of m.options) {
        const text = valueOf(o);
        const mv = parseMarkValue(text);
        if (mv && o.name === 'mark') collect.mark(mv.mask, mv.value, true);
        b.custom((bb, v) => {
          if (!mv || o.name !== 'mark' || v.markOpaque) bb.opaque(`-m connmark --${o.name} ${text}`);
          else bb.restrict(D.mark, markSet(v, mv.mask, mv.value, true), o.negated);
        });
      }
      return;
    case 'mac':
      for (const o of m.options) {
        const text = valueOf(o);
        if (o.name !== 'mac-source' || !MAC_ADDRESS.test(text)) {
          b.opaque(`--${o.name} ${text}`);
          continue;
        }
        const address = normaliseMac(text);
        collect.mac(address);
        // xt_mac needs an Ethernet header: a packet without one never matches, negated or not.
        b.restrict(D.mac, (v) => range(1, v.dims.max[D.mac]));
        b.restrict(D.mac, (v) => [macClassOf(v, address), macClassOf(v, address)], o.negated);
      }
      return;
    case 'physdev': {
      const options = m.options.map((o) => ({ name: o.name, negated: o.negated, value: valueOf(o) }));
      for (const o of options) if (o.name === 'physdev-in' || o.name === 'physdev-out') collect.iface(o.value);
      return b.custom((bb, v) => physdevSpace(options, bb, v));
    }
    default:
      return b.opaque(`-m ${m.name}`);
  }
}

/** An option of a match, read out of the rule. */
interface PlainOption {
  readonly name: string;
  readonly negated: boolean;
  readonly value: string;
}

/** The physdev match, following xt_physdev (and the tracer's reading of it). */
function physdevSpace(options: readonly PlainOption[], b: Builder, v: Vocabulary): void {
  const full = fullCube(v)[D.physIn];
  const present = presentIface(v);
  const opt = (n: string): PlainOption | undefined => options.find((o) => o.name === n);
  for (const o of options) if (!['physdev-in', 'physdev-out', 'physdev-is-in', 'physdev-is-out', 'physdev-is-bridged'].includes(o.name)) return b.opaque(`--${o.name}`);
  // Not bridged: the match holds only when every option is negated.
  const notBridged = options.every((o) => o.negated);
  let pin = full;
  let pout = full;
  const isBridged = opt('physdev-is-bridged');
  const isIn = opt('physdev-is-in');
  const isOut = opt('physdev-is-out');
  for (const o of [isBridged, isOut]) if (o) pout = setIntersect(pout, o.negated ? NO_IFACE : present);
  if (isIn) pin = setIntersect(pin, isIn.negated ? NO_IFACE : present);
  const name = (o: PlainOption | undefined, cur: IntervalSet): IntervalSet => {
    if (!o) return cur;
    const matching = ifaceSet(v, o.value);
    const named = o.negated ? setSubtract(present, matching) : setIntersect(present, matching);
    // Without such a port, the kernel skips the name test.
    return setIntersect(cur, setUnion(NO_IFACE, named));
  };
  pin = name(opt('physdev-in'), pin);
  pout = name(opt('physdev-out'), pout);
  const alts: Map<number, IntervalSet>[] = [new Map([[D.bridged, range(1, 1)], [D.physIn, pin], [D.physOut, pout]])];
  if (notBridged) alts.push(new Map([[D.bridged, range(0, 0)]]));
  b.either(alts);
}

/** The packets that can enter a builtin chain of a hook: no input interface on the output side, no output interface on the input side. */
export function hookEntry(v: Vocabulary, hook: Hook, table?: string): Space {
  const c = new Map<number, IntervalSet>();
  // The nat table sees only the first packet of a connection: conntrack hands it NEW packets and
  // the first RELATED ones (nf_nat_inet_fn consults the table only until the connection's NAT is
  // set up); established, invalid and untracked packets never traverse it.
  if (table === 'nat') c.set(D.state, NAT_STATES);
  // A packet in on the loopback device had its NAT set up on its way out (nat OUTPUT and
  // POSTROUTING): nat PREROUTING and INPUT never see it.
  const lo = ifaceSet(v, 'lo');
  if (table === 'nat' && (hook === 'PREROUTING' || hook === 'INPUT') && lo.length > 0) c.set(D.in, setSubtract(universe(v.dims)[D.in], lo));
  if (hook === 'PREROUTING' || hook === 'INPUT') c.set(D.out, NO_IFACE);
  // POSTROUTING keeps the incoming interface of a forwarded packet (ip_output and ip6_output hand
  // the hook the device the packet came in on); only locally generated packets have none there.
  // So a user chain called from POSTROUTING can match `-i` (the kernel counts it, as
  // trace-kernel.test.ts found), while OUTPUT never has an incoming interface.
  if (hook === 'OUTPUT') c.set(D.in, NO_IFACE);
  // A packet that is not bridged has no bridge ports.
  const cubes = [cubeWith(v.dims, new Map([...c, [D.bridged, range(1, 1)]])), cubeWith(v.dims, new Map([...c, [D.bridged, range(0, 0)], [D.physIn, NO_IFACE], [D.physOut, NO_IFACE]]))];
  // A packet from the loopback device has no Ethernet header (the kernel test mac-kernel.test.ts
  // shows it): when the rules name both `lo` and MACs, packets in on lo have no MAC, so that no
  // finding speaks of packets that cannot exist (a rule for lo "overlapping" one for a MAC).
  if (v.macs.length === 0 || lo.length === 0 || hook === 'OUTPUT' || hook === 'POSTROUTING') return cubes;
  const notLo = setSubtract(universe(v.dims)[D.in], lo);
  return cubes.flatMap((x) => [x.map((s, d) => (d === D.in ? setIntersect(s, notLo) : s)), x.map((s, d) => (d === D.in ? setIntersect(s, lo) : d === D.mac ? NO_MAC : s))]).filter((x) => x.every((s) => s.length > 0));
}

// ------------------------------------------------------------------------------------------
// Descriptions, for messages.
// ------------------------------------------------------------------------------------------

const PROTO_NAMES: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP', 33: 'DCCP', 136: 'UDP-Lite', 47: 'GRE', 50: 'ESP', 51: 'AH' };

function addrText(iv: AddressInterval, family: Family): string {
  const bits = family === 'ipv4' ? 32 : 128;
  const size = iv[1] - iv[0] + 1n;
  if ((size & (size - 1n)) === 0n && iv[0] % size === 0n) {
    const len = bits - (size.toString(2).length - 1);
    return len === bits ? formatAddress(iv[0], family) : `${formatAddress(iv[0], family)}/${len}`;
  }
  return `${formatAddress(iv[0], family)}-${formatAddress(iv[1], family)}`;
}

function addrSetText(s: readonly AddressInterval[], family: Family): string {
  const parts: string[] = [];
  for (const iv of s) {
    // Split a range into aligned blocks when that is short.
    let lo = iv[0];
    const blocks: string[] = [];
    while (lo <= iv[1] && blocks.length < 4) {
      let size = 1n;
      while (lo % (size * 2n) === 0n && lo + size * 2n - 1n <= iv[1]) size *= 2n;
      blocks.push(addrText([lo, lo + size - 1n], family));
      lo += size;
    }
    parts.push(lo <= iv[1] ? addrText(iv, family) : blocks.join(', '));
  }
  return parts.join(', ');
}

function numSetText(s: IntervalSet): string {
  return intervalsOf(s).map(([a, z]) => (a === z ? `${a}` : `${a}-${z}`)).join(', ');
}

/** Describes a set of values of one dimension, `negText` used when the complement is shorter. */
function dimText(s: IntervalSet, max: number, text: (x: IntervalSet) => string): { text: string; negated: boolean } {
  const comp = setSubtract(range(0, max), s);
  if (comp.length < s.length) return { text: text(comp), negated: true };
  return { text: text(s), negated: false };
}

/** One interval of the ICMP dimension (type << 8 | code) in words (see `icmpText`). */
function icmpIntervalText(a: number, z: number, family: Family): string {
  return a >> 8 === z >> 8 ? icmpText(a >> 8, a & 255, z & 255, family) : `${a >> 8}/${a & 255}-${z >> 8}/${z & 255}`;
}

/** Describes one cube in words: "TCP packets from 10.0.0.0/24 to port 22". */
export function describeCube(c: Cube, v: Vocabulary): string {
  const max = v.dims.max;
  const full = (d: number): boolean => isFull(c[d], max[d]);
  let what = 'packet';
  if (!full(D.proto)) {
    const p = c[D.proto];
    if (p.length === 2 && p[0] === p[1]) what = `${PROTO_NAMES[p[0]] ?? `protocol ${p[0]}`} packet`;
    else {
      const t = dimText(p, max[D.proto], (x) => intervalsOf(x).map(([a, z]) => (a === z ? PROTO_NAMES[a] ?? String(a) : `${a}-${z}`)).join('/'));
      what = t.negated ? `non-${t.text} packet` : `${t.text} packet`;
    }
  }
  const parts: string[] = [what];
  const addrPart = (d: number, word: string): void => {
    if (full(d)) return;
    const t = dimText(c[d], max[d], (x) => addrSetText(addressIntervals(v, x), v.family));
    parts.push(`${word} ${t.negated ? 'anywhere but ' : ''}${t.text}`);
  };
  addrPart(D.src, 'from');
  addrPart(D.dst, 'to');
  const portPart = (d: number, word: string): void => {
    if (full(d)) return;
    const t = dimText(c[d], max[d], numSetText);
    parts.push(`${word} ${t.negated ? 'other than ' : ''}${t.text}`);
  };
  portPart(D.sport, 'from port');
  portPart(D.dport, 'to port');
  // "every ICMPv6 packet of type …" (the protocol is said already), else "of ICMPv6 type …".
  if (!full(D.icmp)) parts.push(`of ${what.startsWith('ICMP') ? '' : v.family === 'ipv6' ? 'ICMPv6 ' : 'ICMP '}type ${intervalsOf(c[D.icmp]).map(([a, z]) => icmpIntervalText(a, z, v.family)).join(', ')}`);
  const ifacePart = (d: number, word: string): void => {
    if (full(d)) return;
    const names = intervalsOf(c[d]).flatMap(([a, z]) => {
      const out: string[] = [];
      for (let i = a; i <= z; i++) {
        const k = v.ifaces[i];
        out.push(k.kind === 'none' ? '(none)' : k.kind === 'name' ? k.text : k.underPrefix ? `other ${k.text}+` : 'other interfaces');
      }
      return out;
    });
    parts.push(`${word} ${names.length > 4 ? `${names.length} interface classes` : names.join('/')}`);
  };
  ifacePart(D.in, 'in on');
  ifacePart(D.out, 'out on');
  if (!full(D.state)) parts.push(`in state ${intervalsOf(c[D.state]).flatMap(([a, z]) => STATES.slice(a, z + 1)).join(',')}`);
  if (!full(D.mark)) parts.push(...markTexts(c[D.mark], v));
  if (!full(D.flags)) parts.push('with some TCP flags');
  // Port and ICMP matches imply a first fragment; say so only when nothing else does.
  const l4 = !full(D.sport) || !full(D.dport) || !full(D.icmp) || !full(D.flags);
  if (!full(D.frag) && (c[D.frag][0] === 1 || !l4)) parts.push(c[D.frag][0] === 1 ? '(a non-first fragment)' : '(not a non-first fragment)');
  if (!full(D.physIn) || !full(D.physOut) || !full(D.bridged)) parts.push('on some bridge ports');
  if (!full(D.mac)) parts.push(macText(c[D.mac], v));
  if (!full(D.sets)) {
    // The lookups every value of the cube answers alike are named; the others are left unsaid.
    const said: string[] = [];
    v.setLookups.forEach((key, j) => {
      const { set, flags } = setLookupOf(key);
      if (setSubsetOf(c[D.sets], membershipSet(v, j, true))) said.push(`in ipset ${set} (${flags})`);
      else if (setSubsetOf(c[D.sets], membershipSet(v, j, false))) said.push(`not in ipset ${set} (${flags})`);
    });
    parts.push(said.length > 0 && said.length <= 3 ? said.join(', ') : 'with some ipset memberships');
  }
  return parts.join(' ');
}

/** Words for the source MACs of a cube's MAC set ("with source MAC fa:16:3e:11:22:33", "with a source MAC other than …"). */
function macText(set: IntervalSet, v: Vocabulary): string {
  const max = v.dims.max[D.mac];
  const named = (x: IntervalSet): string[] => {
    const out: string[] = [];
    for (const [a, z] of intervalsOf(x)) for (let c = Math.max(a, 2); c <= z; c++) out.push(v.macs[c - 2]);
    return out;
  };
  if (setSubsetOf(set, NO_MAC)) return 'without an Ethernet header';
  const list = (xs: string[]): string => (xs.length > 4 ? `${xs.length} MACs` : xs.join('/'));
  const has = (c: number): boolean => setSubsetOf([c, c], set);
  if (!has(1)) return `with source MAC ${list(named(set))}${has(0) ? ' (or without an Ethernet header)' : ''}`;
  const missing = named(setSubtract(range(2, max), set));
  const rest = missing.length > 0 ? `with a source MAC other than ${list(missing)}` : 'with an Ethernet header';
  return has(0) ? `${rest} (or without an Ethernet header)` : rest;
}

/**
 * Words for the marks of a cube's mark set: "with mark 0x1/0x1", "with connection mark 0x0/0x4"
 * when the set fixes some bits and leaves the others free, else "with some marks" (or connection
 * marks). A group variable (see `MarkVariable`) only says whether any of its bits is set: fixed
 * to clear it is a value, fixed to set it is not.
 */
function markTexts(set: IntervalSet, v: Vocabulary): string[] {
  const values: number[] = [];
  for (let i = 0; i < set.length; i += 2) for (let x = set[i]; x <= set[i + 1]; x++) values.push(x);
  const has = new Set(values);
  const out: string[] = [];
  for (const ct of [false, true]) {
    let mask = 0;
    let value = 0;
    let loose = false;
    v.markBits.forEach((x, j) => {
      if (x.ct !== ct) return;
      const ones = values.filter((c) => ((c >>> j) & 1) === 1).length;
      const single = (x.mask & (x.mask - 1)) === 0;
      if (ones === 0 || (ones === values.length && single)) {
        mask = (mask | x.mask) >>> 0;
        if (ones > 0) value = (value | x.mask) >>> 0;
      } else if (ones === values.length || values.some((c) => !has.has(c ^ (1 << j)))) loose = true;
    });
    const word = ct ? 'connection mark' : 'mark';
    if (loose) out.push(`with some ${word}s`);
    else if (mask !== 0) out.push(`with ${word} 0x${value.toString(16)}${mask === 0xffffffff ? '' : `/0x${mask.toString(16)}`}`);
  }
  return out;
}

/** The interface class a concrete interface name falls in ('' is "no interface"). */
export function ifaceClassOf(v: Vocabulary, name: string): number {
  if (name === '') return 0;
  const exact = v.ifaces.findIndex((c) => c.kind === 'name' && c.text === name);
  if (exact >= 0) return exact;
  let best = v.ifaces.findIndex((c) => c.kind === 'other' && !c.underPrefix);
  let bestLen = -1;
  v.ifaces.forEach((c, i) => {
    if (c.kind === 'other' && c.underPrefix && name.startsWith(c.text) && c.text.length > bestLen) {
      best = i;
      bestLen = c.text.length;
    }
  });
  return best;
}

/** Concrete values per field, for describing a finite set of packets (e.g. the probes of a test). */
export interface ConcretePackets {
  readonly src?: readonly bigint[];
  readonly dst?: readonly bigint[];
  readonly proto?: readonly number[];
  readonly sport?: readonly number[];
  readonly dport?: readonly number[];
  readonly in?: readonly string[];
  readonly out?: readonly string[];
  readonly state?: readonly (typeof STATES)[number][];
  /** Marks as the packets carry them (projected on the tracked bits). */
  readonly mark?: readonly number[];
  /** The marks of the packets' connections. */
  readonly ctmark?: readonly number[];
  /** TCP flags as bits (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20). */
  readonly tcpFlags?: readonly number[];
  readonly fragment?: boolean;
  readonly bridged?: boolean;
  /** The answers of ipset lookups (`setLookupKey`); a lookup not given (or not tracked) may answer either way. */
  readonly ipsets?: ReadonlyMap<string, boolean>;
  /** Source MAC addresses; null for a packet without an Ethernet header. */
  readonly mac?: readonly (string | null)[];
}

/** The space of every combination of the given field values (fields left out are "any"). */
export function concreteSpace(v: Vocabulary, p: ConcretePackets): Space {
  const c = new Map<number, IntervalSet>();
  if (p.src) c.set(D.src, fromValues(p.src.map((a) => addressClassOf(v, a))));
  if (p.dst) c.set(D.dst, fromValues(p.dst.map((a) => addressClassOf(v, a))));
  if (p.proto) c.set(D.proto, fromValues(p.proto));
  if (p.sport) c.set(D.sport, fromValues(p.sport));
  if (p.dport) c.set(D.dport, fromValues(p.dport));
  if (p.in) c.set(D.in, fromValues(p.in.map((n) => ifaceClassOf(v, n))));
  if (p.out) c.set(D.out, fromValues(p.out.map((n) => ifaceClassOf(v, n))));
  if (p.state) c.set(D.state, fromValues(p.state.map((s) => (STATES as readonly string[]).indexOf(s))));
  // Each mark constrains its own variables only.
  const marks = (ms: readonly number[], ct: boolean): IntervalSet => ms.reduce<IntervalSet>((acc, m) => setUnion(acc, markSet(v, 0xffffffff, m >>> 0, ct)), EMPTY_SET);
  if (p.mark) c.set(D.mark, marks(p.mark, false));
  if (p.ctmark) c.set(D.mark, setIntersect(c.get(D.mark) ?? range(0, v.dims.max[D.mark]), marks(p.ctmark, true)));
  if (p.tcpFlags) c.set(D.flags, fromValues(p.tcpFlags));
  if (p.fragment !== undefined) c.set(D.frag, p.fragment ? range(1, 1) : range(0, 0));
  if (p.bridged === false) {
    c.set(D.bridged, range(0, 0));
    c.set(D.physIn, NO_IFACE);
    c.set(D.physOut, NO_IFACE);
  } else if (p.bridged === true) c.set(D.bridged, range(1, 1));
  for (const [key, member] of p.ipsets ?? []) {
    const j = setLookupBit(v, key);
    if (j >= 0) c.set(D.sets, setIntersect(c.get(D.sets) ?? range(0, v.dims.max[D.sets]), membershipSet(v, j, member)));
  }
  if (p.mac) c.set(D.mac, fromValues(p.mac.map((m) => (m === null ? 0 : macClassOf(v, normaliseMac(m))))));
  return [cubeWith(v.dims, c)];
}
