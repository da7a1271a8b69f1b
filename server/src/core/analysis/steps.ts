/**
 * Work written as generators that pause (`yield`) where the language server may answer requests
 * in between (analyse.ts `analyseAsync`); the same work run at once drains them.
 */

/** Work that pauses at each `yield` and ends with a `T`. */
export type Steps<T> = Generator<void, T, void>;

/** Runs steps to their end, without pausing, and returns what they give. */
export function drain<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
