// Where the search starts. A head can lie in any orientation relative to the atlas (prone, decubitus, or a
// DICOM header that does not say what the scanner did), and a local optimiser only fixes what is a few tens
// of degrees off. So the centres of mass are matched first, and every plausible starting rotation is tried
// briefly: the 24 axis-aligned rotations (which include "already upright" and every 90°/180° turn) plus the
// four that align the principal axes of the two heads (each eigenvector's sign is ambiguous, so all proper
// sign choices). The candidates compete on the same cost at the coarsest level; the best continue.
import { type Affine, identity } from '../space/geometry.js';

/** Eigenvectors (columns of `vectors`, row-major 3×3) and eigenvalues of a symmetric 3×3 matrix, by Jacobi sweeps. */
export function symmetricEigen(matrix: number[]): { values: number[]; vectors: number[] } {
  const a = [...matrix];
  const v = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5];
    if (off < 1e-18 * (a[0] * a[0] + a[4] * a[4] + a[8] * a[8] + 1e-300)) break;
    for (const [p, q] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ]) {
      const apq = a[p * 3 + q];
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (a[q * 3 + q] - a[p * 3 + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < 3; k++) {
        const akp = a[k * 3 + p];
        const akq = a[k * 3 + q];
        a[k * 3 + p] = c * akp - s * akq;
        a[k * 3 + q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[p * 3 + k];
        const aqk = a[q * 3 + k];
        a[p * 3 + k] = c * apk - s * aqk;
        a[q * 3 + k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[k * 3 + p];
        const vkq = v[k * 3 + q];
        v[k * 3 + p] = c * vkp - s * vkq;
        v[k * 3 + q] = s * vkp + c * vkq;
      }
    }
  }
  // Sort by decreasing eigenvalue so that "longest axis" pairs with "longest axis".
  const order = [0, 1, 2].sort((x, y) => a[y * 4] - a[x * 4]);
  const values = order.map((o) => a[o * 4]);
  const vectors = new Array<number>(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) vectors[r * 3 + c] = v[r * 3 + order[c]];
  return { values, vectors };
}

function toAffine(r: number[]): Affine {
  return [r[0], r[1], r[2], 0, r[3], r[4], r[5], 0, r[6], r[7], r[8], 0, 0, 0, 0, 1];
}

function det3(r: number[]): number {
  return r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) + r[2] * (r[3] * r[7] - r[4] * r[6]);
}

/** The 24 proper rotations that map coordinate axes onto (signed) coordinate axes; identity first. */
export function axisAlignedRotations(): Affine[] {
  const out: Affine[] = [identity()];
  const perms = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];
  for (const perm of perms) {
    for (let signs = 0; signs < 8; signs++) {
      const r = new Array<number>(9).fill(0);
      for (let row = 0; row < 3; row++) r[row * 3 + perm[row]] = signs & (1 << row) ? -1 : 1;
      if (det3(r) < 0) continue;
      const isIdentity = r[0] === 1 && r[4] === 1 && r[8] === 1;
      if (!isIdentity) out.push(toAffine(r));
    }
  }
  return out;
}

/**
 * Rotations taking the atlas head's principal axes onto the input head's (R = E_in · S · E_atlasᵀ), one for
 * each sign choice S with det R = +1.
 */
export function principalAxisRotations(inputCovariance: number[], atlasCovariance: number[]): Affine[] {
  const input = symmetricEigen(inputCovariance).vectors;
  const atlas = symmetricEigen(atlasCovariance).vectors;
  const out: Affine[] = [];
  for (let signs = 0; signs < 8; signs++) {
    const s = [0, 1, 2].map((a) => (signs & (1 << a) ? -1 : 1));
    const r = new Array<number>(9).fill(0);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let sum = 0;
        for (let a = 0; a < 3; a++) sum += input[i * 3 + a] * s[a] * atlas[j * 3 + a];
        r[i * 3 + j] = sum;
      }
    }
    if (det3(r) > 0) out.push(toAffine(r));
  }
  return out;
}
