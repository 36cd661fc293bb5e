// How close a brain mask is to a reference, as the seed paper and BraTS report it: Dice overlap, the 95th
// percentile Hausdorff distance between the two surfaces in millimetres (the larger of the two directed 95th
// percentiles), and each mask's volume. Distances use exact Euclidean distance transforms that respect
// anisotropic voxels, so a 5 mm slice counts 5 mm.
import { type Volume, voxelCount } from '../space/volume.js';

export interface MaskComparison {
  dice: number;
  /** null when exactly one of the masks is empty (no surface to measure from). */
  hd95Mm: number | null;
  predictedMl: number;
  referenceMl: number;
}

export function dice(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`dice: masks of ${a.length} and ${b.length} voxels`);
  let both = 0;
  let sa = 0;
  let sb = 0;
  for (let v = 0; v < a.length; v++) {
    const x = a[v] ? 1 : 0;
    const y = b[v] ? 1 : 0;
    both += x & y;
    sa += x;
    sb += y;
  }
  return sa + sb === 0 ? 1 : (2 * both) / (sa + sb);
}

export function maskVolumeMl(mask: Volume<Uint8Array>): number {
  let n = 0;
  for (let v = 0; v < mask.data.length; v++) if (mask.data[v]) n++;
  return (n * mask.spacing[0] * mask.spacing[1] * mask.spacing[2]) / 1000;
}

/** Voxels of the mask with a 6-neighbour outside it (the edge of the volume counts as outside). */
export function surfaceVoxels(mask: Volume<Uint8Array>): Uint8Array {
  const [nx, ny, nz] = mask.dims;
  const nxy = nx * ny;
  const m = mask.data;
  const out = new Uint8Array(m.length);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const v = i + nx * j + nxy * k;
        if (!m[v]) continue;
        if (i === 0 || j === 0 || k === 0 || i === nx - 1 || j === ny - 1 || k === nz - 1) out[v] = 1;
        else if (!m[v - 1] || !m[v + 1] || !m[v - nx] || !m[v + nx] || !m[v - nxy] || !m[v + nxy]) out[v] = 1;
      }
  return out;
}

/** 1D squared distance transform (Felzenszwalb & Huttenlocher) of f in place, for unit spacing. */
function edt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    if (f[q] === Infinity) continue;
    if (f[v[k]] === Infinity) {
      v[k] = q;
      continue;
    }
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  if (f[v[0]] === Infinity) {
    for (let q = 0; q < n; q++) d[q] = Infinity;
    return;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    d[q] = (q - v[k]) * (q - v[k]) + f[v[k]];
  }
}

/** Squared distance in mm² from every voxel to the nearest non-zero voxel of `target` (Infinity if none). */
export function squaredDistanceMm(target: Uint8Array, dims: [number, number, number], spacing: [number, number, number]): Float64Array {
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  if (target.length !== n) throw new Error(`distance transform: ${target.length} voxels for ${dims.join('×')}`);
  const dist = new Float64Array(n);
  for (let p = 0; p < n; p++) dist[p] = target[p] ? 0 : Infinity;
  const longest = Math.max(nx, ny, nz);
  const f = new Float64Array(longest);
  const d = new Float64Array(longest);
  const v = new Int32Array(longest);
  const z = new Float64Array(longest + 1);
  const strides = [1, nx, nx * ny];
  for (let axis = 0; axis < 3; axis++) {
    const len = dims[axis];
    const stride = strides[axis];
    const s2 = spacing[axis] * spacing[axis];
    const others = [0, 1, 2].filter((a) => a !== axis);
    for (let b = 0; b < dims[others[1]]; b++)
      for (let a = 0; a < dims[others[0]]; a++) {
        const base = a * strides[others[0]] + b * strides[others[1]];
        // d(p) = min_q s²(p−q)² + f(q) = s² · min_q (p−q)² + f(q)/s²
        for (let q = 0; q < len; q++) f[q] = dist[base + q * stride] / s2;
        edt1d(f, len, d, v, z);
        for (let q = 0; q < len; q++) dist[base + q * stride] = d[q] * s2;
      }
  }
  return dist;
}

function percentile95(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)];
}

/** 95th percentile of the distances from `from`'s surface voxels to `to`'s surface, in mm. */
function directedHd95(fromSurface: Uint8Array, toDistanceSq: Float64Array): number {
  let count = 0;
  for (let p = 0; p < fromSurface.length; p++) if (fromSurface[p]) count++;
  const values = new Float64Array(count);
  let o = 0;
  for (let p = 0; p < fromSurface.length; p++) if (fromSurface[p]) values[o++] = Math.sqrt(toDistanceSq[p]);
  return percentile95(values);
}

/** Compares two masks on the same grid. */
export function compareMasks(predicted: Volume<Uint8Array>, reference: Volume<Uint8Array>): MaskComparison {
  if (voxelCount(predicted) !== voxelCount(reference) || predicted.dims.some((d, a) => d !== reference.dims[a])) {
    throw new Error(`compareMasks: grids differ (${predicted.dims.join('×')} against ${reference.dims.join('×')}); resample first`);
  }
  const predictedMl = maskVolumeMl(predicted);
  const referenceMl = maskVolumeMl(reference);
  const d = dice(predicted.data, reference.data);
  const emptyP = predictedMl === 0;
  const emptyR = referenceMl === 0;
  let hd95Mm: number | null;
  if (emptyP && emptyR) hd95Mm = 0;
  else if (emptyP || emptyR) hd95Mm = null;
  else {
    const sp = surfaceVoxels(predicted);
    const sr = surfaceVoxels(reference);
    const toP = squaredDistanceMm(sp, predicted.dims, reference.spacing);
    const toR = squaredDistanceMm(sr, predicted.dims, reference.spacing);
    hd95Mm = Math.max(directedHd95(sp, toR), directedHd95(sr, toP));
  }
  return { dice: d, hd95Mm, predictedMl, referenceMl };
}

/**
 * Where two masks disagree, by distance from the reference's boundary: the predicted voxels outside the reference
 * within `nearMm` of it (a thin shell: a different convention for the same edge, such as the CSF between the
 * brain's surface and the inner table) and beyond it (a different structure taken in), and likewise the reference
 * voxels the prediction leaves out, near the reference's boundary and deep inside it. Volumes in mL.
 */
export interface MaskDisagreement {
  nearMm: number;
  extraNearMl: number;
  extraFarMl: number;
  missedNearMl: number;
  missedFarMl: number;
}

export function maskDisagreement(predicted: Volume<Uint8Array>, reference: Volume<Uint8Array>, nearMm = 3): MaskDisagreement {
  const n = voxelCount(reference);
  const outside = new Uint8Array(n);
  for (let v = 0; v < n; v++) outside[v] = reference.data[v] ? 0 : 1;
  const toReference = squaredDistanceMm(reference.data, reference.dims, reference.spacing);
  const toOutside = squaredDistanceMm(outside, reference.dims, reference.spacing);
  const near2 = nearMm * nearMm;
  const counts = { extraNear: 0, extraFar: 0, missedNear: 0, missedFar: 0 };
  for (let v = 0; v < n; v++) {
    const p = predicted.data[v] !== 0;
    const r = reference.data[v] !== 0;
    if (p && !r) toReference[v] <= near2 ? counts.extraNear++ : counts.extraFar++;
    else if (r && !p) toOutside[v] <= near2 ? counts.missedNear++ : counts.missedFar++;
  }
  const ml = (count: number) => (count * reference.spacing[0] * reference.spacing[1] * reference.spacing[2]) / 1000;
  return { nearMm, extraNearMl: ml(counts.extraNear), extraFarMl: ml(counts.extraFar), missedNearMl: ml(counts.missedNear), missedFarMl: ml(counts.missedFar) };
}
