// Shared by the registration tests and benchmark: Colin27 (Debian mricron-data) moved by a known rigid
// transform, contrast changes standing in for T2/FLAIR, a synthetic lesion, and the landmark error.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Affine, applyToPoint, gridFromAffine, indexToWorld, multiply } from '../src/pipeline/space/geometry.js';
import { resample } from '../src/pipeline/space/resample.js';
import { type Atlas, loadAtlas } from '../src/pipeline/segmentation/atlas.js';
import { type RigidTransform, eulerRotation, rigidAboutCentre } from '../src/pipeline/space/transform.js';
import { type Grid, type Vec3, type Volume, withData } from '../src/pipeline/space/volume.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const colin27Path = '/usr/share/mricron/templates/ch2.nii.gz';
export const colin27BrainPath = '/usr/share/mricron/templates/ch2bet.nii.gz';
import { sharedData } from './shared-data.js';
import { toolsMissing } from './tools.js';

export { sharedData };
export const patientPositionsDir = path.join(sharedData, 'dicom/siemens-t1-patient-positions');

export const hasColin27 =
  toolsMissing('the registration tests on Colin27', colin27Path, colin27BrainPath) === undefined;

export type TestAtlas = Atlas;

/** The shipped atlas (models/atlas). */
export function loadTestAtlas(): Atlas {
  return loadAtlas();
}

/** Brain centre of Colin27 in LPS (roughly the anterior commissure region); rotations are applied about it. */
export const brainCentre: Vec3 = [0, 18, 18];

/** A rigid motion given as the clinician reads it: degrees about L, P, S and a shift in mm. */
export function motion(degrees: Vec3, shiftMm: Vec3): RigidTransform {
  const r = degrees.map((d) => (d * Math.PI) / 180) as Vec3;
  return rigidAboutCentre(eulerRotation(r[0], r[1], r[2]), brainCentre, shiftMm);
}

/**
 * Colin27 as a scanner would see the head if it had moved so that input position x shows the anatomy at atlas
 * position truth·x: the correct input → atlas transform is exactly `truth`.
 */
export function movedHead(head: Volume<Float32Array>, truth: RigidTransform, grid: Grid = head): Volume<Float32Array> {
  return resample(head, grid, { targetToSource: truth.matrix }) as Volume<Float32Array>;
}

/** Mean distance (mm) between where two input → atlas transforms send the atlas brain, over its voxels. */
export function meanLandmarkError(atlas: TestAtlas, estimate: RigidTransform, truth: RigidTransform, stride = 4): number {
  const toWorld = indexToWorld(atlas.brainMask);
  const [nx, ny, nz] = atlas.brainMask.dims;
  const e = estimate.matrix;
  const t = truth.matrix;
  let sum = 0;
  let n = 0;
  for (let k = 0; k < nz; k += stride) {
    for (let j = 0; j < ny; j += stride) {
      for (let i = 0; i < nx; i += stride) {
        if (!atlas.brainMask.data[i + nx * (j + ny * k)]) continue;
        // The same input point under both transforms: compare atlas positions of the input points that the
        // truth puts on the brain (equivalent to comparing inverse images up to the rigid isometry).
        const p = applyToPoint(toWorld, [i, j, k]);
        const a = applyToPoint(e, applyToPoint(invertRigid(t), p));
        sum += Math.hypot(a[0] - p[0], a[1] - p[1], a[2] - p[2]);
        n++;
      }
    }
  }
  return sum / n;
}

/**
 * The same voxels with the header moved by `motion`: where the original puts a voxel at patient position x, the
 * moved header puts it at motion·x. The same head, scanned in the same way, merely described differently.
 */
export function withHeaderMoved(volume: Volume<Float32Array>, motion: RigidTransform): Volume<Float32Array> {
  return withData(gridFromAffine(volume.dims, multiply(motion.matrix, indexToWorld(volume))), volume.data);
}

/**
 * How far apart (mm, mean over the atlas brain, a point every ~4 mm) the input positions that two registrations
 * of the same head give for the same atlas point: `original` registers the head as it was, `moved` the head
 * with its header moved by `motion` (withHeaderMoved), whose input positions are taken back by motion⁻¹.
 * 0 when the registration is exactly consistent.
 */
export function headerConsistencyError(atlas: TestAtlas, original: RigidTransform, moved: RigidTransform, motion: RigidTransform): number {
  const mask = atlas.brainMask;
  const stride = Math.max(1, Math.round(4 / Math.min(...mask.spacing)));
  const toWorld = indexToWorld(mask);
  const a = invertRigid(original.matrix);
  // atlas → moved input → original input
  const b = multiply(invertRigid(motion.matrix), invertRigid(moved.matrix));
  const [nx, ny, nz] = mask.dims;
  let sum = 0;
  let n = 0;
  for (let k = 0; k < nz; k += stride) {
    for (let j = 0; j < ny; j += stride) {
      for (let i = 0; i < nx; i += stride) {
        if (!mask.data[i + nx * (j + ny * k)]) continue;
        const p = applyToPoint(toWorld, [i, j, k]);
        const pa = applyToPoint(a, p);
        const pb = applyToPoint(b, p);
        sum += Math.hypot(pa[0] - pb[0], pa[1] - pb[1], pa[2] - pb[2]);
        n++;
      }
    }
  }
  return sum / n;
}

function invertRigid(m: Affine): Affine {
  // Rᵀ and −Rᵀt: exact for a rigid matrix, and keeps this helper independent of the code under test.
  const r = [m[0], m[4], m[8], m[1], m[5], m[9], m[2], m[6], m[10]];
  const t = [m[3], m[7], m[11]];
  return [
    r[0], r[1], r[2], -(r[0] * t[0] + r[1] * t[1] + r[2] * t[2]),
    r[3], r[4], r[5], -(r[3] * t[0] + r[4] * t[1] + r[5] * t[2]),
    r[6], r[7], r[8], -(r[6] * t[0] + r[7] * t[1] + r[8] * t[2]),
    0, 0, 0, 1,
  ];
}

/** T2-like: inside the head, bright becomes dark and dark bright (CSF bright, white matter dark); air stays dark. */
export function invertContrast(volume: Volume<Float32Array>): Volume<Float32Array> {
  let max = 0;
  for (const v of volume.data) if (v > max) max = v;
  const air = 0.08 * max;
  const data = volume.data.map((v) => (v > air ? 1.1 * max - v : v));
  return { ...volume, data };
}

/** FLAIR-like: a non-monotonic remapping (a bump in the middle of the range) plus a global scale. */
export function remapContrast(volume: Volume<Float32Array>): Volume<Float32Array> {
  let max = 0;
  for (const v of volume.data) if (v > max) max = v;
  const data = volume.data.map((v) => {
    const t = v / max;
    return 1000 * (t < 0.08 ? t : 0.3 + 0.7 * Math.sin(Math.PI * t) ** 2);
  });
  return { ...volume, data };
}

/** A bright round lesion with a darker rim (tumour with oedema), at an LPS centre, radius in mm. */
export function withLesion(volume: Volume<Float32Array>, centre: Vec3, radiusMm: number): Volume<Float32Array> {
  let max = 0;
  for (const v of volume.data) if (v > max) max = v;
  const data = Float32Array.from(volume.data);
  const toWorld = indexToWorld(volume);
  const [nx, ny, nz] = volume.dims;
  for (let k = 0, v = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, v++) {
        const p = applyToPoint(toWorld, [i, j, k]);
        const d = Math.hypot(p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]);
        if (d < 0.6 * radiusMm) data[v] = 1.2 * max;
        else if (d < radiusMm) data[v] = 0.15 * max;
      }
    }
  }
  return { ...volume, data };
}
