// A 3D image in patient space. Everything the pipeline computes travels as a Volume, so every step knows where
// its voxels are in the patient (LPS, millimetres) and can be mapped back to the source grid.

export type Vec3 = [number, number, number];

export type VoxelArray = Float32Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Float64Array;

/** Geometry of a voxel grid: index (i, j, k) → patient LPS mm = origin + Σ_a direction[a] · spacing[a] · index[a]. */
export interface Grid {
  /** Voxel counts along i (columns), j (rows), k (slices); i varies fastest in memory. */
  dims: Vec3;
  /** Millimetres between voxel centres along i, j, k. */
  spacing: Vec3;
  /** Patient LPS position of the centre of voxel (0, 0, 0). */
  origin: Vec3;
  /** direction[a] is the unit LPS vector along index axis a (a = 0: i, 1: j, 2: k). */
  direction: [Vec3, Vec3, Vec3];
}

export interface Volume<T extends VoxelArray = VoxelArray> extends Grid {
  data: T;
}

export function voxelCount(grid: Pick<Grid, 'dims'>): number {
  return grid.dims[0] * grid.dims[1] * grid.dims[2];
}

export function gridOf(volume: Grid): Grid {
  return {
    dims: [...volume.dims] as Vec3,
    spacing: [...volume.spacing] as Vec3,
    origin: [...volume.origin] as Vec3,
    direction: volume.direction.map((d) => [...d]) as [Vec3, Vec3, Vec3],
  };
}

export function withData<T extends VoxelArray>(grid: Grid, data: T): Volume<T> {
  if (data.length !== voxelCount(grid)) {
    throw new Error(`voxel data has ${data.length} values, grid ${grid.dims.join('×')} needs ${voxelCount(grid)}`);
  }
  return { ...gridOf(grid), data };
}

/** Where a probability (or an interpolated 0/1 mask) counts as inside: the one threshold of every mask step. */
export const MASK_THRESHOLD = 0.5;

/** 0/1 of each value against MASK_THRESHOLD (at or above is inside). */
export function binarise(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let v = 0; v < out.length; v++) out[v] = values[v] >= MASK_THRESHOLD ? 1 : 0;
  return out;
}

export function linearIndex(dims: Vec3, i: number, j: number, k: number): number {
  return i + dims[0] * (j + dims[1] * k);
}
