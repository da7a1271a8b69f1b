/**
 * Which rules of a chain may share packets, found without comparing every pair. The pairwise
 * checks of the analysis (redundant rules, correlated rules, generalisations, the rules blocking
 * an unreachable one) only ever act on rules whose matches overlap, and in long chains most rules
 * test one or a few values of one field (a blocklist of addresses, one rule per interface, MAC
 * or port): two such rules can overlap only where those values meet.
 *
 * The index picks the dimension in which most rules are narrow (at most NARROW values) and lists,
 * per value, the rules narrow there; the other, wide rules are candidates of every rule. Two
 * rules whose spaces share no value of that dimension share no packet, so the index is exact as
 * a filter: it leaves out only pairs that cannot overlap, and the checks compare the candidates
 * as they would compare every rule.
 */
import { setSize, setUnion, type Dimensions, type IntervalSet, type Space } from './packet-space.ts';
import { drain, type Steps } from './steps.ts';

/** A rule with at most this many values in the indexed dimension is listed under each of them. */
const NARROW = 64;

/** The indices 0 … n - 1: every rule of a chain, for a rule that may overlap any. */
function everyIndex(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Rules of a chain that may overlap each rule, in rule order. */
export class OverlapIndex {
  /** Per value of the indexed dimension, the narrow rules holding it, in rule order. */
  private readonly byValue = new Map<number, number[]>();
  /** The rules that are not narrow, in rule order. */
  private readonly wide: number[] = [];
  /** Per rule, its values in the indexed dimension when narrow, otherwise undefined. */
  private readonly values: (IntervalSet | undefined)[];
  private all?: Int32Array;

  /**
   * @param spaces the rules' packet spaces, in rule order
   * @param dim the indexed dimension, or -1 for none (every rule is then a candidate of every rule)
   */
  private constructor(private readonly spaces: readonly Space[], readonly dim: number) {
    this.values = new Array<IntervalSet | undefined>(spaces.length);
  }

  /** Lists the rules by value; pauses whenever `due` says so. */
  private *fill(due: () => boolean): Steps<void> {
    const { spaces, dim } = this;
    for (let k = 0; k < spaces.length; k++) {
      if (due()) yield;
      const vs = dim < 0 ? undefined : narrowValues(spaces[k], dim);
      this.values[k] = vs;
      if (!vs) {
        this.wide.push(k);
        continue;
      }
      for (let i = 0; i < vs.length; i += 2) {
        for (let v = vs[i]; v <= vs[i + 1]; v++) {
          const list = this.byValue.get(v);
          if (list) list.push(k);
          else this.byValue.set(v, [k]);
        }
      }
    }
  }

  /**
   * The index of a chain's rule spaces, on the dimension where most rules are narrow; chains of at
   * most `minRules` rules, or with no such dimension, get none (every pair is a candidate).
   */
  static of(spaces: readonly Space[], dims: Dimensions, minRules: number): OverlapIndex {
    return drain(OverlapIndex.steps(spaces, dims, minRules, () => false));
  }

  /**
   * `of`, pausing whenever `due` says so: the index of a dispatch chain of 10,000 rules takes tens
   * of milliseconds to build, which an editor's requests should not wait for.
   */
  static *steps(spaces: readonly Space[], dims: Dimensions, minRules: number, due: () => boolean): Steps<OverlapIndex> {
    if (spaces.length <= minRules) return OverlapIndex.none(spaces);
    // Indexed loops: in a generator, `for … of` over an array allocates a result object per element
    // (the iterator is not optimised away as in plain functions), which was 30 MB per check of the
    // 5,000-port dump here. One pass over the rules counts every dimension, asking the clock once
    // per rule rather than once per rule and dimension.
    const dimCount = dims.max.length;
    const counts = new Int32Array(dimCount);
    for (let i = 0; i < spaces.length; i++) {
      if (due()) yield;
      const s = spaces[i];
      for (let d = 0; d < dimCount; d++) {
        // A narrow rule must leave out some value: a rule holding the whole range holds every one.
        let n = 0;
        for (let j = 0; j < s.length; j++) n += setSize(s[j][d]);
        if (n <= NARROW && n <= dims.max[d]) counts[d]++;
      }
    }
    // The dimension most rules are narrow in (the first of equals).
    let best = -1;
    let bestCount = 0;
    for (let d = 0; d < dimCount; d++) {
      if (counts[d] > bestCount) {
        best = d;
        bestCount = counts[d];
      }
    }
    const index = new OverlapIndex(spaces, best);
    yield* index.fill(due);
    return index;
  }

  /** No index: every rule is a candidate of every rule (what the index must agree with). */
  static none(spaces: readonly Space[]): OverlapIndex {
    const index = new OverlapIndex(spaces, -1);
    drain(index.fill(() => false));
    return index;
  }

  /** The rules that may share a packet with rule k, k included, in rule order. */
  near(k: number): Int32Array {
    const vs = this.values[k];
    if (!vs) return (this.all ??= everyIndex(this.spaces.length));
    const found: number[] = [...this.wide];
    for (let i = 0; i < vs.length; i += 2) for (let v = vs[i]; v <= vs[i + 1]; v++) for (const j of this.byValue.get(v) ?? []) found.push(j);
    const sorted = new Int32Array(found).sort();
    let n = 0;
    for (let i = 0; i < sorted.length; i++) if (n === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i];
    return sorted.subarray(0, n);
  }

  /** An upper bound of the sum of `near(k).length` over the rules k that `counted` selects, without building the lists. */
  pairs(counted: (k: number) => boolean): number {
    let total = 0;
    for (let k = 0; k < this.spaces.length; k++) {
      if (!counted(k)) continue;
      const vs = this.values[k];
      if (!vs) {
        total += this.spaces.length;
        continue;
      }
      total += this.wide.length;
      for (let i = 0; i < vs.length; i += 2) for (let v = vs[i]; v <= vs[i + 1]; v++) total += this.byValue.get(v)?.length ?? 0;
    }
    return total;
  }
}

/** The values a space holds in dimension d when they are at most NARROW, otherwise undefined. */
function narrowValues(s: Space, d: number): IntervalSet | undefined {
  let out: IntervalSet = [];
  for (const c of s) {
    out = out.length === 0 ? c[d] : setUnion(out, c[d]);
    if (setSize(out) > NARROW) return undefined;
  }
  return out;
}

/** The rules before k among `near` (a sorted list), and those after it. */
export function split(near: Int32Array, k: number): { before: Int32Array; after: Int32Array } {
  let lo = 0;
  let hi = near.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (near[mid] < k) lo = mid + 1;
    else hi = mid;
  }
  const after = lo < near.length && near[lo] === k ? lo + 1 : lo;
  return { before: near.subarray(0, lo), after: near.subarray(after) };
}
