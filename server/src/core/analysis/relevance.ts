/**
 * Which distinctions between packets the rest of a chain can still make, and the projection of a
 * packet set onto them. A rule tells packets apart only at the bounds of its interval sets (its
 * "cuts": a cut at v separates the values below v from those from v on). Once the last rule (or
 * called chain) using a cut has been passed, no later test separates the two sides, so a set of
 * packets may be widened to whole blocks between the remaining cuts without changing what any
 * later rule sees: the projection is exact for the rest of the walk, and only ever adds packets,
 * so it is safe everywhere.
 *
 * This is what keeps the analysis linear on dumps where many rules each test one value (Neutron's
 * per-port jumps, one ipset or address per rule): the packets a rule gives back differ in values
 * no later rule looks at, and once those values are forgotten the pieces merge again.
 */
import { isFull, setSize, setUnion, simplify, union, universe, type Cube, type Dimensions, type IntervalSet, type Space } from './packet-space.ts';
import { drain, type Steps } from './steps.ts';

/** The distinctions some rules make: per dimension, the sorted cut values; and dimensions read whole. */
export interface Distinctions {
  /** Per dimension, the sorted, unique values v such that v - 1 and v are told apart. */
  readonly cuts: readonly (readonly number[])[];
  /** A bit per dimension in which every value may be told apart (e.g. a mark rewritten by MARK). */
  readonly whole: number;
}

/** The distinctions a packet set makes (the bounds of its intervals), plus dimensions read whole. */
export function distinctionsOf(s: Space, dims: Dimensions, whole = 0): Distinctions {
  // Most dimensions of most rules make no cut: they share one empty list (rules are many).
  const cuts: (readonly number[])[] = dims.max.map(() => NO_CUTS);
  for (const c of s) {
    for (let d = 0; d < c.length; d++) {
      const x = c[d];
      if (isFull(x, dims.max[d])) continue;
      const mine = cuts[d] === NO_CUTS ? (cuts[d] = []) : (cuts[d] as number[]);
      for (let i = 0; i < x.length; i += 2) {
        if (x[i] > 0) mine.push(x[i]);
        if (x[i + 1] < dims.max[d]) mine.push(x[i + 1] + 1);
      }
    }
  }
  // One cube yields its cuts in order already; several must be merged.
  return s.length === 1 ? { cuts, whole } : { cuts: cuts.map((x) => (x === NO_CUTS ? x : sortedUnique(x as number[]))), whole };
}

const NO_CUTS: readonly number[] = [];

function sortedUnique(xs: number[]): number[] {
  if (xs.length < 2) return xs;
  if (xs.length <= 32) {
    // Short lists (most chains'): an insertion sort in place allocates nothing.
    for (let i = 1; i < xs.length; i++) {
      const x = xs[i];
      let j = i - 1;
      while (j >= 0 && xs[j] > x) {
        xs[j + 1] = xs[j];
        j--;
      }
      xs[j + 1] = x;
    }
  } else {
    // A typed array sorts numbers natively, without calling a comparison function per step.
    const sorted = new Float64Array(xs).sort();
    for (let i = 0; i < sorted.length; i++) xs[i] = sorted[i];
  }
  let n = 1;
  for (let i = 1; i < xs.length; i++) if (xs[i] !== xs[n - 1]) xs[n++] = xs[i];
  xs.length = n;
  return xs;
}

/** The distinctions made by any of several sets of rules. */
export function joinDistinctions(list: readonly Distinctions[], dimCount: number): Distinctions {
  if (list.length === 1) return list[0];
  let whole = 0;
  const cuts: (readonly number[])[] = new Array<readonly number[]>(dimCount).fill(NO_CUTS);
  const merged: boolean[] = new Array<boolean>(dimCount).fill(false);
  for (const d of list) {
    whole |= d.whole;
    for (let i = 0; i < dimCount; i++) {
      const c = d.cuts[i];
      if (c.length === 0) continue;
      // The first list of a dimension is shared as it is; a second one starts a merged copy.
      if (cuts[i] === NO_CUTS) cuts[i] = c;
      else {
        if (!merged[i]) {
          cuts[i] = [...cuts[i]];
          merged[i] = true;
        }
        const out = cuts[i] as number[];
        for (let k = 0; k < c.length; k++) out.push(c[k]);
      }
    }
  }
  return { cuts: cuts.map((x, i) => (merged[i] ? sortedUnique(x as number[]) : x)), whole };
}

/**
 * One place in a chain where distinctions are used: by rule `at` itself or by the chain it calls,
 * for the packets in `scope` (those the rule matches; undefined: any packet).
 */
export interface Use {
  readonly at: number;
  readonly distinctions: Distinctions;
  readonly scope?: Space;
  /**
   * For a called chain's use, its calls: where each is and what it sends (`scope` is their
   * union). An index counts each call as a narrow use of its own when each concerns few values:
   * the values of the calls passed then no longer count (a dispatch chain calls one chain once
   * per interface, and the called chain's cuts stay in use until the last call).
   */
  readonly calls?: readonly { readonly at: number; readonly scope: Space }[];
}

/** What a `CutSet` is built from (see `cutParts`). */
interface CutParts {
  readonly cuts: number[][];
  readonly last: Int32Array[];
  readonly byLast: Int32Array[];
  readonly wholeLast: number[];
}

/** Never pause: for building at once. */
const NEVER = (): boolean => false;

/**
 * The sorted cuts of some uses per dimension, with the last position using each and the order of
 * last uses; pauses (yields) whenever `due` says so. A dispatch chain of 10,000 rules has 20,000
 * uses, whose cuts took 60–70 ms to sort out at once, which an editor's requests waited for.
 */
function* cutParts(dims: Dimensions, uses: readonly Use[], due: () => boolean): Steps<CutParts> {
  const n = dims.max.length;
  const wholeLast = new Array<number>(n).fill(-1);
  // Per dimension, (cut, position) pairs packed in one number each (cut · 2^21 + position: cuts
  // are below 2^31 and positions below 2^21), sorted natively; the last position of a cut wins.
  const pairs: number[][] = Array.from({ length: n }, () => []);
  // An indexed loop (see OverlapIndex.steps).
  for (let i = 0; i < uses.length; i++) {
    const u = uses[i];
    if (due()) yield;
    const at = Math.min(u.at + 1, POSITION_LIMIT - 1);
    for (let d = 0; d < n; d++) {
      if (u.distinctions.whole & (1 << d) && u.at > wholeLast[d]) wholeLast[d] = u.at;
      const cs = u.distinctions.cuts[d];
      for (let k = 0; k < cs.length; k++) pairs[d].push(cs[k] * POSITION_LIMIT + at);
    }
  }
  const out: CutParts = { cuts: [], last: [], byLast: [], wholeLast };
  for (let d = 0; d < n; d++) {
    if (due()) yield;
    if (pairs[d].length === 0) {
      out.cuts.push([]);
      out.last.push(EMPTY_INTS);
      out.byLast.push(EMPTY_INTS);
      continue;
    }
    const p = new Float64Array(pairs[d]).sort();
    const cuts: number[] = [];
    const last: number[] = [];
    for (let i = 0; i < p.length; i++) {
      const v = Math.floor(p[i] / POSITION_LIMIT);
      const at = (p[i] % POSITION_LIMIT) - 1;
      if (cuts.length > 0 && cuts[cuts.length - 1] === v) last[last.length - 1] = at;
      else {
        cuts.push(v);
        last.push(at);
      }
    }
    out.cuts.push(cuts);
    const lastArr = new Int32Array(last);
    out.last.push(lastArr);
    // Cut indices by last use, for forgetting them in order: packed and sorted the same way.
    const order = new Float64Array(last.length);
    for (let i = 0; i < last.length; i++) order[i] = (last[i] + 1) * POSITION_LIMIT + i;
    order.sort();
    const byLast = new Int32Array(order.length);
    for (let i = 0; i < order.length; i++) byLast[i] = order[i] % POSITION_LIMIT;
    out.byLast.push(byLast);
  }
  return out;
}

/**
 * The cuts of some uses, each with the last position that uses it, and which of them are still
 * active during a walk (union-find over the sorted cuts, so that finding the nearest active cut
 * is nearly constant time however many were forgotten).
 */
class CutSet {
  private readonly cuts: number[][];
  /** Per dimension and cut, the last position using it. */
  private readonly last: Int32Array[];
  /** Per dimension, the cut indices in order of their last use. */
  private readonly byLast: Int32Array[];
  /** Per dimension, the last position reading it whole (-1: none). */
  private readonly wholeLast: number[];
  /** Union-find parents: the nearest active cut at or before / at or after an index. */
  private prev: Int32Array[] = [];
  private next: Int32Array[] = [];
  private cursor: number[] = [];
  /** Per dimension, the index of each cut value (built on first need; see cutIndexOf). */
  private readonly cutIndex: (Int32Array | Map<number, number> | undefined)[] = [];
  private position = -1;
  private keep = 0;

  constructor(
    private readonly dims: Dimensions,
    uses: readonly Use[] | CutParts,
  ) {
    const parts = Array.isArray(uses) ? drain(cutParts(dims, uses as readonly Use[], NEVER)) : (uses as CutParts);
    this.cuts = parts.cuts;
    this.last = parts.last;
    this.byLast = parts.byLast;
    this.wholeLast = parts.wholeLast;
  }

  /** The cut set of `uses`, built in steps that pause whenever `due` says so (see `Projector.steps`). */
  static *steps(dims: Dimensions, uses: readonly Use[], due: () => boolean): Steps<CutSet> {
    return new CutSet(dims, yield* cutParts(dims, uses, due));
  }

  /** The number of cuts, over all dimensions. */
  get size(): number {
    let n = 0;
    for (const cs of this.cuts) n += cs.length;
    return n;
  }

  /** Rewinds to the start of a walk: every cut active; `keep` names dimensions never widened. */
  start(keep: number): void {
    this.keep = keep;
    this.position = -1;
    this.prev = this.cuts.map((cs) => (cs.length === 0 ? EMPTY_INTS : identity(cs.length)));
    this.next = this.cuts.map((cs) => (cs.length === 0 ? EMPTY_INTS : identity(cs.length)));
    this.cursor = this.cuts.map(() => 0);
  }

  /** Forgets the cuts that no use after position k needs; true when some were forgotten. */
  passed(k: number): boolean {
    this.position = k;
    let forgot = false;
    for (let d = 0; d < this.cuts.length; d++) {
      const order = this.byLast[d];
      const last = this.last[d];
      let p = this.cursor[d];
      while (p < order.length && last[order[p]] <= k) {
        const i = order[p++];
        this.prev[d][i] = i - 1;
        this.next[d][i] = i + 1;
        forgot = true;
      }
      this.cursor[d] = p;
    }
    return forgot;
  }

  /** Whether dimension d may be widened at the current position: not kept, and read whole by no later use. */
  widens(d: number): boolean {
    return (this.keep & (1 << d)) === 0 && this.wholeLast[d] <= this.position;
  }

  /** The cuts of dimension d that uses after the current position make, sorted; undefined when more than `limit`. */
  activeCuts(d: number, limit: number): readonly number[] | undefined {
    const cuts = this.cuts[d];
    const n = cuts.length;
    const active = n - this.cursor[d];
    if (active === 0) return NO_CUTS;
    if (active > limit) return undefined;
    const out: number[] = [];
    for (let i = this.findNext(d, 0); i < n; i = this.findNext(d, i + 1)) out.push(cuts[i]);
    return out;
  }

  /** The nearest active cut index at or before i (-1: none). */
  private findPrev(d: number, i: number): number {
    const p = this.prev[d];
    let r = i;
    while (r >= 0 && p[r] !== r) r = p[r];
    // Path compression.
    while (i >= 0 && p[i] !== i) {
      const up = p[i];
      p[i] = r;
      i = up;
    }
    return r;
  }

  /** The nearest active cut index at or after i (the cut count: none). */
  private findNext(d: number, i: number): number {
    const p = this.next[d];
    const n = p.length;
    let r = i;
    while (r < n && p[r] !== r) r = p[r];
    while (i < n && p[i] !== i) {
      const up = p[i];
      p[i] = r;
      i = up;
    }
    return r;
  }

  /**
   * Whether v is an active cut of dimension d (its index built). A method rather than a closure
   * in projectSet: that runs millions of times per analysis, and each closure was an allocation.
   */
  private active(d: number, v: number): boolean {
    const at = this.cutIndex[d]!;
    const i = at instanceof Int32Array ? at[v] : at.get(v) ?? -1;
    return i >= 0 && this.prev[d][i] === i;
  }

  /** A set widened to whole blocks between the active cuts of dimension d. */
  private projectSet(d: number, s: IntervalSet): IntervalSet {
    const max = this.dims.max[d];
    if (s.length === 0 || isFull(s, max)) return s;
    const cuts = this.cuts[d];
    const n = cuts.length;
    if (n === 0) return universe(this.dims)[d];
    // An interval is a whole block already when it starts at 0 or at an active cut and ends at
    // the top or just before an active cut: two lookups, where widening needs two searches. Most
    // intervals are (a blocklist's set of packets not yet dropped holds hundreds, one of which
    // changes per rule), so only the others are widened, and a set of whole blocks is returned as
    // it is.
    this.cutIndex[d] ??= cutIndexOf(cuts, max);
    let out: number[] | undefined;
    for (let k = 0; k < s.length; k += 2) {
      let lo = s[k];
      let hi = s[k + 1];
      if ((lo === 0 || this.active(d, lo)) && (hi === max || this.active(d, hi + 1))) {
        if (!out) continue;
      } else {
        // The intervals before this one are whole blocks, kept as they are (they do not touch).
        out ??= s.slice(0, k);
        // The block holding lo starts at the last active cut at or before lo.
        const i = this.findPrev(d, upperBound(cuts, lo) - 1);
        lo = i >= 0 ? cuts[i] : 0;
        // The block holding hi ends just before the first active cut after hi.
        const j = this.findNext(d, upperBound(cuts, hi));
        hi = j < n ? cuts[j] - 1 : max;
      }
      push(out, lo, hi);
    }
    if (!out) return s;
    // The whole range is shared, so that later comparisons succeed by reference.
    if (out.length === 2 && out[0] === 0 && out[1] === max) return universe(this.dims)[d];
    return out;
  }

  /** The cube widened in every dimension that is neither kept, nor `skip`, nor read whole by a later use. */
  projectCube(c: Cube, skip = -1): Cube {
    let out: IntervalSet[] | undefined;
    for (let d = 0; d < c.length; d++) {
      if (d === skip || !this.widens(d)) continue;
      const x = this.projectSet(d, c[d]);
      if (x !== c[d]) (out ??= c.slice())[d] = x;
    }
    return out ?? c;
  }

  /** The cube widened to blocks between all cuts (as on entry, before any use is passed), except in `skip`. */
  projectEntryCube(c: Cube, skip = -1): Cube {
    let cube: IntervalSet[] | undefined;
    for (let d = 0; d < c.length; d++) {
      if (d === skip || this.wholeLast[d] >= 0) continue;
      const x = blocksOf(c[d], this.cuts[d], this.dims.max[d]);
      if (x !== c[d]) (cube ??= c.slice())[d] = x;
    }
    return cube ?? c;
  }
}

const EMPTY_INTS = new Int32Array(0);

/**
 * The index of each cut value, -1 for values that are not cuts: a table of every value of the
 * dimension when the cuts are many among few values (a blocklist's addresses), a map otherwise
 * (the few cuts of a short chain, or marks, which have 2^32 values).
 */
function cutIndexOf(cuts: readonly number[], max: number): Int32Array | Map<number, number> {
  if (max >= DIRECT_VALUES || cuts.length * 16 < max) return new Map(cuts.map((v, i) => [v, i]));
  const at = new Int32Array(max + 2).fill(-1);
  for (let i = 0; i < cuts.length; i++) at[cuts[i]] = i;
  return at;
}

/** Dimensions with fewer values than this index their cuts in a table (4 bytes per value). */
const DIRECT_VALUES = 1 << 22;

/** Positions (and cut indices) are packed below this in sort keys; chains are far shorter. */
const POSITION_LIMIT = 2 ** 21;

/** The array 0, 1, …, n - 1. */
function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Appends lo … hi to a sorted interval list, joining its last interval when they touch. */
function push(out: number[], lo: number, hi: number): void {
  const m = out.length;
  if (m > 0 && lo <= out[m - 1] + 1) {
    if (hi > out[m - 1]) out[m - 1] = hi;
  } else out.push(lo, hi);
}

/** The sparse table of range minima over `base` (levels[j][v] = min of base[v … v + 2^j - 1]). */
function minimaOf(base: Int32Array): Int32Array[] {
  const levels = [base];
  for (let w = 1; 2 * w <= base.length; w *= 2) {
    const prev = levels[levels.length - 1];
    const next = new Int32Array(base.length - 2 * w + 1);
    for (let v = 0; v < next.length; v++) next[v] = Math.min(prev[v], prev[v + w]);
    levels.push(next);
  }
  return levels;
}

/**
 * Gaps are filled (see `DimensionIndex.fill`) only in dimensions where the uses that are not
 * narrow there make at most this many cuts after the current position (each block between them is
 * filled on its own; a physdev-is-bridged test cuts the physdev-out values once).
 */
const MAX_BOUNDS = 8;

/** Uses whose scope holds at most this many values of an indexed dimension are indexed by them. */
const NARROW = 64;
/** An index on a dimension pays off only with at least this many narrow uses. */
const MIN_INDEXED = 8;

/**
 * The uses that concern only a few values of one dimension (the rules for one interface or one
 * address), indexed: for any set of values, the last position of such a use concerning one of them
 * (a sparse table for range maxima); and the cuts of all the other uses, for packets that no
 * remaining narrow use concerns (built on first need).
 */
class DimensionIndex {
  /** levels[j][v]: the last position of a narrow use concerning a value in v … v + 2^j - 1. */
  private readonly levels: Int32Array[];
  /** lowest[j][v]: the least such position over v … v + 2^j - 1 (see `holdsFree`). */
  private lowest?: Int32Array[];
  private built?: CutSet;

  constructor(readonly dim: number, private readonly dims: Dimensions, narrow: readonly { at: number; values: IntervalSet }[], private readonly others: readonly Use[]) {
    const size = dims.max[dim] + 1;
    const base = new Int32Array(size).fill(-1);
    for (const { at, values } of narrow) for (let i = 0; i < values.length; i += 2) for (let v = values[i]; v <= values[i + 1]; v++) if (base[v] < at) base[v] = at;
    this.levels = [base];
    for (let w = 1; 2 * w <= size; w *= 2) {
      const prev = this.levels[this.levels.length - 1];
      const next = new Int32Array(size - 2 * w + 1);
      for (let v = 0; v < next.length; v++) next[v] = Math.max(prev[v], prev[v + w]);
      this.levels.push(next);
    }
  }

  /** Whether some narrow use after position k concerns a value of the set. */
  concerns(s: IntervalSet, k: number): boolean {
    for (let i = 0; i < s.length; i += 2) if (this.concernsRange(s[i], s[i + 1], k)) return true;
    return false;
  }

  /** Whether some narrow use after position k concerns a value of lo … hi. */
  private concernsRange(lo: number, hi: number, k: number): boolean {
    const j = 31 - Math.clz32(hi - lo + 1);
    const t = this.levels[j];
    return Math.max(t[lo], t[hi - (1 << j) + 1]) > k;
  }

  /** Whether the set holds a value that no narrow use after position k concerns. */
  private holdsFree(s: readonly number[], k: number): boolean {
    // The same sparse table for range minima, built on first need (most projectors never fill).
    const lowest = (this.lowest ??= minimaOf(this.levels[0]));
    for (let i = 0; i < s.length; i += 2) {
      const lo = s[i];
      const j = 31 - Math.clz32(s[i + 1] - lo + 1);
      const t = lowest[j];
      if (Math.min(t[lo], t[s[i + 1] - (1 << j) + 1]) <= k) return true;
    }
    return false;
  }

  /**
   * The set with every gap filled that holds only values no narrow use after position k concerns,
   * where the set holds such a value already in the same block between `bounds` (the cuts the
   * other uses still make in this dimension, sorted); the set itself when nothing is filled.
   * Within a block, the values no remaining narrow use concerns are alike for the rest of the
   * walk wherever they lie: no narrow use concerns them, and no other use tells them apart.
   * A dispatch chain whose rules test interfaces in another order than the vocabulary numbers
   * them leaves a hole per interface passed between two still to come, and cuts alone cannot
   * close such holes (each lies between two cuts still in use): the packets left then held
   * thousands of intervals, and every rule's step took time in proportion.
   */
  fill(s: IntervalSet, k: number, max: number, bounds: readonly number[]): IntervalSet {
    if (s.length === 0 || isFull(s, max) || !this.hasFreeGap(s, k, max)) return s;
    const out: number[] = [];
    const piece: number[] = [];
    let filled = false;
    let i = 0;
    for (let b = 0; b <= bounds.length && i < s.length; b++) {
      const lo = b === 0 ? 0 : bounds[b - 1];
      const hi = b < bounds.length ? bounds[b] - 1 : max;
      // The part of the set in this block (an interval may run over several blocks).
      piece.length = 0;
      while (i < s.length && s[i] <= hi) {
        piece.push(Math.max(s[i], lo), Math.min(s[i + 1], hi));
        if (s[i + 1] > hi) break;
        i += 2;
      }
      if (piece.length > 0 && this.fillBlock(piece, lo, hi, k, out)) filled = true;
    }
    return filled ? out : s;
  }

  /**
   * Whether some gap of the set (between its intervals, below or above them) holds only values no
   * narrow use after k concerns. Most sets a walk projects have none: a blocklist's packets keep
   * a few hundred holes, each a value a later rule tests, and building a copy of them at each of
   * its 100,000 rules took half as long as the walk. A look without allocating first.
   */
  private hasFreeGap(s: IntervalSet, k: number, max: number): boolean {
    let end = -1;
    for (let i = 0; i <= s.length; i += 2) {
      const gapHi = i < s.length ? s[i] - 1 : max;
      if (end + 1 <= gapHi && !this.concernsRange(end + 1, gapHi, k)) return true;
      if (i < s.length) end = s[i + 1];
    }
    return false;
  }

  /**
   * Appends to `out` the intervals of one block's part of a set (`piece`, within lo … hi), with
   * the gaps filled that no narrow use after k concerns if the part holds a value no such use
   * concerns; whether any gap was filled. An interval touching the last one of `out` joins it.
   */
  private fillBlock(piece: readonly number[], lo: number, hi: number, k: number, out: number[]): boolean {
    const free = this.holdsFree(piece, k);
    let filled = false;
    let end = lo - 1;
    for (let i = 0; i <= piece.length; i += 2) {
      const gapLo = end + 1;
      const gapHi = i < piece.length ? piece[i] - 1 : hi;
      if (free && gapLo <= gapHi && !this.concernsRange(gapLo, gapHi, k)) {
        filled = true;
        push(out, gapLo, gapHi);
      }
      if (i < piece.length) {
        push(out, piece[i], piece[i + 1]);
        end = piece[i + 1];
      }
    }
    return filled;
  }

  /** The cuts of the other uses, brought to the walk's state when first built. */
  cuts(keep: number, position: number): CutSet {
    if (!this.built) {
      this.built = new CutSet(this.dims, this.others);
      this.built.start(keep);
      this.built.passed(position);
    }
    return this.built;
  }

  /** The other uses' cuts, if built (they follow the walk from then on). */
  get cutsIfBuilt(): CutSet | undefined {
    return this.built;
  }

  /** Forgets the built cuts, so that a new walk starts afresh. */
  reset(): void {
    this.built = undefined;
  }
}

/**
 * Projects packet sets onto the distinctions that the rules after a position of a chain still
 * make. Built once per chain; `start` rewinds it for a new walk, `passed(k)` is called after
 * rule k, and `project` widens a set to the blocks the remaining cuts leave. Dimensions in `keep`
 * are never widened (a chain's summary keeps what its callers test after it returns).
 *
 * Cuts matter only for the packets their uses concern: packets that came in on one interface no
 * longer care about the rules for other interfaces. So the uses narrow in an interface or address
 * dimension are indexed, and a cube that no remaining narrow use concerns is projected onto the
 * cuts of the other uses only, its indexed dimension left as it is (widening it could make the
 * cube meet the very uses it was found to avoid).
 */
export class Projector {
  private readonly all: CutSet;
  private readonly indexes: DimensionIndex[] = [];
  private position = -1;
  private keep = 0;

  constructor(
    private readonly dims: Dimensions,
    uses: readonly Use[],
    indexDims: readonly number[] = [],
    built?: { readonly all: CutSet; readonly indexes: readonly DimensionIndex[] },
  ) {
    const parts = built ?? drain(projectorParts(dims, uses, indexDims, NEVER));
    this.all = parts.all;
    for (const x of parts.indexes) this.indexes.push(x);
  }

  /** The projector of `uses`, built in steps that pause whenever `due` says so (a long chain's takes tens of milliseconds). */
  static *steps(dims: Dimensions, uses: readonly Use[], indexDims: readonly number[], due: () => boolean): Steps<Projector> {
    return new Projector(dims, uses, indexDims, yield* projectorParts(dims, uses, indexDims, due));
  }

  /** Rewinds to the start of a walk: every cut active; `keep` names dimensions never widened. */
  start(keep: number): void {
    this.position = -1;
    this.keep = keep;
    this.all.start(keep);
    for (const x of this.indexes) x.reset();
  }

  /** Forgets the cuts that no rule after position k uses; true when some were forgotten. */
  passed(k: number): boolean {
    this.position = k;
    let forgot = this.all.passed(k);
    for (const x of this.indexes) forgot = (x.cutsIfBuilt?.passed(k) ?? false) || forgot;
    return forgot;
  }

  /**
   * The space widened to what the rest of the chain can tell apart, simplified; exact for it.
   * `before`, when given, is the last result of this walk: its cubes that are still in `s` and
   * that the projection leaves as they are are simplified among themselves already, so only the
   * other cubes are merged in, each with all of them. A walk usually changes a few cubes per rule
   * (the pieces a rule cut off, what a callee gave back): simplifying all of them again compared
   * every pair of cubes at every rule, 85 % of them unchanged (chains of the TUM firewall hold
   * 50–80 cubes).
   */
  project(s: Space, before?: Space): Space {
    let changed = false;
    const out = s.map((c) => {
      const index = this.indexes.find((x) => !x.concerns(c[x.dim], this.position));
      const p = this.fill(index ? index.cuts(this.keep, this.position).projectCube(c, index.dim) : this.all.projectCube(c));
      if (p !== c) changed = true;
      return p;
    });
    if (!changed) return s;
    if (before === undefined || before.length < 2 || out.length < 4) return simplify(out);
    const known = new Set(before);
    const kept: Cube[] = [];
    const added: Cube[] = [];
    for (let i = 0; i < out.length; i++) (out[i] === s[i] && known.has(s[i]) ? kept : added).push(out[i]);
    return kept.length === 0 ? simplify(out) : union(kept, added);
  }

  /**
   * The cube with the gaps filled, in each indexed dimension, that hold only values no remaining
   * use tells apart (see `DimensionIndex.fill`), where the uses that are not narrow in that
   * dimension make few cuts in it after this position.
   */
  private fill(c: Cube): Cube {
    let out: IntervalSet[] | undefined;
    for (const x of this.indexes) {
      const d = x.dim;
      if (!this.all.widens(d)) continue;
      const bounds = x.cuts(this.keep, this.position).activeCuts(d, MAX_BOUNDS);
      if (!bounds) continue;
      const filled = x.fill(c[d], this.position, this.dims.max[d], bounds);
      if (filled !== c[d]) (out ??= c.slice())[d] = filled.length === 2 && filled[0] === 0 && filled[1] === this.dims.max[d] ? universe(this.dims)[d] : filled;
    }
    return out ?? c;
  }

  /**
   * The space widened to what the whole chain can tell apart (every cut active, nothing kept),
   * for the packets entering it; independent of any walk in progress.
   */
  projectEntry(s: Space): Space {
    let changed = false;
    const out = s.map((c) => {
      const p = this.all.projectEntryCube(c);
      if (p !== c) changed = true;
      return p;
    });
    return changed ? simplify(out) : s;
  }
}

/** The cuts and indexes of a projector (see `Projector`), pausing whenever `due` says so. */
function* projectorParts(dims: Dimensions, uses: readonly Use[], indexDims: readonly number[], due: () => boolean): Steps<{ all: CutSet; indexes: DimensionIndex[] }> {
  const all = yield* CutSet.steps(dims, uses, due);
  const found: { index: DimensionIndex; narrow: number }[] = [];
  for (const d of indexDims) {
    const narrow: { at: number; values: IntervalSet }[] = [];
    const others: Use[] = [];
    const limit = Math.min(NARROW, dims.max[d] / 2);
    // An indexed loop (see OverlapIndex.steps).
    for (let i = 0; i < uses.length; i++) {
      const u = uses[i];
      if (due()) yield;
      if (u.calls && u.calls.length > 1) {
        // Narrow when each call is: each then counts at its own position.
        const each: { at: number; values: IntervalSet }[] = [];
        for (const c of u.calls) {
          const values = scopeValues(c.scope, d, limit);
          if (!values) break;
          each.push({ at: c.at, values });
        }
        if (each.length === u.calls.length) for (const x of each) narrow.push(x);
        else others.push(u);
        continue;
      }
      const values = u.scope ? scopeValues(u.scope, d, limit) : undefined;
      if (values) narrow.push({ at: u.at, values });
      else others.push(u);
    }
    if (narrow.length >= MIN_INDEXED) found.push({ index: new DimensionIndex(d, dims, narrow, others), narrow: narrow.length });
  }
  // The index that sets most uses aside first.
  found.sort((a, b) => b.narrow - a.narrow);
  return { all, indexes: found.map((x) => x.index) };
}

/** The values of one dimension that a space holds, or undefined when they are more than `limit`. */
function scopeValues(s: Space, d: number, limit: number): IntervalSet | undefined {
  let out: IntervalSet = [];
  for (const c of s) {
    if (setSize(c[d]) > limit) return undefined;
    out = setUnion(out, c[d]);
    if (setSize(out) > limit) return undefined;
  }
  return out;
}

/** A set widened to whole blocks between all the given cuts. */
function blocksOf(s: IntervalSet, cuts: readonly number[], max: number): IntervalSet {
  if (s.length === 0 || isFull(s, max)) return s;
  const n = cuts.length;
  const out: number[] = [];
  for (let k = 0; k < s.length; k += 2) {
    const i = upperBound(cuts, s[k]) - 1;
    const lo = i >= 0 ? cuts[i] : 0;
    const j = upperBound(cuts, s[k + 1]);
    const hi = j < n ? cuts[j] - 1 : max;
    push(out, lo, hi);
  }
  if (out.length === s.length && out.every((v, i) => v === s[i])) return s;
  return out;
}

/** The number of cuts at or below v (binary search). */
function upperBound(xs: readonly number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
