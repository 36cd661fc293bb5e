// Intensities → histogram bins. MR has no absolute scale, so each image is mapped through its own robust range
// (low and high percentiles); the bright tail (vessels, fat, contrast agent) is clipped rather than allowed to
// squeeze the tissue into a few bins.

/** The p-th percentile (0–100) of the finite values, from a sorted subsample of at most `maxSamples`. */
export function percentiles(data: ArrayLike<number>, ps: number[], maxSamples = 200_000): number[] {
  const step = Math.max(1, Math.floor(data.length / maxSamples));
  const values: number[] = [];
  for (let v = 0; v < data.length; v += step) if (Number.isFinite(data[v])) values.push(data[v]);
  if (values.length === 0) return ps.map(() => 0);
  const sorted = Float64Array.from(values).sort();
  return ps.map((p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))]);
}

export interface IntensityRange {
  low: number;
  high: number;
}

/** Range spanning the background to the bright end of the tissue, robust to a few hot voxels. */
export function robustRange(data: ArrayLike<number>): IntensityRange {
  const [low, high] = percentiles(data, [0.5, 99.5]);
  return { low, high: high > low ? high : low + 1 };
}

/** The volume with `level` subtracted from every voxel (a copy; the input may be the caller's). */
export function aboveLevel<V extends { data: Float32Array }>(volume: V, level: number): V {
  if (level === 0) return volume;
  const data = new Float32Array(volume.data.length);
  for (let v = 0; v < data.length; v++) data[v] = volume.data[v] - level;
  return { ...volume, data };
}

/** Continuous bin coordinate in [0, bins − 1]. */
export function toBin(value: number, range: IntensityRange, bins: number): number {
  if (!Number.isFinite(value)) return 0;
  const t = (value - range.low) / (range.high - range.low);
  return t <= 0 ? 0 : t >= 1 ? bins - 1 : t * (bins - 1);
}
