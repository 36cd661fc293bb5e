// Evidence that the image is a head at all, for the review check. The atlas agreement alone cannot say so: the
// network has learnt the shape of a brain, and on an image without one (noise, a series routed by mistake) it
// can draw a brain-shaped mask in the right place, which then agrees with the atlas. Two measures that a head
// passes with a wide margin and such an image does not:
// - image structure: the correlation between in-plane neighbouring voxels. Anatomy is smooth at the scale of a
//   voxel (tissue classes, air), so neighbours are strongly related; in noise they are unrelated, and in a
//   uniform volume there is nothing to relate. In-plane only, so that thick slices with gaps count like 3D;
// - the network's own uncertainty: voxels it gives a probability between 0.1 and 0.9, per voxel it calls brain.
//   On a head the uncertain voxels are a thin shell around a confident brain; on an image that is not one they
//   are as many as the brain voxels or more.

/** Voxel pairs the structure measure samples at most (a strided sample; the measure moves by well under 0.01). */
const STRUCTURE_PAIRS = 400_000;

/**
 * Pearson correlation between each voxel and its next neighbour along the rows and along the columns of its slice
 * (dims i, j, k; the data in Volume order). 0 for a volume without variation.
 */
export function imageStructure(data: ArrayLike<number>, dims: readonly [number, number, number]): number {
  const [nx, ny] = dims;
  const step = Math.max(1, Math.floor(data.length / STRUCTURE_PAIRS));
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  let sumProducts = 0;
  for (let v = 0; v < data.length; v += step) {
    const i = v % nx;
    const j = Math.floor(v / nx) % ny;
    const a = data[v];
    if (!Number.isFinite(a)) continue;
    for (const w of [i + 1 < nx ? v + 1 : -1, j + 1 < ny ? v + nx : -1]) {
      if (w < 0 || !Number.isFinite(data[w])) continue;
      const b = data[w];
      sum += a + b;
      sumSq += a * a + b * b;
      sumProducts += a * b;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = sum / (2 * n);
  const variance = sumSq / (2 * n) - mean * mean;
  const covariance = sumProducts / n - mean * mean;
  return variance > 1e-9 * Math.max(1, mean * mean) ? covariance / variance : 0;
}

/** Voxels with 0.1 < P(brain) < 0.9 per voxel with P(brain) > 0.5 (all of them when none is). */
export function uncertainPerBrainVoxel(probability: ArrayLike<number>): number {
  let uncertain = 0;
  let brain = 0;
  for (let v = 0; v < probability.length; v++) {
    const p = probability[v];
    if (p > 0.5) brain++;
    if (p > 0.1 && p < 0.9) uncertain++;
  }
  return uncertain / Math.max(1, brain);
}
