/** Timing series shared by the benchmark's scripts. */

/** Best and median of a series of timings, in milliseconds, with every run. */
export interface Series {
  readonly best: number;
  readonly median: number;
  readonly runs: number[];
}

/** Summarises timings (milliseconds); the median of an even count is the lower middle value. */
export function series(runs: number[]): Series {
  const sorted = [...runs].sort((a, b) => a - b);
  return { best: sorted[0] ?? NaN, median: sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN, runs };
}
