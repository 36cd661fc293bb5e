// A rigid transform between two patient spaces (LPS, millimetres). Registration produces one (input → atlas);
// the pipeline composes, inverts and stores it, and hands its matrix to geometry.resample to move images and
// masks between the input's grid and the atlas grid. All matrix arithmetic goes through geometry.ts.
import { type Affine, compose, identity, invert, multiply } from './geometry.js';
import type { Vec3 } from './volume.js';

export interface RigidTransform {
  /** 4×4 row-major, maps a patient LPS position (mm) of the input to the atlas LPS position (mm). */
  matrix: Affine;
}

export interface RigidTransformJson {
  /** Row-major 4×4; column vectors; LPS millimetres. */
  matrix: number[];
  from: 'input-lps-mm';
  to: 'atlas-lps-mm';
  /** Present when written by registration: how it was found, for the record. */
  [key: string]: unknown;
}

export function identityTransform(): RigidTransform {
  return { matrix: identity() };
}

export function invertTransform(t: RigidTransform): RigidTransform {
  return { matrix: invert(t.matrix) };
}

/** Composition in application order: composeTransforms(a, b) applies a first, then b. */
export function composeTransforms(...transforms: RigidTransform[]): RigidTransform {
  return { matrix: compose(...transforms.map((t) => t.matrix)) };
}

/** Rotation about the LPS axes by Euler angles in radians, applied x first, then y, then z (R = Rz·Ry·Rx). */
export function eulerRotation(rx: number, ry: number, rz: number): Affine {
  const [cx, sx, cy, sy, cz, sz] = [Math.cos(rx), Math.sin(rx), Math.cos(ry), Math.sin(ry), Math.cos(rz), Math.sin(rz)];
  const x: Affine = [1, 0, 0, 0, 0, cx, -sx, 0, 0, sx, cx, 0, 0, 0, 0, 1];
  const y: Affine = [cy, 0, sy, 0, 0, 1, 0, 0, -sy, 0, cy, 0, 0, 0, 0, 1];
  const z: Affine = [cz, -sz, 0, 0, sz, cz, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  return compose(x, y, z);
}

export function translation(t: Vec3): Affine {
  return [1, 0, 0, t[0], 0, 1, 0, t[1], 0, 0, 1, t[2], 0, 0, 0, 1];
}

/** x ↦ rotation·(x − centre) + centre + shift: a rigid motion described the way people think about a head. */
export function rigidAboutCentre(rotation: Affine, centre: Vec3, shift: Vec3 = [0, 0, 0]): RigidTransform {
  const back: Vec3 = [centre[0] + shift[0], centre[1] + shift[1], centre[2] + shift[2]];
  return { matrix: multiply(translation(back), multiply(rotation, translation([-centre[0], -centre[1], -centre[2]]))) };
}

/** Largest deviation of the 3×3 part from a proper rotation (RᵀR = I, det = +1); 0 for a rigid transform. */
export function rigidityError(t: RigidTransform): number {
  const m = t.matrix;
  let worst = 0;
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      let dot = 0;
      for (let r = 0; r < 3; r++) dot += m[r * 4 + a] * m[r * 4 + b];
      worst = Math.max(worst, Math.abs(dot - (a === b ? 1 : 0)));
    }
  }
  const det =
    m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) + m[2] * (m[4] * m[9] - m[5] * m[8]);
  return Math.max(worst, Math.abs(det - 1));
}

export function toJson(t: RigidTransform, extra: Record<string, unknown> = {}): RigidTransformJson {
  return { ...extra, from: 'input-lps-mm', to: 'atlas-lps-mm', matrix: [...t.matrix] };
}

/** Accepts what toJson writes (or a bare 16-number array); refuses anything that is not a rigid 4×4. */
export function fromJson(json: unknown): RigidTransform {
  const matrix = Array.isArray(json) ? json : (json as { matrix?: unknown } | null)?.matrix;
  if (!Array.isArray(matrix) || matrix.length !== 16 || !matrix.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new Error('transform JSON must hold "matrix": 16 finite numbers (4×4 row-major)');
  }
  const last = matrix.slice(12);
  if (Math.abs(last[0]) > 1e-9 || Math.abs(last[1]) > 1e-9 || Math.abs(last[2]) > 1e-9 || Math.abs(last[3] - 1) > 1e-9) {
    throw new Error('transform JSON: the last row of the matrix must be 0 0 0 1');
  }
  const t = { matrix: [...matrix] as number[] };
  const error = rigidityError(t);
  if (error > 1e-4) throw new Error(`transform JSON is not rigid (deviation ${error.toExponential(2)})`);
  return t;
}
