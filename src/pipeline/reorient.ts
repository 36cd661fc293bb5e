// Reorients a volume to a canonical axis order by permuting and flipping index axes — voxel values are moved,
// never interpolated, and every voxel keeps its patient position. The axis arithmetic lives in geometry.ts.
import { canonicalAxisOrder, permuteGrid } from './geometry.js';
import { type Volume, type VoxelArray, linearIndex } from './volume.js';

/**
 * Three letters naming where index axes i, j, k point, as in nibabel's axis codes: 'RAS' = i towards the
 * patient's right, j anterior, k superior (the NIfTI/MNI convention); 'LPS' = DICOM's patient axes.
 */
export type AxisCodes = string;

const LETTERS: Record<string, [number, 1 | -1]> = { L: [0, 1], R: [0, -1], P: [1, 1], A: [1, -1], S: [2, 1], I: [2, -1] };

function parseCodes(codes: AxisCodes): [[number, 1 | -1], [number, 1 | -1], [number, 1 | -1]] {
  const axes = codes.toUpperCase().split('').map((c) => LETTERS[c]);
  if (axes.length !== 3 || axes.some((a) => !a) || new Set(axes.map((a) => a[0])).size !== 3) {
    throw new Error(`'${codes}' is not an axis code: three of L/R, P/A, S/I, one per world axis`);
  }
  return axes as [[number, 1 | -1], [number, 1 | -1], [number, 1 | -1]];
}

/** The volume with index axes closest to `codes` (default RAS); an oblique volume keeps its obliquity. */
export function reorient<T extends VoxelArray>(volume: Volume<T>, codes: AxisCodes = 'RAS'): Volume<T> {
  const { from, flip } = canonicalAxisOrder(volume, parseCodes(codes));
  const grid = permuteGrid(volume, from, flip);
  if (from[0] === 0 && from[1] === 1 && from[2] === 2 && !flip.some(Boolean)) return { ...grid, data: volume.data.slice() as T };
  const out = new (volume.data.constructor as new (n: number) => T)(volume.data.length);
  const [nx, ny, nz] = grid.dims;
  const old = [0, 0, 0];
  let o = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, o++) {
        const idx = [i, j, k];
        for (let a = 0; a < 3; a++) old[from[a]] = flip[a] ? grid.dims[a] - 1 - idx[a] : idx[a];
        out[o] = volume.data[linearIndex(volume.dims, old[0], old[1], old[2])];
      }
    }
  }
  return { ...grid, data: out };
}

/** The axis codes of a volume's current index axes (dominant world direction of each). */
export function axisCodes(volume: Pick<Volume, 'direction'>): string {
  return volume.direction
    .map((d) => {
      const w = [0, 1, 2].reduce((best, a) => (Math.abs(d[a]) > Math.abs(d[best]) ? a : best), 0);
      return ['LR', 'PA', 'SI'][w][d[w] >= 0 ? 0 : 1];
    })
    .join('');
}
