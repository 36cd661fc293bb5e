// A second opinion on a brain mask from the network itself: it reads the image again mirrored left–right — the same
// head presented in a way it has not seen it — and its reading, mirrored back, is compared with the mask. Where
// the network is sure of a head the two agree to a voxel or two along the surface; a thick piece where they part
// is either brain the mask leaves out (a vertex or a temporal pole cut off, the mask shifted) or mask where the
// network sees no brain (orbits, sinus, neck taken in). On a mask the network made itself, a piece appears only
// where the network is unsure: its two readings then disagree. On a mask made elsewhere (`brainstrip review`), it
// appears wherever that mask departs from what the network sees. Only voxels the network is sure of count, so the
// soft band along the surface, where any two readings differ by a voxel, never does. Measured like the atlas's
// evidence: the largest connected piece, in mL, on the review grid within the field of view.
import { resample, resampleMask } from '../space/resample.js';
import type { RigidTransform } from '../space/transform.js';
import { type Grid, type Vec3, type Volume, gridOf, withData } from '../space/volume.js';
import { reviewGrid } from './atlas-agreement.js';
import { largestPieceMl } from './atlas-evidence.js';
import { cleanMask } from './postprocess.js';

/** The model grid's axis that runs left–right in patient space (the model grid is axis-aligned with the atlas). */
export function leftRightAxis(grid: Grid): number {
  let best = 0;
  for (let a = 1; a < 3; a++) if (Math.abs(grid.direction[a][0]) > Math.abs(grid.direction[best][0])) best = a;
  return best;
}

/** `data` on a grid of `dims` reversed along `axis`: the image mirrored across the grid's middle plane, a copy. */
export function mirrorAlong(data: Float32Array, dims: Vec3, axis: number): Float32Array {
  const [nx, ny, nz] = dims;
  const out = new Float32Array(data.length);
  for (let k = 0, v = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, v++) {
        const w = axis === 0 ? nx - 1 - i + nx * (j + ny * k) : axis === 1 ? i + nx * (ny - 1 - j + ny * k) : i + nx * (j + ny * (nz - 1 - k));
        out[w] = data[v];
      }
  return out;
}

/** The network's reading of `input` (on the model `grid`) mirrored left–right, mirrored back: P(brain) on the grid. */
export async function mirroredReading(input: Float32Array, grid: Grid, predict: (input: Float32Array, dims: Vec3) => Promise<Float32Array>): Promise<Volume<Float32Array>> {
  const axis = leftRightAxis(grid);
  return withData(gridOf(grid), mirrorAlong(await predict(mirrorAlong(input, grid.dims, axis), grid.dims), grid.dims, axis));
}

export interface ReadingEvidence {
  /** Largest connected piece of brain the network is sure of in its mirrored reading that the mask leaves out, mL. */
  readingLeftOutMl: number;
  /** Largest connected piece of the mask where the network's mirrored reading is sure there is no brain, mL. */
  beyondReadingMl: number;
}

/**
 * How far `mask` (0/1 on the image's grid) and the network's mirrored `reading` (P(brain) on the model grid in
 * atlas space; `transform` maps the image to the atlas) part where the network is sure: P above `sureness` left
 * out, or P below 1 − `sureness` inside the mask. Inside the reading's own outline (its holes filled) a mask is never
 * counted as beyond it: a ventricle or a resection cavity the network calls "not brain" belongs in the mask.
 */
export function readingDisagreement(mask: Volume<Uint8Array>, reading: Volume<Float32Array>, transform: RigidTransform, sureness: number): ReadingEvidence {
  const grid = reviewGrid(mask);
  const own = resampleMask(mask, grid).data;
  // Outside the model grid the network saw nothing: no brain.
  const p = resample(reading, grid, { targetToSource: transform.matrix, interpolation: 'linear', fill: 0 }).data;
  const outline = new Uint8Array(own.length);
  for (let v = 0; v < own.length; v++) outline[v] = p[v] >= 0.5 ? 1 : 0;
  const readingMask = cleanMask(withData(grid, outline)).data;
  const leftOut = new Uint8Array(own.length);
  const beyond = new Uint8Array(own.length);
  for (let v = 0; v < own.length; v++) {
    if (!own[v] && p[v] > sureness) leftOut[v] = 1;
    else if (own[v] && !readingMask[v] && p[v] < 1 - sureness) beyond[v] = 1;
  }
  return { readingLeftOutMl: largestPieceMl(leftOut, grid), beyondReadingMl: largestPieceMl(beyond, grid) };
}
