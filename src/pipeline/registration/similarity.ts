// Normalised mutual information (Studholme: (H(F) + H(M)) / H(F, M)) between the atlas and the input, measured
// at a fixed set of sample points in atlas space. MI needs no assumption about how one contrast's intensities
// relate to the other's (T1 vs T2/FLAIR, contrast agent, a lesion that is bright in one and dark in the other);
// the normalised form does not reward shrinking the overlap, which matters for thick-slab series that cover
// only part of the atlas. Fixed sample points (seeded) make the cost deterministic, so a plain pattern search
// can optimise it; the moving intensity is split linearly between two neighbouring bins (partial-volume
// histogram), which keeps the cost continuous in the transform parameters.
import { type Affine, applyToPoint, indexToWorld, multiply, worldToIndex } from '../space/geometry.js';
import { trilinearAt } from '../space/resample.js';
import type { Grid, Vec3, Volume } from '../space/volume.js';
import { type IntensityRange, robustRange, toBin } from './intensity.js';

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so a registration is reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SampleSet {
  /** Atlas LPS positions, x y z interleaved. */
  points: Float64Array;
  /** Atlas histogram bin of each point. */
  fixedBins: Uint8Array;
  count: number;
}

/**
 * Draws `count` points in the atlas volume's box, keeping background points with probability 1/3 so most of
 * the effort goes to the head while the head/air edge still anchors the fit.
 */
export function drawSamples(
  fixed: Volume<Float32Array>,
  count: number,
  bins: number,
  seed: number,
  region?: Volume<Uint8Array>,
): SampleSet {
  const random = seededRandom(seed);
  const regionIndex = region ? worldToIndex(region) : undefined;
  const range = robustRange(fixed.data);
  const toWorld = indexToWorld(fixed);
  const [nx, ny, nz] = fixed.dims;
  const points = new Float64Array(count * 3);
  const fixedBins = new Uint8Array(count);
  let n = 0;
  for (let attempts = 0; n < count && attempts < count * 50; attempts++) {
    const x = random() * (nx - 1);
    const y = random() * (ny - 1);
    const z = random() * (nz - 1);
    const p = applyToPoint(toWorld, [x, y, z]);
    if (region && regionIndex) {
      const [ri, rj, rk] = applyToPoint(regionIndex, p).map(Math.round);
      const [rx, ry, rz] = region.dims;
      if (ri < 0 || rj < 0 || rk < 0 || ri >= rx || rj >= ry || rk >= rz || !region.data[ri + rx * (rj + ry * rk)]) continue;
    }
    const bin = Math.round(toBin(trilinearAt(fixed, x, y, z, NaN), range, bins));
    if (!region && bin === 0 && random() > 1 / 3) continue;
    points.set(p, n * 3);
    fixedBins[n] = bin;
    n++;
  }
  return { points: points.subarray(0, n * 3), fixedBins: fixedBins.subarray(0, n), count: n };
}

/** The cost of one transform; smaller is better. */
export type Cost = (atlasToInput: Affine) => number;

/**
 * −NMI between the atlas samples and the input at the transformed positions. Points that fall outside the
 * input are left out; if fewer than a tenth remain, the transform is rejected (cost 0, the worst possible).
 * `histogramSigma` (bins) blurs the joint histogram before the entropies (a Parzen estimate of the density):
 * between two different heads the cost near its optimum is shallow, and the finite sample crossing bin edges
 * leaves ripples of the same size as that slope; the blur removes them, so that the search ends at one optimum
 * whichever way it came.
 */
export function nmiCost(
  samples: SampleSet,
  moving: Volume<Float32Array>,
  bins: number,
  range: IntensityRange = robustRange(moving.data),
  histogramSigma = 0,
): Cost {
  const joint = new Float64Array(bins * bins);
  const kernel = histogramSigma > 0 ? gaussianKernel(histogramSigma) : undefined;
  const scratch = kernel ? new Float64Array(bins * bins) : joint;
  const rowSum = new Float64Array(bins);
  const colSum = new Float64Array(bins);
  const toIndex = worldToIndex(moving);
  const { points, fixedBins, count } = samples;
  const [nx, ny, nz] = moving.dims;
  return (atlasToInput: Affine) => {
    const m = multiply(toIndex, atlasToInput);
    joint.fill(0);
    let inside = 0;
    for (let s = 0; s < count; s++) {
      const px = points[3 * s];
      const py = points[3 * s + 1];
      const pz = points[3 * s + 2];
      const x = m[0] * px + m[1] * py + m[2] * pz + m[3];
      const y = m[4] * px + m[5] * py + m[6] * pz + m[7];
      const z = m[8] * px + m[9] * py + m[10] * pz + m[11];
      if (!(x >= 0 && y >= 0 && z >= 0 && x <= nx - 1 && y <= ny - 1 && z <= nz - 1)) continue;
      const b = toBin(trilinearAt(moving, x, y, z, NaN), range, bins);
      const b0 = Math.floor(b);
      const f = b - b0;
      const row = fixedBins[s] * bins;
      joint[row + b0] += 1 - f;
      if (f > 0) joint[row + b0 + 1] += f;
      inside++;
    }
    if (inside < count / 10) return 0;
    if (kernel) blurSquare(joint, scratch, bins, kernel);
    rowSum.fill(0);
    colSum.fill(0);
    let hJoint = 0;
    for (let r = 0; r < bins; r++) {
      for (let c = 0; c < bins; c++) {
        const p = joint[r * bins + c] / inside;
        if (p > 0) {
          hJoint -= p * Math.log(p);
          rowSum[r] += p;
          colSum[c] += p;
        }
      }
    }
    let hFixed = 0;
    let hMoving = 0;
    for (let b = 0; b < bins; b++) {
      if (rowSum[b] > 0) hFixed -= rowSum[b] * Math.log(rowSum[b]);
      if (colSum[b] > 0) hMoving -= colSum[b] * Math.log(colSum[b]);
    }
    return hJoint > 0 ? -(hFixed + hMoving) / hJoint : 0;
  };
}

/** Normalised Gaussian weights, out to 2σ. */
function gaussianKernel(sigma: number): Float64Array {
  const radius = Math.max(1, Math.ceil(2 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let q = -radius; q <= radius; q++) total += kernel[q + radius] = Math.exp((-q * q) / (2 * sigma * sigma));
  return kernel.map((w) => w / total);
}

/**
 * Blurs an n×n histogram in place along both axes; what would fall past an edge is reflected back in, so the
 * total is kept.
 */
function blurSquare(histogram: Float64Array, scratch: Float64Array, n: number, kernel: Float64Array): void {
  const radius = (kernel.length - 1) / 2;
  const reflect = (i: number) => (i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i);
  scratch.fill(0);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const v = histogram[r * n + c];
      if (v === 0) continue;
      for (let q = -radius; q <= radius; q++) scratch[r * n + reflect(c + q)] += v * kernel[q + radius];
    }
  }
  histogram.fill(0);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const v = scratch[r * n + c];
      if (v === 0) continue;
      for (let q = -radius; q <= radius; q++) histogram[reflect(r + q) * n + c] += v * kernel[q + radius];
    }
  }
}

/**
 * The samples that `atlasToInput` puts at least `marginMm` inside the input's grid. NMI over a sample set that
 * changes with the pose is biased when the input covers only part of the head (a slab): moving the atlas so
 * that more informative anatomy (midline, ventricles) falls inside the slab raises NMI without aligning
 * anything. Freezing the set at the start of a level, with a margin so that small moves keep it inside,
 * removes that incentive.
 */
export function samplesInside(samples: SampleSet, moving: Grid, atlasToInput: Affine, marginMm: number): SampleSet {
  const m = multiply(worldToIndex(moving), atlasToInput);
  const margin = moving.spacing.map((s) => marginMm / s);
  const keep: number[] = [];
  for (let s = 0; s < samples.count; s++) {
    const q = applyToPoint(m, [samples.points[3 * s], samples.points[3 * s + 1], samples.points[3 * s + 2]]);
    if (q.every((x, a) => x >= Math.min(margin[a], (moving.dims[a] - 1) / 2) && x <= moving.dims[a] - 1 - Math.min(margin[a], (moving.dims[a] - 1) / 2))) keep.push(s);
  }
  const points = new Float64Array(keep.length * 3);
  const fixedBins = new Uint8Array(keep.length);
  keep.forEach((s, n) => {
    points.set(samples.points.subarray(3 * s, 3 * s + 3), 3 * n);
    fixedBins[n] = samples.fixedBins[s];
  });
  return { points, fixedBins, count: keep.length };
}

/** Centre of mass and second moments of the voxels brighter than `threshold`, in patient LPS. */
export function foregroundMoments(volume: Volume<Float32Array>, threshold: number): { centre: Vec3; covariance: number[]; count: number } {
  const toWorld = indexToWorld(volume);
  const [nx, ny, nz] = volume.dims;
  let n = 0;
  const sum = [0, 0, 0];
  const sq = new Array<number>(9).fill(0);
  for (let k = 0, v = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, v++) {
        if (!(volume.data[v] > threshold)) continue;
        const p = applyToPoint(toWorld, [i, j, k]);
        n++;
        for (let a = 0; a < 3; a++) {
          sum[a] += p[a];
          for (let b = 0; b < 3; b++) sq[a * 3 + b] += p[a] * p[b];
        }
      }
    }
  }
  if (n === 0) return { centre: [0, 0, 0], covariance: [1, 0, 0, 0, 1, 0, 0, 0, 1], count: 0 };
  const centre: Vec3 = [sum[0] / n, sum[1] / n, sum[2] / n];
  const covariance = sq.map((s, ab) => s / n - centre[Math.floor(ab / 3)] * centre[ab % 3]);
  return { centre, covariance, count: n };
}
