/**
 * The server's collection once the documents rest (server/src/lsp/idle-collector.ts), driven with
 * fake timers and a fake heap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullCollection, IdleCollector, type IdleCollectorHost } from '../server/src/lsp/idle-collector.ts';

/** A host whose timers run when `advance` says, with a heap of `heap` bytes. */
function fakeHost(heap: number): IdleCollectorHost & { collections: number; advance(ms: number): void; pending(): number } {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 0;
  return {
    collections: 0,
    collect() {
      this.collections++;
    },
    heapTotal: () => heap,
    setTimer(fn, ms) {
      const id = ++next;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimer(t) {
      timers = timers.filter((x) => x.id !== t);
    },
    advance(ms) {
      now += ms;
      const due = timers.filter((x) => x.at <= now);
      timers = timers.filter((x) => x.at > now);
      for (const x of due) x.fn();
    },
    pending: () => timers.length,
  };
}

test('one collection after each period of work, once the server has been quiet for the delay', () => {
  const host = fakeHost(512 << 20);
  const idle = new IdleCollector(host, 5000, 256 << 20);
  idle.busy();
  host.advance(4999);
  assert.equal(host.collections, 0, 'not before the delay');
  host.advance(1);
  assert.equal(host.collections, 1);
  host.advance(60_000);
  assert.equal(host.collections, 1, 'once per quiet period, not again and again');
  // Work keeps postponing it: edits 3 s apart never leave the server quiet for 5 s.
  for (let i = 0; i < 5; i++) {
    idle.busy();
    host.advance(3000);
  }
  assert.equal(host.collections, 1);
  assert.equal(host.pending(), 1, 'one timer at a time');
  host.advance(2000);
  assert.equal(host.collections, 2);
});

test('a small heap is left alone, and dispose cancels a waiting collection', () => {
  const small = fakeHost(100 << 20);
  new IdleCollector(small, 5000, 256 << 20).busy();
  small.advance(10_000);
  assert.equal(small.collections, 0);
  const big = fakeHost(512 << 20);
  const idle = new IdleCollector(big, 5000, 256 << 20);
  idle.busy();
  idle.dispose();
  big.advance(10_000);
  assert.equal(big.collections, 0);
  assert.equal(big.pending(), 0);
});

test('this process has a full collection, and it frees unreachable memory', async () => {
  const collect = fullCollection();
  assert.ok(collect, 'gc could not be obtained');
  let garbage: number[][] | undefined = Array.from({ length: 200 }, () => new Array<number>(50_000).fill(1.5));
  const ref = new WeakRef(garbage[0]);
  garbage = undefined;
  // A WeakRef keeps its target until the job that made it ends.
  await new Promise((resolve) => setImmediate(resolve));
  collect();
  assert.equal(ref.deref(), undefined, 'the dropped arrays are still alive after the collection');
});
