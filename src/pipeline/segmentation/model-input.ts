// What the network sees: the input moved onto the model grid by the registration transform, and intensities
// normalised exactly as the training generator does (training/synth.py `normalise`; models/MODEL_CARD.md):
//   x = clip((v − p0.5) / (p99.5 − p0.5), 0, 1.5), percentiles over all voxels of the 128³ grid,
// where p is the k-th smallest value with k = round(q · n) (at least 1), as torch.kthvalue computes it.
// Outside the input's field of view the grid holds the input's own background level before normalisation. In
// training that fill is 0, which is where air lies in the images it learnt from; but where a stored value of 0
// lies is the encoding's choice (signed values, a Rescale Intercept), and a fill of 0 in an image whose air is
// −600 is a bright block the network reads as tissue. The input's own low percentile is its air on any
// encoding, and is 0 (or within noise of it) on the images training saw, so the network sees the same input for
// an image whatever constant was added to its values or positive factor they were scaled by.
import { type Affine, invert } from '../space/geometry.js';
import { resample } from '../space/resample.js';
import type { RigidTransform } from '../space/transform.js';
import type { Grid, Volume } from '../space/volume.js';

export const NORMALISATION = { lowQuantile: 0.005, highQuantile: 0.995, max: 1.5 } as const;

/** Values the background level is taken from at most: a strided sample is enough for a percentile of air. */
const BACKGROUND_SAMPLES = 1 << 20;

/**
 * The input's own background level: its low normalisation percentile over (a strided sample of) its voxels.
 * Order statistics move with the values, so an offset or a positive scale of the input moves it alike.
 */
export function backgroundLevel(data: Float32Array): number {
  const step = Math.max(1, Math.ceil(data.length / BACKGROUND_SAMPLES));
  const sample = step === 1 ? data : Float32Array.from({ length: Math.ceil(data.length / step) }, (_, s) => data[s * step]);
  return quantiles(sample, [NORMALISATION.lowQuantile])[0];
}

/** Samples `input` on the model grid; `transform` maps input LPS → atlas LPS (registration's result). */
export function toModelGrid(input: Volume<Float32Array>, transform: RigidTransform, grid: Grid): Volume<Float32Array> {
  const atlasToInput: Affine = invert(transform.matrix);
  return resample(input, grid, { targetToSource: atlasToInput, interpolation: 'linear', fill: backgroundLevel(input.data) }) as Volume<Float32Array>;
}

/**
 * k-th smallest (1-based) of the finite values of data for each quantile q, k = max(1, round(q · n)), n the
 * number of finite values (NaN and ±Inf from a damaged input do not move the percentiles).
 */
export function quantiles(data: Float32Array, qs: number[]): number[] {
  const sorted = Float32Array.from(data).sort();
  let n = 0;
  while (n < sorted.length && Number.isFinite(sorted[n])) n++;
  let first = 0;
  while (first < n && sorted[first] === -Infinity) first++;
  const finite = sorted.subarray(first, n);
  if (finite.length === 0) return qs.map(() => 0);
  return qs.map((q) => finite[Math.min(finite.length, Math.max(1, Math.round(q * finite.length))) - 1]);
}

export function normaliseForModel(data: Float32Array): Float32Array {
  const [lo, hi] = quantiles(data, [NORMALISATION.lowQuantile, NORMALISATION.highQuantile]);
  const scale = Math.max(hi - lo, 1e-6);
  const out = new Float32Array(data.length);
  for (let v = 0; v < data.length; v++) {
    const x = (data[v] - lo) / scale;
    // written so that NaN becomes 0
    out[v] = x > 0 ? (x > NORMALISATION.max ? NORMALISATION.max : x) : 0;
  }
  return out;
}

/** The network input tensor [1, 1, k, j, i] (the Volume memory layout) for `input`. */
export function modelInput(input: Volume<Float32Array>, transform: RigidTransform, grid: Grid): Float32Array {
  return normaliseForModel(toModelGrid(input, transform, grid).data);
}
