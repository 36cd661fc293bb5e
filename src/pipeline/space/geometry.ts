// The one place where index ↔ patient-space arithmetic happens. Resamplers, reorientation, registration and
// NIfTI/DICOM geometry all go through these functions; no other module multiplies direction cosines by hand.
import type { Grid, Vec3, Volume } from './volume.js';

/** 4×4 homogeneous matrix, row-major, acting on column vectors (x' = A·x). */
export type Affine = number[];

export function identity(): Affine {
  return [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
}

export function multiply(a: Affine, b: Affine): Affine {
  const out = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r * 4 + k] * b[k * 4 + c];
      out[r * 4 + c] = s;
    }
  }
  return out;
}

/** Composition in application order: compose(f, g) applies f first, then g. */
export function compose(...transforms: Affine[]): Affine {
  return transforms.reduce((acc, t) => multiply(t, acc), identity());
}

export function invert(m: Affine): Affine {
  // General 4×4 inverse by cofactors; the matrices here are small and well conditioned.
  const inv = new Array<number>(16);
  inv[0] = m[5] * m[10] * m[15] - m[5] * m[11] * m[14] - m[9] * m[6] * m[15] + m[9] * m[7] * m[14] + m[13] * m[6] * m[11] - m[13] * m[7] * m[10];
  inv[4] = -m[4] * m[10] * m[15] + m[4] * m[11] * m[14] + m[8] * m[6] * m[15] - m[8] * m[7] * m[14] - m[12] * m[6] * m[11] + m[12] * m[7] * m[10];
  inv[8] = m[4] * m[9] * m[15] - m[4] * m[11] * m[13] - m[8] * m[5] * m[15] + m[8] * m[7] * m[13] + m[12] * m[5] * m[11] - m[12] * m[7] * m[9];
  inv[12] = -m[4] * m[9] * m[14] + m[4] * m[10] * m[13] + m[8] * m[5] * m[14] - m[8] * m[6] * m[13] - m[12] * m[5] * m[10] + m[12] * m[6] * m[9];
  inv[1] = -m[1] * m[10] * m[15] + m[1] * m[11] * m[14] + m[9] * m[2] * m[15] - m[9] * m[3] * m[14] - m[13] * m[2] * m[11] + m[13] * m[3] * m[10];
  inv[5] = m[0] * m[10] * m[15] - m[0] * m[11] * m[14] - m[8] * m[2] * m[15] + m[8] * m[3] * m[14] + m[12] * m[2] * m[11] - m[12] * m[3] * m[10];
  inv[9] = -m[0] * m[9] * m[15] + m[0] * m[11] * m[13] + m[8] * m[1] * m[15] - m[8] * m[3] * m[13] - m[12] * m[1] * m[11] + m[12] * m[3] * m[9];
  inv[13] = m[0] * m[9] * m[14] - m[0] * m[10] * m[13] - m[8] * m[1] * m[14] + m[8] * m[2] * m[13] + m[12] * m[1] * m[10] - m[12] * m[2] * m[9];
  inv[2] = m[1] * m[6] * m[15] - m[1] * m[7] * m[14] - m[5] * m[2] * m[15] + m[5] * m[3] * m[14] + m[13] * m[2] * m[7] - m[13] * m[3] * m[6];
  inv[6] = -m[0] * m[6] * m[15] + m[0] * m[7] * m[14] + m[4] * m[2] * m[15] - m[4] * m[3] * m[14] - m[12] * m[2] * m[7] + m[12] * m[3] * m[6];
  inv[10] = m[0] * m[5] * m[15] - m[0] * m[7] * m[13] - m[4] * m[1] * m[15] + m[4] * m[3] * m[13] + m[12] * m[1] * m[7] - m[12] * m[3] * m[5];
  inv[14] = -m[0] * m[5] * m[14] + m[0] * m[6] * m[13] + m[4] * m[1] * m[14] - m[4] * m[2] * m[13] - m[12] * m[1] * m[6] + m[12] * m[2] * m[5];
  inv[3] = -m[1] * m[6] * m[11] + m[1] * m[7] * m[10] + m[5] * m[2] * m[11] - m[5] * m[3] * m[10] - m[9] * m[2] * m[7] + m[9] * m[3] * m[6];
  inv[7] = m[0] * m[6] * m[11] - m[0] * m[7] * m[10] - m[4] * m[2] * m[11] + m[4] * m[3] * m[10] + m[8] * m[2] * m[7] - m[8] * m[3] * m[6];
  inv[11] = -m[0] * m[5] * m[11] + m[0] * m[7] * m[9] + m[4] * m[1] * m[11] - m[4] * m[3] * m[9] - m[8] * m[1] * m[7] + m[8] * m[3] * m[5];
  inv[15] = m[0] * m[5] * m[10] - m[0] * m[6] * m[9] - m[4] * m[1] * m[10] + m[4] * m[2] * m[9] + m[8] * m[1] * m[6] - m[8] * m[2] * m[5];
  const det = m[0] * inv[0] + m[1] * inv[4] + m[2] * inv[8] + m[3] * inv[12];
  if (Math.abs(det) < 1e-12) throw new Error('transform is singular and cannot be inverted');
  return inv.map((v) => v / det);
}

export function applyToPoint(m: Affine, p: Vec3): Vec3 {
  return [
    m[0] * p[0] + m[1] * p[1] + m[2] * p[2] + m[3],
    m[4] * p[0] + m[5] * p[1] + m[6] * p[2] + m[7],
    m[8] * p[0] + m[9] * p[1] + m[10] * p[2] + m[11],
  ];
}

/** Voxel index (i, j, k) → patient LPS mm. */
export function indexToWorld(grid: Grid): Affine {
  const { direction: d, spacing: s, origin: o } = grid;
  return [
    d[0][0] * s[0], d[1][0] * s[1], d[2][0] * s[2], o[0],
    d[0][1] * s[0], d[1][1] * s[1], d[2][1] * s[2], o[1],
    d[0][2] * s[0], d[1][2] * s[1], d[2][2] * s[2], o[2],
    0, 0, 0, 1,
  ];
}

export function worldToIndex(grid: Grid): Affine {
  return invert(indexToWorld(grid));
}

/** The grid whose index → world mapping is `affine` (columns give direction × spacing). */
export function gridFromAffine(dims: Vec3, affine: Affine): Grid {
  const spacing: Vec3 = [0, 0, 0];
  const direction: [Vec3, Vec3, Vec3] = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let a = 0; a < 3; a++) {
    const col: Vec3 = [affine[a], affine[4 + a], affine[8 + a]];
    const norm = Math.hypot(col[0], col[1], col[2]);
    if (norm === 0) throw new Error(`axis ${a} of the affine has zero length`);
    spacing[a] = norm;
    direction[a] = [col[0] / norm, col[1] / norm, col[2] / norm];
  }
  return { dims: [...dims] as Vec3, spacing, origin: [affine[3], affine[7], affine[11]], direction };
}

/** Patient positions of the 8 corner voxel centres, in index order (i fastest). */
export function cornerPoints(grid: Grid): Vec3[] {
  const m = indexToWorld(grid);
  const out: Vec3[] = [];
  for (const k of [0, grid.dims[2] - 1]) for (const j of [0, grid.dims[1] - 1]) for (const i of [0, grid.dims[0] - 1]) out.push(applyToPoint(m, [i, j, k]));
  return out;
}

/**
 * Centre of mass of a 0/1 mask, in patient LPS mm. An empty mask has none: `whenEmpty` is returned if given,
 * otherwise it is an error.
 */
export function maskCentroid(mask: Volume<Uint8Array>, whenEmpty?: Vec3): Vec3 {
  const [nx, ny] = mask.dims;
  let n = 0;
  const sum = [0, 0, 0];
  for (let v = 0; v < mask.data.length; v++) {
    if (!mask.data[v]) continue;
    sum[0] += v % nx;
    sum[1] += Math.floor(v / nx) % ny;
    sum[2] += Math.floor(v / (nx * ny));
    n++;
  }
  if (n === 0) {
    if (whenEmpty) return whenEmpty;
    throw new Error('maskCentroid: the mask is empty');
  }
  return applyToPoint(indexToWorld(mask), [sum[0] / n, sum[1] / n, sum[2] / n]);
}

/** The patient position of the middle of a grid (LPS mm). */
export function gridCentre(grid: Grid): Vec3 {
  return applyToPoint(indexToWorld(grid), [(grid.dims[0] - 1) / 2, (grid.dims[1] - 1) / 2, (grid.dims[2] - 1) / 2]);
}

// ---- DICOM slice stacks (issue 3): the arithmetic that turns Image Plane attributes into a Grid. ----

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

/** Unit normal of a DICOM image plane: row direction × column direction (ImageOrientationPatient). */
export function sliceNormal(imageOrientationPatient: readonly number[]): Vec3 {
  const o = imageOrientationPatient;
  const n = cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
  const len = Math.hypot(n[0], n[1], n[2]);
  return [n[0] / len, n[1] / len, n[2] / len];
}

/** Distance of a slice's ImagePositionPatient from the origin along the slice normal (sorting key). */
export function positionAlongNormal(normal: Vec3, imagePositionPatient: Vec3): number {
  return dot(normal, imagePositionPatient);
}

/** How far `position` lies off the line through `origin` along `normal` (mm): non-zero for sheared stacks. */
export function offAxisDistance(normal: Vec3, origin: Vec3, position: Vec3): number {
  const d: Vec3 = [position[0] - origin[0], position[1] - origin[1], position[2] - origin[2]];
  const along = dot(d, normal);
  return Math.hypot(d[0] - along * normal[0], d[1] - along * normal[1], d[2] - along * normal[2]);
}

/**
 * The grid of a sorted DICOM slice stack: i = column index (along the row direction cosines), j = row index,
 * k = slice order from `firstPosition` to `lastPosition`. The k axis goes through the first and last slice
 * positions, so corner voxels land exactly on the DICOM positions (as dcm2niix places them).
 */
export function gridFromSlices(stack: {
  rows: number;
  columns: number;
  slices: number;
  imageOrientationPatient: readonly number[];
  pixelSpacing: readonly [number, number];
  firstPosition: Vec3;
  lastPosition: Vec3;
}): Grid {
  const o = stack.imageOrientationPatient;
  const normal = sliceNormal(o);
  let k: Vec3 = normal;
  let sliceSpacing = 1;
  if (stack.slices > 1) {
    const span: Vec3 = [stack.lastPosition[0] - stack.firstPosition[0], stack.lastPosition[1] - stack.firstPosition[1], stack.lastPosition[2] - stack.firstPosition[2]];
    const length = Math.hypot(span[0], span[1], span[2]);
    k = [span[0] / length, span[1] / length, span[2] / length];
    sliceSpacing = length / (stack.slices - 1);
  }
  return {
    dims: [stack.columns, stack.rows, stack.slices],
    spacing: [stack.pixelSpacing[1], stack.pixelSpacing[0], sliceSpacing],
    origin: [...stack.firstPosition] as Vec3,
    direction: [[o[0], o[1], o[2]], [o[3], o[4], o[5]], k],
  };
}

/** `p` moved `distance` mm along the unit vector `direction`. */
export function pointAlong(p: Vec3, direction: Vec3, distance: number): Vec3 {
  return [p[0] + direction[0] * distance, p[1] + direction[1] * distance, p[2] + direction[2] * distance];
}

/**
 * Patient position of the first voxel of a Siemens mosaic's slices. The mosaic's ImagePositionPatient is that
 * of the whole tiled image's first voxel; each tile is centred on it, so the tile origin lies half the
 * difference between mosaic and tile size further along the rows and columns (as nibabel and dcm2niix compute).
 */
export function mosaicTileOrigin(
  imagePositionPatient: Vec3,
  imageOrientationPatient: readonly number[],
  pixelSpacing: readonly [number, number],
  mosaic: { rows: number; columns: number; tileRows: number; tileColumns: number },
): Vec3 {
  const o = imageOrientationPatient;
  const down = ((mosaic.rows - mosaic.tileRows) / 2) * pixelSpacing[0];
  const right = ((mosaic.columns - mosaic.tileColumns) / 2) * pixelSpacing[1];
  return pointAlong(pointAlong(imagePositionPatient, [o[0], o[1], o[2]], right), [o[3], o[4], o[5]], down);
}
