// The one way the benches turn measurements into figures: warm-up runs (not kept), then timed runs, summarised
// as median, min and max.
import type { Figure, Ratio } from './types.js';

export interface Stats {
  median: number;
  min: number;
  max: number;
  runs: number;
  samples: number[];
}

/** Median (the mean of the middle two for an even count), min and max of `samples` (at least one). */
export function summarize(samples: number[]): Stats {
  if (samples.length === 0) throw new Error('no measurements to summarise');
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], runs: s.length, samples: [...samples] };
}

/** Wall time in milliseconds of `fn`: `warmup` untimed calls, then `runs` timed ones. */
export async function measure(fn: () => unknown, options: { warmup?: number; runs: number }): Promise<Stats> {
  for (let w = 0; w < (options.warmup ?? 1); w++) await fn();
  const times: number[] = [];
  for (let r = 0; r < options.runs; r++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return summarize(times);
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** A figure from raw measurements (or their summary), rounded to `digits` decimals. */
export function figure(name: string, unit: string, measured: number[] | Stats, digits = 1): Figure {
  const s = Array.isArray(measured) ? summarize(measured) : measured;
  return { name, unit, median: round(s.median, digits), min: round(s.min, digits), max: round(s.max, digits), runs: s.runs, samples: s.samples.map((v) => round(v, digits)) };
}

/** Every measurement of `stats` mapped through `f` (ms → objects/s, say); min and max follow along. */
export function mapStats(stats: Stats, f: (value: number) => number): Stats {
  return summarize(stats.samples.map(f));
}

/** `ours / baseline` of two medians as a ratio, to two decimals. */
export function ratio(name: string, ours: number, baseline: number, baselineName: string, note?: string): Ratio {
  return { name, value: round(ours / baseline, 2), baseline: baselineName, ...(note ? { note } : {}) };
}
