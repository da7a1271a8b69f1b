/**
 * A small packet-space algebra for the rule-set analysis. A packet is a point in a product of
 * finite integer dimensions (addresses, protocol, ports, interface classes, conntrack states, …);
 * a set of packets is a union of "cubes", each cube being one interval set per dimension. The
 * operations are exact: intersection of cubes is per-dimension intersection, and subtracting one
 * cube from another yields at most one disjoint cube per dimension.
 *
 * Values are bigints so that IPv6 addresses fit in the same code as ports; every dimension is the
 * inclusive range 0 … max. Interval sets are sorted, disjoint, non-adjacent `[lo, hi]` pairs.
 */

/** An inclusive interval of values. */
export type Interval = readonly [bigint, bigint];
/** A sorted list of disjoint, non-adjacent intervals. */
export type IntervalSet = readonly Interval[];
/** One interval set per dimension. */
export type Cube = readonly IntervalSet[];

/** The shape of a space: the largest value of every dimension. */
export interface Dimensions {
  readonly names: readonly string[];
  readonly max: readonly bigint[];
}

/** The empty interval set. */
export const EMPTY_SET: IntervalSet = [];

/** The interval set `lo … hi` (empty when hi < lo). */
export function range(lo: bigint, hi: bigint): IntervalSet {
  return hi < lo ? EMPTY_SET : [[lo, hi]];
}

/** Builds a normalised interval set from arbitrary (overlapping, unsorted) intervals. */
export function normalise(intervals: readonly Interval[]): IntervalSet {
  const xs = intervals.filter(([a, b]) => a <= b).slice().sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [a, b] of xs) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1n) {
      if (b > last[1]) last[1] = b;
    } else out.push([a, b]);
  }
  return out;
}

/** Builds an interval set from single values. */
export function fromValues(values: Iterable<bigint | number>): IntervalSet {
  return normalise([...values].map((v) => [BigInt(v), BigInt(v)] as Interval));
}

/** The first index whose interval ends at or after `v` (binary search). */
function firstEndingAtOrAfter(s: IntervalSet, v: bigint): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid][1] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Intersection of two interval sets; a small set against a large one costs O(small · log large). */
export function setIntersect(a: IntervalSet, b: IntervalSet): IntervalSet {
  if (a.length === 0 || b.length === 0) return EMPTY_SET;
  if (a.length > b.length) [a, b] = [b, a];
  const out: Interval[] = [];
  for (const [lo, hi] of a) {
    for (let k = firstEndingAtOrAfter(b, lo); k < b.length && b[k][0] <= hi; k++) {
      const l = b[k][0] > lo ? b[k][0] : lo;
      const h = b[k][1] < hi ? b[k][1] : hi;
      if (l <= h) out.push([l, h]);
    }
  }
  return out;
}

/** `a` without the values of `b`. */
export function setSubtract(a: IntervalSet, b: IntervalSet): IntervalSet {
  if (a.length === 0 || b.length === 0) return a;
  const out: Interval[] = [];
  for (const [lo, hi] of a) {
    let cur = lo;
    for (let k = firstEndingAtOrAfter(b, lo); k < b.length && b[k][0] <= hi && cur <= hi; k++) {
      if (b[k][0] > cur) out.push([cur, b[k][0] - 1n]);
      cur = b[k][1] + 1n;
    }
    if (cur <= hi) out.push([cur, hi]);
  }
  return out;
}

/** Union of two interval sets. */
export function setUnion(a: IntervalSet, b: IntervalSet): IntervalSet {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return normalise([...a, ...b]);
}

/** Whether every value of `a` is in `b`. */
export function setSubsetOf(a: IntervalSet, b: IntervalSet): boolean {
  return setSubtract(a, b).length === 0;
}

/** The number of values in a set. */
export function setSize(a: IntervalSet): bigint {
  let n = 0n;
  for (const [lo, hi] of a) n += hi - lo + 1n;
  return n;
}

/** Whether the set is the whole dimension `0 … max`. */
export function isFull(a: IntervalSet, max: bigint): boolean {
  return a.length === 1 && a[0][0] === 0n && a[0][1] === max;
}

/** The cube of every packet. */
export function universe(dims: Dimensions): Cube {
  return dims.max.map((m) => range(0n, m));
}

/** The universe restricted on some dimensions (by index). */
export function cubeWith(dims: Dimensions, constraints: ReadonlyMap<number, IntervalSet>): Cube {
  return dims.max.map((m, i) => (constraints.has(i) ? setIntersect(constraints.get(i)!, range(0n, m)) : range(0n, m)));
}

/** Whether a cube holds no packet (some dimension is empty). */
export function cubeIsEmpty(c: Cube): boolean {
  for (const s of c) if (s.length === 0) return true;
  return false;
}

/** The intersection of two cubes, or undefined when it is empty. */
export function cubeIntersect(a: Cube, b: Cube): Cube | undefined {
  const out: IntervalSet[] = new Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const s = a[i] === b[i] ? a[i] : setIntersect(a[i], b[i]);
    if (s.length === 0) return undefined;
    out[i] = s;
  }
  return out;
}

/**
 * `a` without `b`, as disjoint cubes: the k-th piece keeps the dimensions before k intersected
 * with `b` and takes dimension k outside `b`.
 */
export function cubeSubtract(a: Cube, b: Cube): Cube[] {
  const inter: IntervalSet[] = new Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const s = a[i] === b[i] ? a[i] : setIntersect(a[i], b[i]);
    if (s.length === 0) return [a];
    inter[i] = s;
  }
  const out: Cube[] = [];
  for (let k = 0; k < a.length; k++) {
    const rest = a[k] === inter[k] ? EMPTY_SET : setSubtract(a[k], b[k]);
    if (rest.length === 0) continue;
    const piece: IntervalSet[] = new Array(a.length);
    for (let i = 0; i < a.length; i++) piece[i] = i < k ? inter[i] : i === k ? rest : a[i];
    out.push(piece);
  }
  return out;
}

/** Whether every packet of `a` is in `b`. */
export function cubeSubsetOf(a: Cube, b: Cube): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !setSubsetOf(a[i], b[i])) return false;
  return true;
}

/** The number of packets in a cube, as a float (for ranking only). */
export function cubeVolume(c: Cube): number {
  let v = 1;
  for (const s of c) v *= Number(setSize(s));
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

/** The packets of `s` that are also in `t`. */
export function intersect(s: Space, t: Space): Space {
  const out: Cube[] = [];
  for (const a of s) for (const b of t) {
    const c = cubeIntersect(a, b);
    if (c) out.push(c);
  }
  return out;
}

/** Whether `s` and `t` share a packet. */
export function overlaps(s: Space, t: Space): boolean {
  for (const a of s) for (const b of t) if (cubeIntersect(a, b)) return true;
  return false;
}

/** The packets of `s` that are not in `t`. */
export function subtract(s: Space, t: Space): Space {
  let cur: Cube[] = [...s];
  for (const b of t) {
    const next: Cube[] = [];
    for (const a of cur) for (const p of cubeSubtract(a, b)) next.push(p);
    cur = next;
    if (cur.length === 0) break;
  }
  return cur;
}

/** The packets of either space (the result may repeat packets; it is still the exact union). */
export function union(s: Space, t: Space): Space {
  if (s.length === 0) return t;
  if (t.length === 0) return s;
  // Keep the union small: drop cubes of `t` already inside a cube of `s`.
  const extra = t.filter((b) => !s.some((a) => cubeSubsetOf(b, a)));
  return [...s, ...extra];
}

/** Whether every packet of `s` is in `t`. */
export function subsetOf(s: Space, t: Space): boolean {
  return subtract(s, t).length === 0;
}

/** Rough size of a space (overlapping cubes count twice), for ranking. */
export function volume(s: Space): number {
  let v = 0;
  for (const c of s) v += cubeVolume(c);
  return v;
}

/** Replaces one dimension of every cube by a set (e.g. "the mark is now unknown"). */
export function widen(s: Space, dim: number, to: IntervalSet): Space {
  return s.map((c) => c.map((x, i) => (i === dim ? to : x)));
}

/** Maps one dimension of every cube through a function on values (each set is enumerated: keep the dimension small). */
export function mapDimension(s: Space, dim: number, f: (v: bigint) => bigint): Space {
  return s.map((c) => {
    const vals: bigint[] = [];
    for (const [lo, hi] of c[dim]) for (let v = lo; v <= hi; v++) vals.push(f(v));
    return c.map((x, i) => (i === dim ? fromValues(vals) : x));
  });
}
