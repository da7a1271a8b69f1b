/**
 * Unit tests of the packet-space algebra (server/src/core/analysis/packet-space.ts): interval sets,
 * cubes and unions of cubes, checked against brute-force enumeration on small dimensions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cubeSubtract, fromValues, intersect, isEmpty, normalise, setIntersect, setSubtract, setUnion, subsetOf, subtract, union, universe, type Cube, type Dimensions, type IntervalSet, type Space } from '../server/src/core/analysis/packet-space.ts';

const DIMS: Dimensions = { names: ['a', 'b', 'c'], max: [7n, 7n, 3n] };

/** Every point of a space, as "a,b,c" strings. */
function points(s: Space): Set<string> {
  const out = new Set<string>();
  for (const c of s) for (const [a0, a1] of c[0]) for (let a = a0; a <= a1; a++) for (const [b0, b1] of c[1]) for (let b = b0; b <= b1; b++) for (const [c0, c1] of c[2]) for (let x = c0; x <= c1; x++) out.add(`${a},${b},${x}`);
  return out;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomSet(rand: () => number, max: number): IntervalSet {
  const vals: number[] = [];
  for (let v = 0; v <= max; v++) if (rand() < 0.5) vals.push(v);
  return fromValues(vals);
}

function randomCube(rand: () => number): Cube {
  return DIMS.max.map((m) => (rand() < 0.3 ? normalise([[0n, m]]) : randomSet(rand, Number(m))));
}

test('interval sets: normalise, intersect, subtract, union', () => {
  assert.deepEqual(normalise([[5n, 7n], [1n, 2n], [3n, 4n], [9n, 9n]]), [[1n, 7n], [9n, 9n]]);
  assert.deepEqual(setIntersect([[0n, 10n]], [[2n, 3n], [8n, 12n]]), [[2n, 3n], [8n, 10n]]);
  assert.deepEqual(setSubtract([[0n, 10n]], [[2n, 3n], [8n, 12n]]), [[0n, 1n], [4n, 7n]]);
  assert.deepEqual(setUnion([[0n, 1n]], [[2n, 3n]]), [[0n, 3n]]);
  assert.deepEqual(setSubtract([[0n, 3n]], [[0n, 3n]]), []);
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

test('space operations agree with brute force', () => {
  const rand = rng(5);
  for (let k = 0; k < 200; k++) {
    const s: Space = [randomCube(rand), randomCube(rand)].filter((c) => !c.some((x) => x.length === 0));
    const t: Space = [randomCube(rand)].filter((c) => !c.some((x) => x.length === 0));
    const ps = points(s);
    const pt = points(t);
    assert.deepEqual(points(intersect(s, t)), new Set([...ps].filter((p) => pt.has(p))));
    assert.deepEqual(points(subtract(s, t)), new Set([...ps].filter((p) => !pt.has(p))));
    assert.deepEqual(points(union(s, t)), new Set([...ps, ...pt]));
    assert.equal(subsetOf(s, t), [...ps].every((p) => pt.has(p)));
    assert.equal(isEmpty(subtract(s, t)), [...ps].every((p) => pt.has(p)));
  }
  assert.equal(points([universe(DIMS)]).size, 8 * 8 * 4);
});
