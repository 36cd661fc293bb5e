// Image evidence for the review check: does the mask's border sit where the image's own brain border is? The
// intensity profile across a correct mask's border (brain, fluid, inner table, diploë, scalp) is much the same
// all round the head, whatever the contrast; a mask that is shifted has its border inside the brain on one side
// and in the skull on the other, and a mask cut short has its border inside the brain. So the mean profile across
// the border (along the outward normal, -20 to +20 mm) is taken on each face of the head — left, right, front, back,
// top, as the atlas axes through the registration name them — and the faces are compared with each other by the
// lag that best lines their profiles up: left against right and front against back (a shift moves them in opposite
// directions, so the lag is twice the shift), the top against the mean of left and right (which no up-and-down
// shift moves). The skull base is left out: its profile is unlike any other face's. Each lag is measured in the
// image itself and against the same image, so neither contrast nor bias field nor the registration's accuracy
// enters it.
import { applyToPoint, compose, indexToWorld, worldToIndex } from '../space/geometry.js';
import { resampleMask, trilinearAt } from '../space/resample.js';
import type { RigidTransform } from '../space/transform.js';
import type { Vec3, Volume } from '../space/volume.js';
import { reviewGrid } from './atlas-agreement.js';
import { squaredDistanceMm } from './mask-metrics.js';

/** How far the profile reaches on either side of the border, and its step, mm. */
const REACH_MM = 20;
const STEP_MM = 1;
/** Border voxels a face needs before its profile counts (a slab may hold no top, a 2D series few sides). */
const MIN_FACE_VOXELS = 40;
/** The normal must point within about 37° of a face's axis for the voxel to belong to that face. */
const MIN_AXIS_COSINE = 0.8;

/** The mask's border displacement against the image's own border, mm: left–right, front–back, up–down (positive: the mask reaches further left, further back, higher). 0 where a face cannot be measured. */
export type BorderShift = Vec3;

/** Mean intensity profile across the border on each face: 0 +x (left), 1 −x, 2 +y (back), 3 −y, 4 +z (top), 5 −z. */
function faceProfiles(image: Volume<Float32Array>, mask: Volume<Uint8Array>, transform: RigidTransform): { profiles: Float64Array[]; voxels: number[] } {
  const grid = reviewGrid(mask);
  const m = resampleMask(mask, grid).data;
  const [nx, ny, nz] = grid.dims;
  const nxy = nx * ny;
  const outside = squaredDistanceMm(m, grid.dims, grid.spacing);
  const inverse = new Uint8Array(m.length);
  for (let v = 0; v < m.length; v++) inverse[v] = m[v] ? 0 : 1;
  const inside = squaredDistanceMm(inverse, grid.dims, grid.spacing);
  const signed = (v: number) => (m[v] ? -Math.sqrt(inside[v]) : Math.sqrt(outside[v]));
  const samples = (2 * REACH_MM) / STEP_MM + 1;
  const sums = Array.from({ length: 6 }, () => new Float64Array(samples));
  const counts = Array.from({ length: 6 }, () => new Float64Array(samples));
  const voxels = [0, 0, 0, 0, 0, 0];
  const toPatient = indexToWorld(grid);
  const toImage = worldToIndex(image);
  const r = transform.matrix;
  for (let k = 1; k < nz - 1; k++)
    for (let j = 1; j < ny - 1; j++)
      for (let i = 1; i < nx - 1; i++) {
        const v = i + nx * j + nxy * k;
        if (!m[v] || (m[v - 1] && m[v + 1] && m[v - nx] && m[v + nx] && m[v - nxy] && m[v + nxy])) continue;
        // Outward normal: the gradient of the signed distance, from index steps to patient and atlas directions.
        const g = [(signed(v + 1) - signed(v - 1)) / grid.spacing[0], (signed(v + nx) - signed(v - nx)) / grid.spacing[1], (signed(v + nxy) - signed(v - nxy)) / grid.spacing[2]];
        const n = [0, 1, 2].map((c) => grid.direction[0][c] * g[0] + grid.direction[1][c] * g[1] + grid.direction[2][c] * g[2]);
        const length = Math.hypot(n[0], n[1], n[2]);
        if (length < 1e-6) continue;
        const inAtlas = [0, 1, 2].map((row) => (r[4 * row] * n[0] + r[4 * row + 1] * n[1] + r[4 * row + 2] * n[2]) / length);
        let axis = 0;
        for (let a = 1; a < 3; a++) if (Math.abs(inAtlas[a]) > Math.abs(inAtlas[axis])) axis = a;
        if (Math.abs(inAtlas[axis]) < MIN_AXIS_COSINE) continue;
        const face = 2 * axis + (inAtlas[axis] > 0 ? 0 : 1);
        voxels[face]++;
        const p = applyToPoint(toPatient, [i, j, k]);
        for (let s = 0; s < samples; s++) {
          const d = -REACH_MM + s * STEP_MM;
          const q = applyToPoint(toImage, [p[0] + (d * n[0]) / length, p[1] + (d * n[1]) / length, p[2] + (d * n[2]) / length]);
          const x = trilinearAt(image, q[0], q[1], q[2], Number.NaN);
          if (!Number.isFinite(x)) continue;
          sums[face][s] += x;
          counts[face][s]++;
        }
      }
  return { profiles: sums.map((sum, f) => sum.map((x, s) => (counts[f][s] ? x / counts[f][s] : Number.NaN))), voxels };
}

/** The profile with its mean removed and scaled to unit spread (NaN where not measured). */
function standardised(profile: Float64Array): Float64Array {
  const valid = [...profile].filter(Number.isFinite);
  const mean = valid.reduce((s, x) => s + x, 0) / Math.max(1, valid.length);
  const sd = Math.sqrt(valid.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, valid.length)) || 1;
  return profile.map((x) => (x - mean) / sd);
}

/** The lag (samples) by which `b` must be read ahead to match `a` best: a(s) ≈ b(s + lag). */
function bestLag(a: Float64Array, b: Float64Array, maxLag: number): number {
  let best = Number.POSITIVE_INFINITY;
  let lag = 0;
  for (let l = -maxLag; l <= maxLag; l++) {
    let error = 0;
    let n = 0;
    for (let s = 0; s < a.length; s++) {
      const t = s + l;
      if (t < 0 || t >= b.length || !Number.isFinite(a[s]) || !Number.isFinite(b[t])) continue;
      error += (a[s] - b[t]) ** 2;
      n++;
    }
    if (n >= a.length / 2 && error / n < best) {
      best = error / n;
      lag = l;
    }
  }
  return lag;
}

/** How far the mask's border lies from the image's own brain border, along each atlas axis (mm). */
export function borderShift(image: Volume<Float32Array>, mask: Volume<Uint8Array>, transform: RigidTransform): BorderShift {
  const { profiles, voxels } = faceProfiles(image, mask, transform);
  const p = profiles.map(standardised);
  const has = (face: number) => voxels[face] >= MIN_FACE_VOXELS;
  const maxLag = Math.round(16 / STEP_MM);
  // Opposite faces: the mask shifted by t towards +axis reads the + face's profile t ahead and the − face's t behind.
  const lag = (axis: number) => (has(2 * axis) && has(2 * axis + 1) ? bestLag(p[2 * axis], p[2 * axis + 1], maxLag) : 0);
  const lags = [lag(0), lag(1)];
  // The four sides brought back into line by those lags and averaged: the border profile of this head and contrast.
  const aligned = new Float64Array(p[0].length).fill(0);
  const weight = new Float64Array(p[0].length).fill(0);
  for (let face = 0; face < 4; face++) {
    if (!has(face)) continue;
    const offset = Math.round(((face % 2 === 0 ? -1 : 1) * lags[face >> 1]) / 2);
    for (let s = 0; s < aligned.length; s++) {
      const x = p[face][s + offset];
      if (!Number.isFinite(x)) continue;
      aligned[s] += x;
      weight[s]++;
    }
  }
  const sides = standardised(aligned.map((x, s) => (weight[s] ? x / weight[s] : Number.NaN)));
  // The top against the sides: the mask raised by t reads the top face's profile t ahead.
  const top = has(4) && weight.some((w) => w > 0) ? bestLag(p[4], sides, maxLag) * STEP_MM : 0;
  return [(lags[0] * STEP_MM) / 2, (lags[1] * STEP_MM) / 2, top];
}
