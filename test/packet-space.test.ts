/**
 * Unit tests of the packet-space algebra (server/src/core/analysis/packet-space.ts) and of the
 * projection onto remaining distinctions (relevance.ts): interval sets, cubes and unions of cubes,
 * checked against brute-force enumeration on small dimensions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  coarsen,
  constrainedDims,
  cubeHull,
  cubeSubsetOf,
  cubeSubtract,
  fromValues,
  intersect,
  isEmpty,
  normalise,
  overlaps,
  setIntersect,
  setOverlaps,
  setSubsetOf,
  setSubtract,
  setUnion,
  simplify,
  subsetOf,
  subtract,
  union,
  universe,
  type Cube,
  type Dimensions,
  type IntervalSet,
  type Space,
} from '../server/src/core/analysis/packet-space.ts';
import { distinctionsOf, Projector, type Use } from '../server/src/core/analysis/relevance.ts';
import { mulberry32 as rng } from '../bench/random.ts';

const DIMS: Dimensions = { names: ['a', 'b', 'c'], max: [7, 7, 3] };

/** Every point of a space, as "a,b,c" strings. */
function points(s: Space): Set<string> {
  const out = new Set<string>();
  for (const c of s) for (const a of values(c[0])) for (const b of values(c[1])) for (const x of values(c[2])) out.add(`${a},${b},${x}`);
  return out;
}

/** The values of an interval set. */
function values(s: IntervalSet): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i += 2) for (let v = s[i]; v <= s[i + 1]; v++) out.push(v);
  return out;
}

function randomSet(rand: () => number, max: number, p = 0.5): IntervalSet {
  const vals: number[] = [];
  for (let v = 0; v <= max; v++) if (rand() < p) vals.push(v);
  return fromValues(vals);
}

function randomCube(rand: () => number): Cube {
  return DIMS.max.map((m) => (rand() < 0.3 ? normalise([[0, m]]) : randomSet(rand, m)));
}

function randomSpace(rand: () => number, n: number): Space {
  return Array.from({ length: n }, () => randomCube(rand)).filter((c) => !c.some((x) => x.length === 0));
}

const same = (a: Set<string>, b: Set<string>): boolean => a.size === b.size && [...a].every((p) => b.has(p));

test('interval sets: normalise, intersect, subtract, union, subset, overlap', () => {
  assert.deepEqual(normalise([[5, 7], [1, 2], [3, 4], [9, 9]]), [1, 7, 9, 9]);
  assert.deepEqual(setIntersect([0, 10], [2, 3, 8, 12]), [2, 3, 8, 10]);
  assert.deepEqual(setSubtract([0, 10], [2, 3, 8, 12]), [0, 1, 4, 7]);
  assert.deepEqual(setUnion([0, 1], [2, 3]), [0, 3]);
  assert.deepEqual(setSubtract([0, 3], [0, 3]), []);
  // Results share the operand when nothing changes, so callers can compare by reference.
  const a: IntervalSet = [2, 5];
  assert.equal(setIntersect(a, [0, 9]), a);
  assert.equal(setSubtract(a, [7, 9]), a);
  assert.equal(setUnion(a, [3, 4]), a);
  const rand = rng(11);
  for (let k = 0; k < 2000; k++) {
    const x = randomSet(rand, 20, 0.4);
    const y = randomSet(rand, 20, 0.4);
    const vx = new Set(values(x));
    const vy = new Set(values(y));
    assert.deepEqual(values(setIntersect(x, y)), [...vx].filter((v) => vy.has(v)));
    assert.deepEqual(values(setSubtract(x, y)), [...vx].filter((v) => !vy.has(v)));
    assert.deepEqual(values(setUnion(x, y)), [...new Set([...vx, ...vy])].sort((p, q) => p - q));
    assert.equal(setSubsetOf(x, y), [...vx].every((v) => vy.has(v)));
    assert.equal(setOverlaps(x, y), [...vx].some((v) => vy.has(v)));
    // Normalised: sorted, disjoint, non-adjacent.
    for (const s of [setIntersect(x, y), setSubtract(x, y), setUnion(x, y)]) for (let i = 2; i < s.length; i += 2) assert.ok(s[i] > s[i - 1] + 1);
  }
});

test('cube subtraction yields disjoint pieces whose union is the difference', () => {
  const rand = rng(3);
  for (let k = 0; k < 300; k++) {
    const a = randomCube(rand);
    const b = randomCube(rand);
    const pieces = cubeSubtract(a, b);
    const want = new Set([...points([a])].filter((p) => !points([b]).has(p)));
    assert.deepEqual(points(pieces), want);
    let total = 0;
    for (const p of pieces) total += points([p]).size;
    assert.equal(total, want.size, 'pieces overlap');
  }
});

test('subtracting a cube that covers all dimensions but one leaves a single cube', () => {
  // "Every interface but these": the staircase of per-interface rules must not split.
  let s: Space = [universe(DIMS)];
  for (let v = 0; v < 7; v++) {
    s = subtract(s, [[[v, v], [0, 7], [0, 3]]]);
    assert.equal(s.length, 1, `after removing ${v + 1} values`);
  }
  assert.deepEqual(s, [[[7, 7], [0, 7], [0, 3]]]);
});

test('space operations agree with brute force', () => {
  const rand = rng(5);
  for (let k = 0; k < 300; k++) {
    const s = randomSpace(rand, 1 + Math.floor(rand() * 4));
    const t = randomSpace(rand, 1 + Math.floor(rand() * 3));
    const ps = points(s);
    const pt = points(t);
    assert.ok(same(points(intersect(s, t)), new Set([...ps].filter((p) => pt.has(p)))));
    assert.ok(same(points(subtract(s, t)), new Set([...ps].filter((p) => !pt.has(p)))));
    assert.ok(same(points(union(s, t)), new Set([...ps, ...pt])));
    assert.ok(same(points(union(s, t, true)), new Set([...ps, ...pt])), 'growing union');
    assert.ok(same(points(simplify([...s, ...t])), new Set([...ps, ...pt])), 'simplify');
    assert.equal(subsetOf(s, t), [...ps].every((p) => pt.has(p)));
    assert.equal(overlaps(s, t), [...ps].some((p) => pt.has(p)));
    assert.equal(isEmpty(subtract(s, t)), [...ps].every((p) => pt.has(p)));
    assert.ok(same(points([cubeHull(s[0] ?? universe(DIMS), t[0] ?? universe(DIMS))]), points([cubeHull(t[0] ?? universe(DIMS), s[0] ?? universe(DIMS))])));
  }
  assert.equal(points([universe(DIMS)]).size, 8 * 8 * 4);
});

test('told the dimensions a cube constrains, intersect and subtract give the same cubes, shared alike, and overlaps and subsetOf the same answers', () => {
  const rand = rng(9);
  // Cubes like a rule's: most dimensions whole, as the universe's own set or as an equal one.
  const ruleCube = (): Cube => DIMS.max.map((m, d) => (rand() < 0.6 ? (rand() < 0.5 ? universe(DIMS)[d] : [0, m]) : randomSet(rand, m)));
  // Which cubes of the result are cubes of `s` itself (callers compare by reference).
  const sharing = (r: Space, s: Space): unknown => (r === s ? 'all' : r.map((c) => s.indexOf(c)));
  let cut = 0;
  for (let k = 0; k < 500; k++) {
    const s = randomSpace(rand, 1 + Math.floor(rand() * 5));
    const t = Array.from({ length: 1 + Math.floor(rand() * 2) }, ruleCube).filter((c) => !c.some((x) => x.length === 0));
    const ds = t.map((c) => constrainedDims(c, DIMS));
    for (const [plain, told] of [
      [intersect(s, t), intersect(s, t, ds)],
      [subtract(s, t), subtract(s, t, ds)],
    ]) {
      assert.deepEqual(told, plain);
      assert.deepEqual(sharing(told, s), sharing(plain, s));
    }
    assert.equal(overlaps(s, t, ds), overlaps(s, t));
    assert.equal(subsetOf(s, t, ds), subsetOf(s, t));
    if (ds.some((x) => x.length < DIMS.max.length)) cut++;
  }
  // Most draws skip some dimension: the test compares the shortcut, not the plain path with itself.
  assert.ok(cut > 300, `${cut} of 500 draws skip a dimension`);
});

test('simplify merges cubes differing in one dimension and drops cubes inside others', () => {
  const a: Cube = [[0, 1], [0, 7], [0, 3]];
  const b: Cube = [[2, 3], [0, 7], [0, 3]];
  const inside: Cube = [[0, 0], [1, 1], [2, 2]];
  assert.deepEqual(simplify([a, inside, b]), [[[0, 3], [0, 7], [0, 3]]]);
});

test('a growing union folds a staircase of steps into few cubes', () => {
  // Steps "a = k, b not in 0 … k-1" and "b = k, a not in 0 … k" (rules per interface, in order).
  let s: Space = [];
  const steps: Cube[] = [];
  for (let k = 0; k < 8; k++) {
    steps.push([[k, k], k === 0 ? [0, 7] : [k, 7], [0, 3]]);
    if (k < 7) steps.push([[k + 1, 7], [k, k], [0, 3]]);
  }
  for (const c of steps) s = union(s, [c], true);
  assert.ok(same(points(s), points(steps)));
  assert.ok(s.length <= 2, `${s.length} cubes`);
  let plain: Space = [];
  for (const c of steps) plain = union(plain, [c]);
  assert.ok(same(points(plain), points(steps)));
});

test('coarsening keeps a superset within the limit, and is the identity below it', () => {
  const rand = rng(7);
  for (let k = 0; k < 100; k++) {
    const s = randomSpace(rand, 12);
    const limit = 2 + Math.floor(rand() * 6);
    const { space, coarsened } = coarsen(s, limit);
    assert.equal(coarsened, s.length > limit);
    assert.ok(space.length <= Math.max(limit, 1), `${space.length} > ${limit}`);
    const pc = points(space);
    for (const p of points(s)) assert.ok(pc.has(p), 'coarsening lost a packet');
    if (!coarsened) assert.equal(space, s);
  }
});

/**
 * A walk passes its last projection as `before`: the cubes still there and left as they are count
 * as simplified among themselves, and only the others are merged in. The result must hold the same
 * packets as a projection from scratch, and stay simplified (no cube inside another).
 */
test('a projection given the last result merges only the new cubes, with the same packets', () => {
  const rand = rng(29);
  let incremental = 0;
  for (let round = 0; round < 150; round++) {
    const uses: Use[] = [];
    const n = 8 + Math.floor(rand() * 8);
    for (let at = 0; at < n; at++) {
      const c: Cube = rand() < 0.6 ? [[at % 8, at % 8], randomSet(rand, 7), [0, 3]] : randomCube(rand);
      if (c.some((x) => x.length === 0)) continue;
      uses.push({ at, distinctions: distinctionsOf([c], DIMS), scope: [c] });
    }
    const projector = new Projector(DIMS, uses, [0]);
    projector.start(0);
    let last = projector.project(simplify(randomSpace(rand, 6)));
    for (let k = 0; k < n; k++) {
      projector.passed(k);
      // Some cubes of the last result (the same objects), and some new ones.
      const s: Cube[] = last.filter(() => rand() < 0.8);
      for (const c of randomSpace(rand, 1 + Math.floor(rand() * 3))) s.splice(Math.floor(rand() * (s.length + 1)), 0, c);
      const fresh = projector.project(s);
      const given = projector.project(s, last);
      assert.ok(same(points(given), points(fresh)), 'a projection given the last result holds other packets');
      // A projection that widens nothing gives its input back as it is, simplified or not; when
      // it widens, the result is simplified as long as the last one was.
      if (given !== s && nested(last) === 0) assert.equal(nested(given), 0, 'a cube lies inside another');
      if (given !== fresh && s.some((c) => last.includes(c))) incremental++;
      last = given;
    }
  }
  assert.ok(incremental > 100, `${incremental} projections took the incremental path`);

  function nested(s: Space): number {
    let n = 0;
    for (let i = 0; i < s.length; i++) for (let j = 0; j < s.length; j++) if (i !== j && cubeSubsetOf(s[i], s[j])) n++;
    return n;
  }
});

/**
 * Projection onto remaining distinctions: every packet the projection adds must be treated like a
 * packet already there by every remaining use (same membership in every remaining rule's space),
 * so that the rest of a walk cannot tell the difference.
 */
test('projection adds only packets that the remaining uses cannot tell from kept ones', () => {
  const rand = rng(13);
  for (let round = 0; round < 120; round++) {
    // Rule-like uses: a scope cube, the distinctions it makes, a position. Many name one value of
    // dimension 0, so that the index on it is exercised.
    const uses: Use[] = [];
    const n = 10 + Math.floor(rand() * 10);
    for (let at = 0; at < n; at++) {
      const c: Cube = rand() < 0.6 ? [[at % 8, at % 8], rand() < 0.5 ? [0, 7] : randomSet(rand, 7), [0, 3]] : randomCube(rand);
      if (c.some((x) => x.length === 0)) continue;
      uses.push({ at, distinctions: distinctionsOf([c], DIMS), scope: [c] });
    }
    const projector = new Projector(DIMS, uses, [0]);
    const keep = rand() < 0.3 ? 1 << 1 : 0;
    projector.start(keep);
    const entry = randomSpace(rand, 3);
    // Entry: every use remains.
    check(entry, projector.projectEntry(entry), uses, -1, 0);
    for (let k = 0; k < n; k += 1 + Math.floor(rand() * 3)) {
      projector.passed(k);
      const s = randomSpace(rand, 1 + Math.floor(rand() * 4));
      check(s, projector.project(s), uses, k, keep);
    }
  }

  function check(s: Space, projected: Space, uses: readonly Use[], k: number, keep: number): void {
    const before = points(s);
    const after = points(projected);
    for (const p of before) assert.ok(after.has(p), 'projection lost a packet');
    const remaining = uses.filter((u) => u.at > k);
    const signature = (p: string): string => remaining.map((u) => (points(u.scope!).has(p) ? '1' : '0')).join('');
    const kept = new Set([...before].map(signature));
    for (const p of after) {
      if (before.has(p)) continue;
      assert.ok(kept.has(signature(p)), `projection added ${p}, which a remaining use tells apart from every kept packet`);
      // Kept dimensions are never widened.
      if (keep & (1 << 1)) assert.ok([...before].some((q) => q.split(',')[1] === p.split(',')[1]), 'a kept dimension was widened');
    }
  }
});

/**
 * A dispatch chain tests one value of a dimension per rule, and calls one chain from many rules;
 * when the values come in another order than their numbers, the packets left after some rules
 * have a hole per value passed between two still to come. The projection fills those holes where
 * no remaining use tells their values from a value the set holds: none of the remaining narrow uses
 * (rules and calls that concern a few values) concerns them, and the other uses make no cut between
 * them. Every packet it adds must be treated like a packet already there by every remaining rule
 * and by the called chain at every remaining call (same block of its cuts).
 */
test('projection fills holes among values no remaining use tells apart, wherever they lie', () => {
  // Dimension 0 has 48 values, enough for the holes of a dispatch chain to be worth filling.
  const D: Dimensions = { names: ['a', 'b', 'c'], max: [47, 7, 3] };
  const all = Array.from({ length: 48 }, (_, v) => v);
  const pointsOf = (s: Space): Set<string> => {
    const out = new Set<string>();
    for (const c of s) for (const a of values(c[0])) for (const b of values(c[1])) for (const x of values(c[2])) out.add(`${a},${b},${x}`);
    return out;
  };
  const rand = rng(41);
  let filled = 0;
  let projections = 0;
  for (let round = 0; round < 60; round++) {
    const order = shuffled(rand, all);
    const uses: Use[] = [];
    const calls: { at: number; scope: Space }[] = [];
    let at = 0;
    for (const value of order) {
      // A rule for one value of dimension 0, calling the shared chain or not; in odd rounds now
      // and then a rule that leaves dimension 0 whole or cuts it once (like --physdev-is-bridged).
      const c: Cube = [[value, value], rand() < 0.6 ? [0, 7] : randomSet(rand, 7), [0, 3]];
      if (c.some((x) => x.length === 0)) continue;
      uses.push({ at, distinctions: distinctionsOf([c], D), scope: [c] });
      if (rand() < 0.7) calls.push({ at, scope: [c] });
      at++;
      if (round % 2 === 1 && rand() < 0.1) {
        const o: Cube = [rand() < 0.4 ? [0, 47] : [1 + Math.floor(rand() * 3), 47], randomSet(rand, 7), [0, 3]];
        if (!o.some((x) => x.length === 0)) {
          // Such a rule may call the shared chain too: its calls then concern every value.
          if (rand() < 0.2) calls.push({ at, scope: [o] });
          uses.push({ at: at++, distinctions: distinctionsOf([o], D), scope: [o] });
        }
      }
    }
    // The called chain tells apart what a random cube's bounds do, in every dimension.
    const reach = distinctionsOf([[fromValues(all.filter(() => rand() < 0.5)), randomSet(rand, 7), [0, 3]]].filter((c) => !c.some((x) => x.length === 0)), D);
    if (calls.length > 0) uses.push({ at: calls[calls.length - 1].at, distinctions: reach, scope: calls.flatMap((c) => c.scope), calls });
    uses.sort((a, b) => a.at - b.at);
    const projector = new Projector(D, uses, [0]);
    projector.start(0);
    for (let k = 0; k < at; k += 1 + Math.floor(rand() * 4)) {
      projector.passed(k);
      // The packets a dispatch chain leaves: every value of dimension 0 not passed yet, some others.
      const passed = new Set(order.filter((_, i) => i <= k));
      const left: Cube = [fromValues(all.filter((v) => !passed.has(v) || rand() < 0.1)), rand() < 0.5 ? [0, 7] : randomSet(rand, 7), [0, 3]];
      if (left.some((x) => x.length === 0)) continue;
      const s: Space = [left];
      const projected = projector.project(s);
      projections++;
      check(s, projected, uses, reach, k);
      if (projected[0][0].length < s[0][0].length) filled++;
    }
    // Rounds without other uses: halfway, the values passed are alike and the holes close.
    if (round % 2 === 0) {
      const p = new Projector(D, uses, [0]);
      p.start(0);
      const half = Math.floor(at / 2);
      p.passed(half);
      const passed = new Set(order.slice(0, half + 1));
      const left: Cube = [fromValues(all.filter((v) => !passed.has(v) || v === order[0])), [0, 7], [0, 3]];
      const projected = p.project([left]);
      assert.deepEqual(projected[0][0], [0, 47], `holes left: ${JSON.stringify(projected[0][0])}`);
    }
  }
  // Most projections fill holes: the test checks the filling, not the rest.
  assert.ok(filled > projections / 4, `${filled} of ${projections} projections filled holes`);

  function check(s: Space, projected: Space, uses: readonly Use[], reach: { cuts: readonly (readonly number[])[] }, k: number): void {
    const before = pointsOf(s);
    const after = pointsOf(projected);
    for (const p of before) assert.ok(after.has(p), 'projection lost a packet');
    // What the rest of the walk sees of a packet: which remaining rules match it, and for each
    // remaining call that sends it, the block of the called chain's cuts it falls in.
    const scopes = new Map(uses.map((u) => [u, pointsOf(u.scope!)]));
    const callScopes = new Map(uses.flatMap((u) => (u.calls ?? []).map((c) => [c, pointsOf(c.scope)] as const)));
    const blockOf = (p: string): string => p.split(',').map((x, d) => reach.cuts[d].filter((cut) => cut <= Number(x)).length).join('.');
    const signature = (p: string): string =>
      uses
        .filter((u) => u.at > k && !u.calls)
        .map((u): string => (scopes.get(u)!.has(p) ? '1' : '0'))
        .concat(uses.flatMap((u) => (u.calls ?? []).filter((c) => c.at > k).map((c) => (callScopes.get(c)!.has(p) ? blockOf(p) : '-'))))
        .join(' ');
    const kept = new Set([...before].map(signature));
    for (const p of after) {
      if (before.has(p)) continue;
      assert.ok(kept.has(signature(p)), `projection added ${p}, which a remaining use tells apart from every kept packet`);
    }
  }
});

test('a cube with many holes grows into a neighbour that holds them, whichever comes first', () => {
  // Dimension 0 of `holes` has four intervals; `wide` holds all of them but 0 in dimension 0, and more in dimension 1.
  const holes: Cube = [[0, 0, 2, 2, 4, 4, 6, 6], [3, 3], [0, 3]];
  const wide: Cube = [[1, 7], [0, 7], [0, 3]];
  for (const s of [simplify([holes, wide]), simplify([wide, holes]), union([wide], [holes]), union([holes], [wide])]) {
    assert.ok(same(points(s), points([holes, wide])), 'the union changed');
    assert.equal(s.length, 2);
    assert.ok(s.every((c) => c[0].length === 2), `a cube kept its holes: ${JSON.stringify(s)}`);
  }
  // Few intervals are left as they are (they cost little and growing makes cubes overlap).
  const two: Cube = [[0, 0, 2, 2], [3, 3], [0, 3]];
  assert.deepEqual(simplify([two, wide]), [two, wide]);
});

/** The values in a random order. */
function shuffled(rand: () => number, xs: number[]): number[] {
  const out = xs.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
