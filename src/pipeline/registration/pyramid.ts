// Coarser copies of a volume for multi-resolution registration. Block averaging by whole voxels keeps the
// grid exactly aligned with the original (the new voxel centre is the centre of its block) and doubles as the
// anti-aliasing filter; axes already coarser than the target spacing (thick 2D slices) are left alone.
import { applyToPoint, indexToWorld } from '../space/geometry.js';
import type { Vec3, Volume } from '../space/volume.js';

/** Integer block size per axis so that spacing × factor comes close to `targetMm` without going far past it. */
export function blockFactors(spacing: Vec3, targetMm: number): Vec3 {
  return spacing.map((s) => Math.max(1, Math.round(targetMm / s))) as Vec3;
}

/** Averages f0×f1×f2 blocks; NaN and ±Inf count as 0 so a damaged voxel cannot poison a whole block. */
export function downsample(volume: Volume<Float32Array>, factors: Vec3): Volume<Float32Array> {
  const [f0, f1, f2] = factors;
  if (f0 === 1 && f1 === 1 && f2 === 1) return volume;
  const [nx, ny, nz] = volume.dims;
  const dims: Vec3 = [Math.max(1, Math.floor(nx / f0)), Math.max(1, Math.floor(ny / f1)), Math.max(1, Math.floor(nz / f2))];
  const bx = Math.min(f0, nx);
  const by = Math.min(f1, ny);
  const bz = Math.min(f2, nz);
  const out = new Float32Array(dims[0] * dims[1] * dims[2]);
  const src = volume.data;
  const nxy = nx * ny;
  for (let k = 0; k < dims[2]; k++) {
    for (let dk = 0; dk < bz; dk++) {
      const zk = (k * f2 + dk) * nxy;
      for (let j = 0; j < dims[1]; j++) {
        const row = (k * dims[1] + j) * dims[0];
        for (let dj = 0; dj < by; dj++) {
          const base = zk + (j * f1 + dj) * nx;
          for (let i = 0; i < dims[0]; i++) {
            let s = 0;
            const b = base + i * f0;
            for (let di = 0; di < bx; di++) {
              const v = src[b + di];
              if (Number.isFinite(v)) s += v;
            }
            out[row + i] += s;
          }
        }
      }
    }
  }
  const norm = 1 / (bx * by * bz);
  for (let v = 0; v < out.length; v++) out[v] *= norm;
  const origin = applyToPoint(indexToWorld(volume), [(bx - 1) / 2, (by - 1) / 2, (bz - 1) / 2]);
  const spacing: Vec3 = [volume.spacing[0] * bx, volume.spacing[1] * by, volume.spacing[2] * bz];
  return { dims, spacing, origin, direction: volume.direction.map((d) => [...d]) as [Vec3, Vec3, Vec3], data: out };
}

/**
 * Separable Gaussian blur with a standard deviation given in mm (converted per axis, so thick slices get less
 * smoothing across them). Edges replicate the border voxel. Axes where σ is under a third of a voxel are skipped.
 */
export function smooth(volume: Volume<Float32Array>, sigmaMm: number): Volume<Float32Array> {
  let src = volume.data;
  const [nx, ny] = volume.dims;
  const strides = [1, nx, nx * ny];
  for (let axis = 0; axis < 3; axis++) {
    const sigma = sigmaMm / volume.spacing[axis];
    const n = volume.dims[axis];
    if (sigma < 1 / 3 || n < 2) continue;
    const radius = Math.ceil(2.5 * sigma);
    const kernel = new Float32Array(2 * radius + 1);
    let total = 0;
    for (let q = -radius; q <= radius; q++) total += kernel[q + radius] = Math.exp((-q * q) / (2 * sigma * sigma));
    for (let q = 0; q < kernel.length; q++) kernel[q] /= total;
    const stride = strides[axis];
    const out = new Float32Array(src.length);
    for (let v = 0; v < src.length; v++) {
      const c = Math.floor(v / stride) % n;
      const base = v - c * stride;
      let s = 0;
      for (let q = -radius; q <= radius; q++) {
        const p = c + q < 0 ? 0 : c + q >= n ? n - 1 : c + q;
        s += kernel[q + radius] * src[base + p * stride];
      }
      out[v] = s;
    }
    src = out;
  }
  return src === volume.data ? volume : { ...volume, data: src };
}

/**
 * Divides out slowly varying shading (receive-coil sensitivity, which is strongest in decubitus and prone
 * positions where the head lies against one side of the coil): each voxel over the local mean within a Gaussian
 * of σ = `sigmaMm`. Where that local mean is under 15 % of its maximum (air around the head) the result is 0.
 * What is left is anatomy at the scale registration needs (tissue edges, skull, CSF spaces).
 */
export function flattenShading(volume: Volume<Float32Array>, sigmaMm: number): Volume<Float32Array> {
  if (!(sigmaMm > 0)) return volume;
  const local = smooth(volume, sigmaMm).data;
  let peak = 0;
  for (let v = 0; v < local.length; v++) if (local[v] > peak) peak = local[v];
  const floor = 0.15 * peak;
  const out = new Float32Array(local.length);
  for (let v = 0; v < out.length; v++) out[v] = local[v] > floor ? volume.data[v] / local[v] : 0;
  return { ...volume, data: out };
}
