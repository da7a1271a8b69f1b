/**
 * Gives the memory of finished work back to the system once the server has been quiet for a while.
 *
 * V8 collects its old generation when it needs room, not when the program is idle, and Node does
 * not tell it when the program is idle. After the checks and analyses of a big document's edits,
 * the garbage they left stays in the heap: measured over stdio on the 5,000-port dump (17.8 MB),
 * the server process held 1,046 MB of RSS after five edits and still held it 15 s later, while
 * what was alive after a full collection was about 214 MB of heap. With one full collection 5 s
 * after the last analysis, it held 526–529 MB (367 MB with a collection every 5 s throughout).
 *
 * A full collection of such a heap holds the server's thread for about a tenth of a second, so it
 * runs only after `delayMs` without document work or requests, once per quiet period, and only
 * when the heap is big enough for it to matter. A request that arrives during it waits that long.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What the collector needs of its surroundings (timers and the heap), so that tests can drive it. */
export interface IdleCollectorHost {
  /** Runs a full garbage collection. */
  collect(): void;
  /** Bytes the V8 heap has committed now. */
  heapTotal(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

/** How long the server waits without document work or requests before it collects, in milliseconds. */
export const IDLE_COLLECT_DELAY_MS = 5000;

/** A heap smaller than this is left alone (small documents never get near it). */
export const IDLE_COLLECT_MIN_HEAP = 256 * 1024 * 1024;

/** Runs one full garbage collection after each period of document work, once the server is quiet. */
export class IdleCollector {
  private timer: unknown;

  constructor(
    private readonly host: IdleCollectorHost,
    private readonly delayMs = IDLE_COLLECT_DELAY_MS,
    private readonly minHeap = IDLE_COLLECT_MIN_HEAP,
  ) {}

  /** Notes work (an edit, the end of an analysis, a request): the quiet period starts again. */
  busy(): void {
    if (this.timer !== undefined) this.host.clearTimer(this.timer);
    this.timer = this.host.setTimer(() => {
      this.timer = undefined;
      if (this.host.heapTotal() >= this.minHeap) this.host.collect();
    }, this.delayMs);
  }

  /** Cancels a collection that is waiting (the server is shutting down). */
  dispose(): void {
    if (this.timer !== undefined) this.host.clearTimer(this.timer);
    this.timer = undefined;
  }
}

/**
 * The full collection of this process: `gc` when Node was started with `--expose-gc` (the VS Code
 * extension starts the server so); otherwise the flag is set now and `gc` is taken from a new
 * context, where V8 installs it once the flag is on. Undefined when neither works.
 */
export function fullCollection(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
