/**
 * A small packet-space algebra for the rule-set analysis. A packet is a point in a product of
 * finite integer dimensions (address classes, protocol, ports, interface classes, conntrack states,
 * …); a set of packets is a union of "cubes", each cube being one interval set per dimension.
 *
 * Values are JavaScript numbers: every dimension is the inclusive range 0 … max with max below
 * 2^31 (addresses are mapped to classes by the vocabulary of rule-space.ts, so IPv6 fits too),
 * which keeps the arrays small-integer arrays that V8 handles fastest. An interval set is a flat,
 * sorted list `[lo0, hi0, lo1, hi1, …]` of disjoint, non-adjacent intervals.
 *
 * The operations are exact, with one deliberate exception: `coarsen` over-approximates a union
 * that has grown past a size limit, for callers that prefer a sound superset to giving up.
 * Results share sets (and cubes) with their operands whenever nothing changed, so that callers
 * can compare by reference first; nothing here ever mutates an argument.
 */

/** An inclusive interval of values. */
export type Interval = readonly [number, number];
/** A sorted, flat list of disjoint, non-adjacent inclusive intervals: `[lo0, hi0, lo1, hi1, …]`. */
export type IntervalSet = readonly number[];
/** One interval set per dimension. */
export type Cube = readonly IntervalSet[];

/** The shape of a space: the largest value of every dimension. */
export interface Dimensions {
  readonly names: readonly string[];
  readonly max: readonly number[];
  /**
   * How many concrete values the values lo … hi of a dimension stand for, when a value is a class
   * of several (address classes); used only to rank spaces by size. Missing: hi - lo + 1.
   */
  readonly measure?: (dim: number, lo: number, hi: number) => number;
}

/** The empty interval set. */
export const EMPTY_SET: IntervalSet = [];

/** The interval set `lo … hi` (empty when hi < lo). */
export function range(lo: number, hi: number): IntervalSet {
  return hi < lo ? EMPTY_SET : [lo, hi];
}

/** Builds a normalised interval set from arbitrary (overlapping, unsorted) intervals. */
export function normalise(intervals: readonly Interval[]): IntervalSet {
  const xs = intervals.filter(([a, b]) => a <= b).sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  for (const [a, b] of xs) {
    const n = out.length;
    if (n > 0 && a <= out[n - 1] + 1) {
      if (b > out[n - 1]) out[n - 1] = b;
    } else out.push(a, b);
  }
  return out;
}

/** Builds an interval set from single values. */
export function fromValues(values: Iterable<number>): IntervalSet {
  return normalise([...values].map((v) => [v, v] as Interval));
}

/** The intervals of a set as pairs (for code that is not performance-critical). */
export function intervalsOf(s: IntervalSet): Interval[] {
  const out: Interval[] = [];
  for (let i = 0; i < s.length; i += 2) out.push([s[i], s[i + 1]]);
  return out;
}

/** Whether two sets hold the same values. */
export function setEquals(a: IntervalSet, b: IntervalSet): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The first interval (as an even index) that ends at or after `v` (binary search). */
function firstEndingAtOrAfter(s: IntervalSet, v: number, from = 0): number {
  let lo = from >> 1;
  let hi = s.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[2 * mid + 1] < v) lo = mid + 1;
    else hi = mid;
  }
  return 2 * lo;
}

/** Intersection of two interval sets; `a` itself is returned when it lies inside `b`. */
export function setIntersect(a: IntervalSet, b: IntervalSet): IntervalSet {
  if (a === b) return a;
  if (a.length === 0 || b.length === 0) return EMPTY_SET;
  // The commonest case by far: two single intervals.
  if (a.length === 2 && b.length === 2) {
    const lo = a[0] > b[0] ? a[0] : b[0];
    const hi = a[1] < b[1] ? a[1] : b[1];
    if (lo > hi) return EMPTY_SET;
    return lo === a[0] && hi === a[1] ? a : lo === b[0] && hi === b[1] ? b : [lo, hi];
  }
  // Most intersections change nothing: answer those without building a new set.
  if (setSubsetOf(a, b)) return a;
  if (setSubsetOf(b, a)) return b;
  if (!setOverlaps(a, b)) return EMPTY_SET;
  const out: number[] = [];
  // Walk the smaller set, finding the overlapping part of the larger one by binary search.
  // (Two variables rather than a destructured pair: this runs millions of times.)
  const small = a.length <= b.length ? a : b;
  const large = small === a ? b : a;
  let k = 0;
  for (let i = 0; i < small.length; i += 2) {
    const lo = small[i];
    const hi = small[i + 1];
    for (k = firstEndingAtOrAfter(large, lo, k); k < large.length && large[k] <= hi; k += 2) {
      const l = large[k] > lo ? large[k] : lo;
      const h = large[k + 1] < hi ? large[k + 1] : hi;
      if (l <= h) out.push(l, h);
      if (large[k + 1] > hi) break;
    }
  }
  return out;
}

/** `a` without the values of `b`; `a` itself is returned when they share nothing. */
export function setSubtract(a: IntervalSet, b: IntervalSet): IntervalSet {
  if (a.length === 0 || b.length === 0) return a;
  if (a === b) return EMPTY_SET;
  // Answer the cases that need no new set first.
  if (!setOverlaps(a, b)) return a;
  if (setSubsetOf(a, b)) return EMPTY_SET;
  const out: number[] = [];
  let changed = false;
  let k = 0;
  for (let i = 0; i < a.length; i += 2) {
    const hi = a[i + 1];
    let cur = a[i];
    for (k = firstEndingAtOrAfter(b, cur, k); k < b.length && b[k] <= hi && cur <= hi; k += 2) {
      changed = true;
      if (b[k] > cur) out.push(cur, b[k] - 1);
      cur = b[k + 1] + 1;
      if (b[k + 1] > hi) break;
    }
    if (cur <= hi) out.push(cur, hi);
  }
  return changed ? out : a;
}

/** Union of two interval sets. */
export function setUnion(a: IntervalSet, b: IntervalSet): IntervalSet {
  if (a.length === 0 || a === b) return b;
  if (b.length === 0) return a;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let lo: number;
    let hi: number;
    if (j >= b.length || (i < a.length && a[i] <= b[j])) {
      lo = a[i];
      hi = a[i + 1];
      i += 2;
    } else {
      lo = b[j];
      hi = b[j + 1];
      j += 2;
    }
    const n = out.length;
    if (n > 0 && lo <= out[n - 1] + 1) {
      if (hi > out[n - 1]) out[n - 1] = hi;
    } else out.push(lo, hi);
  }
  if (setEquals(out, a)) return a;
  if (setEquals(out, b)) return b;
  return out;
}

/** Whether every value of `a` is in `b`. */
export function setSubsetOf(a: IntervalSet, b: IntervalSet): boolean {
  if (a === b || a.length === 0) return true;
  if (b.length === 0) return false;
  if (b.length === 2) return a[0] >= b[0] && a[a.length - 1] <= b[1];
  let k = 0;
  for (let i = 0; i < a.length; i += 2) {
    k = firstEndingAtOrAfter(b, a[i], k);
    if (k >= b.length || b[k] > a[i] || b[k + 1] < a[i + 1]) return false;
  }
  return true;
}

/** Whether two sets share a value. */
export function setOverlaps(a: IntervalSet, b: IntervalSet): boolean {
  if (a.length === 0 || b.length === 0) return false;
  if (a === b) return true;
  if (a.length === 2 && b.length === 2) return a[0] <= b[1] && b[0] <= a[1];
  // (Two variables rather than a destructured pair: this runs millions of times.)
  const small = a.length <= b.length ? a : b;
  const large = small === a ? b : a;
  let k = 0;
  for (let i = 0; i < small.length; i += 2) {
    k = firstEndingAtOrAfter(large, small[i], k);
    if (k >= large.length) return false;
    if (large[k] <= small[i + 1]) return true;
  }
  return false;
}

/** The number of values in a set. */
export function setSize(a: IntervalSet): number {
  let n = 0;
  for (let i = 0; i < a.length; i += 2) n += a[i + 1] - a[i] + 1;
  return n;
}

/** Whether the set is the whole dimension `0 … max`. */
export function isFull(a: IntervalSet, max: number): boolean {
  return a.length === 2 && a[0] === 0 && a[1] === max;
}

/** The universe of each shape, built once: its sets are shared, so that "whole range" compares by reference. */
const universes = new WeakMap<Dimensions, Cube>();

/** The cube of every packet (the same object for the same dimensions: never mutate it). */
export function universe(dims: Dimensions): Cube {
  let u = universes.get(dims);
  if (!u) universes.set(dims, (u = dims.max.map((m) => range(0, m))));
  return u;
}

/** The universe restricted on some dimensions (by index). */
export function cubeWith(dims: Dimensions, constraints: ReadonlyMap<number, IntervalSet>): Cube {
  // Unconstrained dimensions share the universe's sets, so that cube operations can skip them by
  // comparing references (most rules constrain a few dimensions).
  const u = universe(dims);
  return u.map((full, i) => {
    const c = constraints.get(i);
    if (c === undefined) return full;
    const s = setIntersect(c, full);
    return setEquals(s, full) ? full : s;
  });
}

/** Whether a cube holds no packet (some dimension is empty). */
export function cubeIsEmpty(c: Cube): boolean {
  for (const s of c) if (s.length === 0) return true;
  return false;
}

/**
 * The dimensions of each width, in order: what the cube operations go through when they are not
 * told which dimensions matter (see `constrainedDims`).
 */
const allDimsByWidth: (readonly number[])[] = [];

function allDims(n: number): readonly number[] {
  return (allDimsByWidth[n] ??= Array.from({ length: n }, (_, i) => i));
}

/**
 * The dimensions in which a cube is not the whole range, in order. The cube operations below take
 * such a list for their second cube `b` and skip the other dimensions, where `b` leaves the first
 * cube as it is: a rule's cube constrains a few of its seventeen dimensions, and the walks cut
 * the packets they follow by a rule's cube millions of times. Results are the same as without the
 * list, sets and cubes shared alike, as long as no set of the first cube is empty (a cube of a
 * space never has one: an empty set makes an empty cube, which operations drop).
 */
export function constrainedDims(c: Cube, dims: Dimensions): number[] {
  const out: number[] = [];
  for (let d = 0; d < c.length; d++) if (!isFull(c[d], dims.max[d])) out.push(d);
  return out;
}

/** Whether two cubes share a packet; `ds` as for `constrainedDims` (`b`'s). */
export function cubeOverlaps(a: Cube, b: Cube, ds: readonly number[] = allDims(a.length)): boolean {
  for (let j = 0; j < ds.length; j++) {
    const i = ds[j];
    if (a[i] !== b[i] && !setOverlaps(a[i], b[i])) return false;
  }
  return true;
}

/** The intersection of two cubes, or undefined when it is empty; `a` itself when it lies inside `b`. */
export function cubeIntersect(a: Cube, b: Cube, ds: readonly number[] = allDims(a.length)): Cube | undefined {
  if (!cubeOverlaps(a, b, ds)) return undefined;
  let out: IntervalSet[] | undefined;
  for (let j = 0; j < ds.length; j++) {
    const i = ds[j];
    const s = setIntersect(a[i], b[i]);
    if (s !== a[i]) (out ??= a.slice())[i] = s;
  }
  return out ?? a;
}

/**
 * `a` without `b`, as disjoint cubes: the k-th piece keeps the dimensions before k intersected
 * with `b` and takes dimension k outside `b`. When `b` covers `a` in every dimension but one, the
 * single piece is `a` shrunk in that dimension; when they share nothing, the result is `[a]`.
 */
export function cubeSubtract(a: Cube, b: Cube, ds: readonly number[] = allDims(a.length)): Cube[] {
  if (!cubeOverlaps(a, b, ds)) return [a];
  const out: Cube[] = [];
  pushPieces(a, b, ds, out);
  return out;
}

/** The intersections of the dimensions before the current one, in `pushPieces` (no cube is allocated for them). */
const prefixScratch: IntervalSet[] = [];

/** Appends the pieces of `cubeSubtract(a, b, ds)` to `out`, for cubes known to overlap. */
function pushPieces(a: Cube, b: Cube, ds: readonly number[], out: Cube[]): void {
  for (let j = 0; j < ds.length; j++) {
    const k = ds[j];
    const rest = setSubtract(a[k], b[k]);
    if (rest.length > 0) {
      const piece = a.slice();
      for (let i = 0; i < j; i++) piece[ds[i]] = prefixScratch[i];
      piece[k] = rest;
      out.push(piece);
    }
    prefixScratch[j] = setIntersect(a[k], b[k]);
  }
}

/** Whether every packet of `a` is in `b`. */
export function cubeSubsetOf(a: Cube, b: Cube, ds: readonly number[] = allDims(a.length)): boolean {
  for (let j = 0; j < ds.length; j++) {
    const i = ds[j];
    if (a[i] !== b[i] && !setSubsetOf(a[i], b[i])) return false;
  }
  return true;
}

/** The smallest cube holding both cubes (their per-dimension union). */
export function cubeHull(a: Cube, b: Cube): Cube {
  return a.map((s, i) => setUnion(s, b[i]));
}

/** The number of packets in a cube, as a float (for ranking only). */
export function cubeVolume(c: Cube, dims?: Dimensions): number {
  let v = 1;
  const measure = dims?.measure;
  for (let d = 0; d < c.length; d++) {
    const s = c[d];
    if (!measure) {
      v *= setSize(s);
      continue;
    }
    let n = 0;
    for (let i = 0; i < s.length; i += 2) n += measure(d, s[i], s[i + 1]);
    v *= n;
  }
  return v;
}

/** A set of packets: a union of cubes (not necessarily disjoint). */
export type Space = readonly Cube[];

/** The empty space. */
export const NOTHING: Space = [];

/** Whether a space holds no packet. */
export function isEmpty(s: Space): boolean {
  return s.length === 0;
}

/**
 * The dimensions in which cube `e` sticks out of cube `c`, as `relate` last found them (a second
 * result without an allocation: cubes have up to 31 dimensions, two masks do not fit one number).
 */
let eOutOfLastRelate = 0;

/**
 * How cube `c` relates to cube `e`: returns the dimensions in which `c` sticks out of `e` (bit d
 * set: some value of dimension d of `c` is not in `e`) and leaves those in which `e` sticks out of
 * `c` in `eOutOfLastRelate`. Stops early, with -1, once `c` sticks out in two dimensions and `e` in
 * one: then no rule of `addCube` applies.
 */
function relate(c: Cube, e: Cube): number {
  let cOut = 0;
  let eOut = 0;
  let cCount = 0;
  // Whether `e` sticks out in two dimensions, or in one where its set has few bounds: then it
  // cannot grow into `c` either (see addCube).
  let eStays = false;
  for (let i = 0; i < c.length; i++) {
    const x = c[i];
    const y = e[i];
    if (x === y) continue;
    if (!setSubsetOf(x, y)) {
      cOut |= 1 << i;
      cCount++;
    }
    if (!setSubsetOf(y, x)) {
      eStays ||= eOut !== 0 || y.length <= FEW_BOUNDS;
      eOut |= 1 << i;
    }
    if (cCount > 1 && eStays) return -1;
  }
  eOutOfLastRelate = eOut;
  return cOut;
}

/** Sets with at most this many bounds (two intervals) do not grow into a neighbour without `grow` (see `addCube`). */
const FEW_BOUNDS = 4;

/** The dimension of a one-bit mask, or -1 when the mask has no bit or several. */
function singleDim(mask: number): number {
  return mask !== 0 && (mask & (mask - 1)) === 0 ? 31 - Math.clz32(mask) : -1;
}

/**
 * Adds cube `c` to a list of cubes, keeping the union exact and the list short: `c` is dropped
 * when a cube holds it, cubes inside `c` are dropped, and two cubes that differ in a single
 * dimension become one. With `grow`, also when `c` sticks out of a cube `e` in a single dimension
 * d only, `c` grows in d by `e`'s values there (the part added, `c` with e's values in d, lies
 * inside `e`), so that the steps of a staircase such as "to port k, from any port but 1 … k-1"
 * fold up once the other steps are there. Without `grow`, `c` grows so too when that leaves it
 * fewer intervals in d (it has more than FEW_BOUNDS bounds there), and a cube of the list grows
 * into `c` alike: a set of thousands of values with holes (the interfaces a dispatch chain has
 * not reached yet) becomes one interval when the other cube holds the holes, instead of being
 * carried and cut at every later rule. A grown `c` is compared with the whole list again, since
 * it may now hold or merge with more; a grown cube of the list leaves it and is added again.
 */
function addCube(list: Cube[], c: Cube, grow = false): void {
  // Cubes of the list that grew into `c` (see below), added again once `c` is in.
  let regrown: Cube[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    const cOut = relate(c, e);
    if (cOut === -1) continue;
    if (cOut === 0) {
      if (regrown) for (const x of regrown) addCube(list, x, grow);
      return;
    }
    let eOut = eOutOfLastRelate;
    const d = singleDim(cOut);
    let merged: IntervalSet | undefined;
    if (d >= 0 && (eOut & (1 << d)) !== 0 && (grow || (eOut & ~(1 << d)) === 0 || (c[d].length > FEW_BOUNDS && (merged = setUnion(c[d], e[d])).length < c[d].length))) {
      const grown = c.slice();
      grown[d] = merged ?? setUnion(c[d], e[d]);
      c = grown;
      eOut &= ~(1 << d);
      if (eOut !== 0) {
        // `c` grew: compare it with the whole list again.
        i = -1;
        continue;
      }
    }
    if (eOut !== 0) {
      // The same the other way round: `e` sticks out of `c` in one dimension only, where growing
      // by `c`'s values leaves it fewer intervals. It leaves the list and comes back grown.
      const d2 = singleDim(eOut);
      if (d2 >= 0 && e[d2].length > FEW_BOUNDS) {
        const m = setUnion(e[d2], c[d2]);
        if (m.length < e[d2].length) {
          const grown = e.slice();
          grown[d2] = m;
          (regrown ??= []).push(grown);
          list[i] = list[list.length - 1];
          list.pop();
          i--;
        }
      }
      continue;
    }
    // `e` lies inside `c`: drop it and start over.
    list[i] = list[list.length - 1];
    list.pop();
    i = -1;
  }
  list.push(c);
  if (regrown) for (const x of regrown) addCube(list, x, grow);
}

/**
 * Adds cube `c` to `list`, merging it only with the first `n` cubes (the others are known not to
 * merge with it): dropped when one of them holds it, merged into one that differs from it in a
 * single dimension, otherwise appended. Cubes it holds are left (the union is the same).
 */
function addCubeAmong(list: Cube[], n: number, c: Cube): void {
  for (let i = 0; i < n; i++) {
    const cOut = relate(c, list[i]);
    if (cOut === -1) continue;
    if (cOut === 0) return;
    const eOut = eOutOfLastRelate;
    const d = singleDim(cOut);
    if (d >= 0 && eOut === 1 << d) {
      const merged = list[i].slice();
      merged[d] = setUnion(c[d], list[i][d]);
      list[i] = merged;
      return;
    }
  }
  list.push(c);
}

/**
 * The same union written with fewer cubes: no cube inside another, no two cubes that differ in a
 * single dimension (they become one). Exact.
 */
export function simplify(s: Space): Space {
  if (s.length < 2) return s;
  const out: Cube[] = [];
  for (const c of s) addCube(out, c);
  return out;
}

/**
 * The dimensions that matter for each cube of a space, when known (`constrainedDims` of each):
 * `intersect` and `subtract` then skip the others.
 */
export type SpaceDims = readonly (readonly number[])[];

/** The packets of `s` that are also in `t`; `tDims` as for `SpaceDims`. */
export function intersect(s: Space, t: Space, tDims?: SpaceDims): Space {
  if (s.length === 0 || t.length === 0) return NOTHING;
  if (t.length === 1) {
    // The usual case (a rule's space is one cube): cubes that do not change are kept as they are,
    // and a space that does not change at all is returned as it is.
    const b = t[0];
    const ds = tDims?.[0] ?? allDims(b.length);
    let i = 0;
    while (i < s.length && cubeSubsetOf(s[i], b, ds)) i++;
    if (i === s.length) return s;
    const out: Cube[] = s.slice(0, i);
    for (; i < s.length; i++) {
      const c = cubeIntersect(s[i], b, ds);
      if (c) out.push(c);
    }
    // Not simplified again: the pieces of a simplified union cut by one cube rarely merge, and
    // whoever keeps the result (a walk, a union) simplifies when it pays.
    return out.length === s.length && out.every((c, i) => c === s[i]) ? s : out;
  }
  const out: Cube[] = [];
  for (const a of s) {
    for (let j = 0; j < t.length; j++) {
      const c = cubeIntersect(a, t[j], tDims?.[j]);
      if (c) out.push(c);
    }
  }
  return simplify(out);
}

/** Whether `s` and `t` share a packet; `tDims` as for `SpaceDims`. */
export function overlaps(s: Space, t: Space, tDims?: SpaceDims): boolean {
  for (const a of s) for (let j = 0; j < t.length; j++) if (cubeOverlaps(a, t[j], tDims?.[j])) return true;
  return false;
}

/** The packets of `s` that are not in `t`; `s` itself when they share nothing. `tDims` as for `SpaceDims`. */
export function subtract(s: Space, t: Space, tDims?: SpaceDims): Space {
  let cur = s;
  for (let j = 0; j < t.length; j++) {
    if (cur.length === 0) break;
    const b = t[j];
    const ds = tDims?.[j] ?? allDims(b.length);
    let untouched: Cube[] | undefined;
    let pieces: Cube[] | undefined;
    for (let i = 0; i < cur.length; i++) {
      const a = cur[i];
      if (!cubeOverlaps(a, b, ds)) {
        if (untouched) untouched.push(a);
        continue;
      }
      if (!untouched) untouched = cur.slice(0, i);
      pushPieces(a, b, ds, (pieces ??= []));
    }
    if (!untouched) continue;
    // The untouched cubes are simplified among themselves; only the new pieces need merging in,
    // each with the untouched cubes (pieces of one cube are disjoint and differ in two dimensions).
    const n = untouched.length;
    for (const p of pieces ?? []) addCubeAmong(untouched, n, p);
    cur = untouched;
  }
  return cur;
}

/**
 * The packets of either space, simplified (no cube inside another, merged neighbours). With
 * `grow`, a cube of `t` also grows into the cubes it sticks out of in a single dimension (see
 * `addCube`): the right choice for collecting many pieces of one set (a staircase of steps then
 * folds up), the wrong one for sets that are cut up again right after, whose cubes it makes
 * overlap.
 */
export function union(s: Space, t: Space, grow = false): Space {
  if (t.length === 0 || s === t) return s;
  // `t` may come straight from `intersect`, which does not simplify (cubes cut by one cube can
  // end up inside one another): simplify it here too, so that no union carries a needless piece.
  if (s.length === 0 && t.length === 1) return t;
  const out = s.slice();
  for (const c of t) addCube(out, c, grow);
  return out;
}

/** Whether every packet of `s` is in `t`; `tDims` as for `SpaceDims`. */
export function subsetOf(s: Space, t: Space, tDims?: SpaceDims): boolean {
  return subtract(s, t, tDims).length === 0;
}

/** Rough size of a space (overlapping cubes count twice), for ranking. */
export function volume(s: Space, dims?: Dimensions): number {
  let v = 0;
  for (const c of s) v += cubeVolume(c, dims);
  return v;
}

/** Replaces one dimension of every cube by a set (e.g. "the mark is now unknown"). */
export function widen(s: Space, dim: number, to: IntervalSet): Space {
  return simplify(s.map((c) => (c[dim] === to ? c : c.map((x, i) => (i === dim ? to : x)))));
}

/** Maps one dimension of every cube through a function on values (each set is enumerated: keep the dimension small). */
export function mapDimension(s: Space, dim: number, f: (v: number) => number): Space {
  return simplify(
    s.map((c) => {
      const vals: number[] = [];
      const x = c[dim];
      for (let i = 0; i < x.length; i += 2) for (let v = x[i]; v <= x[i + 1]; v++) vals.push(f(v));
      return c.map((y, i) => (i === dim ? fromValues(vals) : y));
    }),
  );
}

/** The most intervals a set keeps through `coarsen`. */
const MAX_INTERVALS = 32;

/** A set with at most `max` intervals holding `s`: the smallest gaps are filled first. */
function coarsenSet(s: IntervalSet, max: number): IntervalSet {
  const n = s.length / 2;
  if (n <= max) return s;
  // Gap k lies between interval k and k + 1; keep the max - 1 widest gaps.
  const gaps = Array.from({ length: n - 1 }, (_, k) => k).sort((x, y) => s[2 * y + 2] - s[2 * y + 1] - (s[2 * x + 2] - s[2 * x + 1]) || x - y);
  const kept = gaps.slice(0, max - 1).sort((x, y) => x - y);
  const out: number[] = [];
  let lo = s[0];
  for (const k of kept) {
    out.push(lo, s[2 * k + 1]);
    lo = s[2 * k + 2];
  }
  out.push(lo, s[s.length - 1]);
  return out;
}

/** Orders sets by content, for grouping similar cubes. */
function compareSets(a: IntervalSet, b: IntervalSet): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * A union of at most `limit` cubes holding every packet of `s` (an over-approximation, exact when
 * `s` is small enough already): cubes are sorted so that those alike in their least varied
 * dimensions sit together, and runs of neighbours are replaced by their hull, down to half the
 * limit so that the next few additions do not coarsen again. Sets are also kept to a bounded
 * number of intervals. Returns the space and whether it had to be coarsened.
 */
export function coarsen(s: Space, limit: number): { space: Space; coarsened: boolean } {
  if (s.length <= limit) return { space: s, coarsened: false };
  const dims = s[0].length;
  // Dimensions in order of how many different sets they carry: the stable ones decide the grouping.
  const variety = Array.from({ length: dims }, (_, d) => new Set(s.map((c) => c[d].join(','))).size);
  const order = Array.from({ length: dims }, (_, d) => d).sort((x, y) => variety[x] - variety[y] || x - y);
  const sorted = [...s].sort((a, b) => {
    for (const d of order) {
      const c = compareSets(a[d], b[d]);
      if (c !== 0) return c;
    }
    return 0;
  });
  const target = Math.max(1, Math.floor(limit / 2));
  const group = Math.ceil(sorted.length / target);
  const out: Cube[] = [];
  for (let i = 0; i < sorted.length; i += group) {
    let h = sorted[i];
    for (let j = i + 1; j < Math.min(sorted.length, i + group); j++) h = cubeHull(h, sorted[j]);
    addCube(out, h.map((x) => coarsenSet(x, MAX_INTERVALS)));
  }
  return { space: out, coarsened: true };
}
