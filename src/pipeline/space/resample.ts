// Resampling: one volume sampled on another grid, through patient space (geometry.ts maps index ↔ patient). One
// interpolation kernel and one border rule (trilinearAt) for every sampler; nearest neighbour keeps labels labels;
// a mask is interpolated and thresholded, skipping the cells that lie wholly on one side of its surface.
import { type Affine, compose, identity, indexToWorld, worldToIndex } from './geometry.js';
import { type Grid, MASK_THRESHOLD, type Vec3, type Volume, type VoxelArray, binarise, gridOf, voxelCount } from './volume.js';

/**
 * Trilinear value of `volume` at the continuous index (x, y, z): the one interpolation kernel and the one border
 * rule of every sampler (resampling, registration). Values reach half a voxel beyond the outermost voxel centres
 * (the edge voxel's value there), so edges are not eaten by the interpolation; further out, `outside`.
 * `resample` runs the same arithmetic inlined in its loop (a call per voxel made it 1.8× slower); a test holds
 * the two to the same values.
 */
export function trilinearAt(volume: Volume, x: number, y: number, z: number, outside: number): number {
  const dims = volume.dims;
  const sx = dims[0];
  const sy = dims[1];
  const sz = dims[2];
  if (x < -0.5 || y < -0.5 || z < -0.5 || x > sx - 0.5 || y > sy - 0.5 || z > sz - 0.5) return outside;
  const xc = x < 0 ? 0 : x > sx - 1 ? sx - 1 : x;
  const yc = y < 0 ? 0 : y > sy - 1 ? sy - 1 : y;
  const zc = z < 0 ? 0 : z > sz - 1 ? sz - 1 : z;
  const x0 = Math.min(Math.floor(xc), sx - 2 < 0 ? 0 : sx - 2);
  const y0 = Math.min(Math.floor(yc), sy - 2 < 0 ? 0 : sy - 2);
  const z0 = Math.min(Math.floor(zc), sz - 2 < 0 ? 0 : sz - 2);
  const fx = sx > 1 ? xc - x0 : 0;
  const fy = sy > 1 ? yc - y0 : 0;
  const fz = sz > 1 ? zc - z0 : 0;
  const x1 = sx > 1 ? 1 : 0;
  const y1 = sy > 1 ? sx : 0;
  const z1 = sz > 1 ? sx * sy : 0;
  const src = volume.data;
  const b = x0 + sx * y0 + sx * sy * z0;
  const c00 = src[b] * (1 - fx) + src[b + x1] * fx;
  const c10 = src[b + y1] * (1 - fx) + src[b + y1 + x1] * fx;
  const c01 = src[b + z1] * (1 - fx) + src[b + z1 + x1] * fx;
  const c11 = src[b + z1 + y1] * (1 - fx) + src[b + z1 + y1 + x1] * fx;
  return (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz;
}

export type Interpolation = 'linear' | 'nearest';

/**
 * Samples `source` on `target`'s grid. `targetToSource` maps a patient position of the target grid to the
 * patient position in the source where its value is found (identity when both grids share a frame of
 * reference). Outside the source, `fill` is used. Linear interpolation returns Float32; nearest keeps the
 * source's voxel type so labels stay labels.
 */
export function resample<T extends VoxelArray>(
  source: Volume<T>,
  target: Grid,
  options: { targetToSource?: Affine; interpolation?: Interpolation; fill?: number } = {},
): Volume<T | Float32Array> {
  const interpolation = options.interpolation ?? 'linear';
  const fill = options.fill ?? 0;
  const m = compose(indexToWorld(target), options.targetToSource ?? identity(), worldToIndex(source));
  const [nx, ny, nz] = target.dims;
  const [sx, sy, sz] = source.dims;
  const sxy = sx * sy;
  const src = source.data;
  const n = voxelCount(target);
  const out: T | Float32Array =
    interpolation === 'nearest' ? (new (src.constructor as new (n: number) => T)(n) as T) : new Float32Array(n);
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      // Row start in source index space; stepping i adds the first column of m.
      let x = m[1] * j + m[2] * k + m[3];
      let y = m[5] * j + m[6] * k + m[7];
      let z = m[9] * j + m[10] * k + m[11];
      for (let i = 0; i < nx; i++, o++, x += m[0], y += m[4], z += m[8]) {
        if (interpolation === 'nearest') {
          const xi = Math.round(x);
          const yi = Math.round(y);
          const zi = Math.round(z);
          out[o] = xi < 0 || yi < 0 || zi < 0 || xi >= sx || yi >= sy || zi >= sz ? fill : src[xi + sx * yi + sxy * zi];
          continue;
        }
        // trilinearAt, inlined: half a voxel beyond the outermost centres, so edges are not eaten by the interpolation.
        if (x < -0.5 || y < -0.5 || z < -0.5 || x > sx - 0.5 || y > sy - 0.5 || z > sz - 0.5) {
          out[o] = fill;
          continue;
        }
        const xc = Math.min(Math.max(x, 0), sx - 1);
        const yc = Math.min(Math.max(y, 0), sy - 1);
        const zc = Math.min(Math.max(z, 0), sz - 1);
        const x0 = Math.min(Math.floor(xc), sx - 2 < 0 ? 0 : sx - 2);
        const y0 = Math.min(Math.floor(yc), sy - 2 < 0 ? 0 : sy - 2);
        const z0 = Math.min(Math.floor(zc), sz - 2 < 0 ? 0 : sz - 2);
        const fx = sx > 1 ? xc - x0 : 0;
        const fy = sy > 1 ? yc - y0 : 0;
        const fz = sz > 1 ? zc - z0 : 0;
        const x1 = sx > 1 ? 1 : 0;
        const y1 = sy > 1 ? sx : 0;
        const z1 = sz > 1 ? sxy : 0;
        const b = x0 + sx * y0 + sxy * z0;
        const c00 = src[b] * (1 - fx) + src[b + x1] * fx;
        const c10 = src[b + y1] * (1 - fx) + src[b + y1 + x1] * fx;
        const c01 = src[b + z1] * (1 - fx) + src[b + z1 + x1] * fx;
        const c11 = src[b + z1 + y1] * (1 - fx) + src[b + z1 + y1 + x1] * fx;
        out[o] = (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz;
      }
    }
  }
  return { dims: [...target.dims] as Vec3, spacing: [...target.spacing] as Vec3, origin: [...target.origin] as Vec3, direction: target.direction.map((d) => [...d]) as [Vec3, Vec3, Vec3], data: out };
}

/**
 * A binary mask (or a probability) resampled by interpolating it linearly and thresholding at MASK_THRESHOLD
 * (smoother than nearest).
 */
export function resampleMask(mask: Volume, target: Grid, targetToSource?: Affine): Volume<Uint8Array> {
  const [sx, sy, sz] = mask.dims;
  // Grids too thin for interpolation cells take the general path.
  if (sx < 2 || sy < 2 || sz < 2) {
    const p = resample(mask, target, { targetToSource, interpolation: 'linear', fill: 0 });
    return { ...p, data: binarise(p.data) };
  }
  const cells = cellSides(mask);
  const src = mask.data;
  const sxy = sx * sy;
  const m = compose(indexToWorld(target), targetToSource ?? identity(), worldToIndex(mask));
  const [nx, ny, nz] = target.dims;
  const out = new Uint8Array(voxelCount(target));
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      let x = m[1] * j + m[2] * k + m[3];
      let y = m[5] * j + m[6] * k + m[7];
      let z = m[9] * j + m[10] * k + m[11];
      for (let i = 0; i < nx; i++, o++, x += m[0], y += m[4], z += m[8]) {
        // The border rule of trilinearAt; outside, 0.
        if (x < -0.5 || y < -0.5 || z < -0.5 || x > sx - 0.5 || y > sy - 0.5 || z > sz - 0.5) continue;
        const xc = x < 0 ? 0 : x > sx - 1 ? sx - 1 : x;
        const yc = y < 0 ? 0 : y > sy - 1 ? sy - 1 : y;
        const zc = z < 0 ? 0 : z > sz - 1 ? sz - 1 : z;
        const x0 = Math.min(Math.floor(xc), sx - 2);
        const y0 = Math.min(Math.floor(yc), sy - 2);
        const z0 = Math.min(Math.floor(zc), sz - 2);
        const b = x0 + sx * y0 + sxy * z0;
        const side = cells[b];
        if (side !== MIXED_CELL) {
          out[o] = side;
          continue;
        }
        const fx = xc - x0;
        const fy = yc - y0;
        const fz = zc - z0;
        const c00 = src[b] * (1 - fx) + src[b + 1] * fx;
        const c10 = src[b + sx] * (1 - fx) + src[b + sx + 1] * fx;
        const c01 = src[b + sxy] * (1 - fx) + src[b + sxy + 1] * fx;
        const c11 = src[b + sxy + sx] * (1 - fx) + src[b + sxy + sx + 1] * fx;
        // Rounded as resample's Float32 output is, so both paths threshold the same number.
        out[o] = Math.fround((c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz) >= MASK_THRESHOLD ? 1 : 0;
      }
    }
  }
  return { ...gridOf(target), data: out };
}

const MIXED_CELL = 2;
/** Values this close to the threshold are interpolated even in a uniform cell, so rounding cannot flip a voxel. */
const SIDE_MARGIN = 1e-6;

/**
 * For each interpolation cell (the 8 voxels from (i, j, k) to (i+1, j+1, k+1), indexed by its first voxel): 0 when
 * every corner is below the mask threshold, 1 when every corner is at or above it, MIXED_CELL otherwise. Inside a
 * uniform cell the interpolated value is on the same side, so resampleMask skips the arithmetic there: most of a
 * head's grid lies far from the mask's surface.
 */
function cellSides(mask: Volume): Uint8Array {
  // The atlas mask is resampled again and again (once per head size tried): its cells are classified once.
  const known = cellSidesCache.get(mask.data);
  if (known && known.length === mask.data.length) return known;
  const [sx, sy, sz] = mask.dims;
  const sxy = sx * sy;
  const src = mask.data;
  const low = MASK_THRESHOLD - SIDE_MARGIN;
  const high = MASK_THRESHOLD + SIDE_MARGIN;
  // Per voxel first: 0 below, 1 at or above, MIXED_CELL near the threshold. Then, in place and in index order,
  // each cell from its 8 corners: a cell reads only voxels at its own index or later, not yet overwritten. One
  // array of the source's size, not two: the source may be a large mask on a patient's grid.
  const cells = new Uint8Array(src.length);
  for (let v = 0; v < src.length; v++) cells[v] = src[v] < low ? 0 : src[v] >= high ? 1 : MIXED_CELL;
  for (let k = 0; k < sz - 1; k++) {
    for (let j = 0; j < sy - 1; j++) {
      let b = sx * j + sxy * k;
      for (let i = 0; i < sx - 1; i++, b++) {
        const s = cells[b];
        if (s === MIXED_CELL) continue;
        if (
          cells[b + 1] !== s ||
          cells[b + sx] !== s ||
          cells[b + sx + 1] !== s ||
          cells[b + sxy] !== s ||
          cells[b + sxy + 1] !== s ||
          cells[b + sxy + sx] !== s ||
          cells[b + sxy + sx + 1] !== s
        )
          cells[b] = MIXED_CELL;
      }
    }
  }
  cellSidesCache.set(mask.data, cells);
  return cells;
}
const cellSidesCache = new WeakMap<VoxelArray, Uint8Array>();
