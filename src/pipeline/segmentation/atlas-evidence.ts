// What the atlas says about a brain mask, for the review check: where this head's brain is expected (the atlas
// brain brought by the registration and fitted to the head's size along each atlas axis), and four measures of how
// the mask departs from it, each the kind of departure a failed mask shows:
// - excess: the largest connected piece of mask well outside the expected brain (orbits, sinus, neck taken in);
// - missing: the largest connected piece of the expected brain, well inside it, that the mask leaves out (the
//   vertex, the cerebellum, a lobe cut off);
// - asymmetry: the largest connected piece of the mask mirrored across the mid-sagittal plane that lies well outside
//   the mask (one temporal pole or one lobe cut off: brains are nearly symmetric, their failures often are not);
// - offset: how far the mask's centre lies to one side of the expected brain's (the whole mask shifted sideways).
// Everything is measured on the image's own field of view, at about 2 mm: a slab that holds part of the head expects
// only the part of the brain inside it, so a slab's edge is never taken for a cut.
// The size is fitted per axis because heads differ in shape, not only in size (a long head has its frontal pole
// where a round one of the same volume has skull), and the position front–back and up–down because the
// registration aligns the whole head, whose brain sits 6–8 mm higher or further forward in some heads than in the
// atlas (measured on the validation heads). The fit matches the quartiles of the mask along each axis, which a cut or an
// addition moves far less than it moves the mask's edge. Left–right the registration's midline is kept.
import { type Affine, applyToPoint, compose, indexToWorld, invert, maskCentroid } from '../space/geometry.js';
import { resampleMask } from '../space/resample.js';
import { type RigidTransform, translation } from '../space/transform.js';
import { type Grid, type Vec3, type Volume, voxelCount } from '../space/volume.js';
import type { Atlas } from './atlas.js';
import { reviewGrid, scaledAtlasMask } from './atlas-agreement.js';
import { squaredDistanceMm } from './mask-metrics.js';

export interface AtlasEvidence {
  /** Linear size of the expected brain against the atlas along its left–right, front–back and up–down axes. */
  atlasScale: Vec3;
  excessMl: number;
  missingMl: number;
  asymmetryMl: number;
  /** How far the mask's centre lies to the left or right of the expected brain's, mm. */
  offsetMm: number;
  /** How far the expected brain was moved to the mask's centre front–back and up–down (0 left–right), atlas mm. */
  atlasShiftMm: Vec3;
}

export interface AtlasEvidenceMargins {
  /** Depth beyond the expected brain's surface from which mask counts as excess, mm. */
  excessMm: number;
  /** Depth inside the expected brain's surface from which left-out brain counts as missing, mm. */
  missingMm: number;
  /** Distance outside the mask from which its mirror image counts as asymmetry, mm. */
  asymmetryMm: number;
}

/** Sizes fitted are kept between these (about 0.9 L and 2.6 L against Colin27's 1.93 L). */
const SCALE_RANGE = [0.8, 1.1];

/** Largest 26-connected piece of the marked voxels, in voxels. */
function largestPiece(marked: Uint8Array, dims: Vec3): number {
  const [nx, ny, nz] = dims;
  const nxy = nx * ny;
  const seen = new Uint8Array(marked.length);
  const queue = new Int32Array(marked.length);
  let best = 0;
  for (let seed = 0; seed < marked.length; seed++) {
    if (!marked[seed] || seen[seed]) continue;
    let head = 0;
    let tail = 0;
    queue[tail++] = seed;
    seen[seed] = 1;
    while (head < tail) {
      const v = queue[head++];
      const i = v % nx;
      const j = Math.floor(v / nx) % ny;
      const k = Math.floor(v / nxy);
      for (let dk = -1; dk <= 1; dk++) {
        const kk = k + dk;
        if (kk < 0 || kk >= nz) continue;
        for (let dj = -1; dj <= 1; dj++) {
          const jj = j + dj;
          if (jj < 0 || jj >= ny) continue;
          for (let di = -1; di <= 1; di++) {
            const ii = i + di;
            if (ii < 0 || ii >= nx) continue;
            const w = ii + nx * jj + nxy * kk;
            if (marked[w] && !seen[w]) {
              seen[w] = 1;
              queue[tail++] = w;
            }
          }
        }
      }
    }
    if (tail > best) best = tail;
  }
  return best;
}

/** Atlas coordinates histogrammed in 1 mm bins over this range (mm), wide enough for any head on any grid. */
const HISTOGRAM_MM = [-200, 200];

/**
 * Median and interquartile width along each atlas axis of the marked voxels of `grid` (`toAtlas`: index → atlas
 * mm). Quartiles rather than moments: a cap cut off the top or a piece added at the bottom moves them little.
 */
function spread(marked: Uint8Array, grid: Grid, toAtlas: Affine): { centre: Vec3; width: Vec3; n: number } {
  const [nx, ny] = grid.dims;
  const bins = HISTOGRAM_MM[1] - HISTOGRAM_MM[0];
  const histograms = [new Float64Array(bins), new Float64Array(bins), new Float64Array(bins)];
  let n = 0;
  for (let v = 0; v < marked.length; v++) {
    if (!marked[v]) continue;
    const p = applyToPoint(toAtlas, [v % nx, Math.floor(v / nx) % ny, Math.floor(v / (nx * ny))]);
    for (let a = 0; a < 3; a++) histograms[a][Math.min(bins - 1, Math.max(0, Math.floor(p[a] - HISTOGRAM_MM[0])))]++;
    n++;
  }
  const quantile = (h: Float64Array, q: number) => {
    let seen = 0;
    for (let b = 0; b < h.length; b++) {
      if (seen + h[b] >= q * n) return HISTOGRAM_MM[0] + b + (q * n - seen) / Math.max(1, h[b]);
      seen += h[b];
    }
    return HISTOGRAM_MM[1];
  };
  return {
    centre: histograms.map((h) => quantile(h, 0.5)) as Vec3,
    width: histograms.map((h) => quantile(h, 0.75) - quantile(h, 0.25)) as Vec3,
    n,
  };
}

/** Largest 26-connected piece of the marked voxels of `grid`, in mL. */
export function largestPieceMl(marked: Uint8Array, grid: Grid): number {
  return (largestPiece(marked, grid.dims) * grid.spacing[0] * grid.spacing[1] * grid.spacing[2]) / 1000;
}

/** The four measures for `mask` (on its image's grid) against the atlas brain, `transform` mapping the image to the atlas. */
export function atlasEvidence(mask: Volume<Uint8Array>, atlas: Atlas, transform: RigidTransform, startScale: number, margins: AtlasEvidenceMargins): AtlasEvidence {
  const grid = reviewGrid(mask);
  const own = resampleMask(mask, grid).data;
  const centre = maskCentroid(atlas.brainMask);
  const toAtlas = compose(indexToWorld(grid), transform.matrix);
  const ownSpread = spread(own, grid, toAtlas);
  // Fitted by matching spreads along each axis, and centres front–back and up–down: each round the expected brain
  // is cut by the same field of view as the mask. Left–right the registration's midline stands: heads are
  // symmetric enough for it, and a mask off the midline is a finding.
  let scale: Vec3 = [startScale, startScale, startScale];
  let shift: Vec3 = [0, 0, 0];
  let fitted = transform;
  let expected = scaledAtlasMask(atlas.brainMask, grid, fitted, centre, scale);
  for (let round = 0; round < 3 && ownSpread.n > 0; round++) {
    const fit = spread(expected, grid, toAtlas);
    if (fit.n === 0) break;
    scale = scale.map((s, a) => Math.min(SCALE_RANGE[1], Math.max(SCALE_RANGE[0], (s * ownSpread.width[a]) / Math.max(1e-6, fit.width[a])))) as Vec3;
    shift = [0, shift[1] + ownSpread.centre[1] - fit.centre[1], shift[2] + ownSpread.centre[2] - fit.centre[2]];
    fitted = { matrix: compose(transform.matrix, translation([-shift[0], -shift[1], -shift[2]])) };
    expected = scaledAtlasMask(atlas.brainMask, grid, fitted, centre, scale);
  }
  const n = voxelCount(grid);
  const outsideOwn = squaredDistanceMm(own, grid.dims, grid.spacing);
  const outsideExpected = squaredDistanceMm(expected, grid.dims, grid.spacing);
  const notExpected = new Uint8Array(n);
  for (let v = 0; v < n; v++) notExpected[v] = expected[v] ? 0 : 1;
  const insideExpected = squaredDistanceMm(notExpected, grid.dims, grid.spacing);
  // The mask mirrored across the atlas brain's mid-sagittal plane, on the same grid.
  const mirror: Affine = [-1, 0, 0, 2 * centre[0], 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  const mirrored = resampleMask(mask, grid, compose(transform.matrix, mirror, invert(transform.matrix))).data;
  const excess = new Uint8Array(n);
  const missing = new Uint8Array(n);
  const asymmetric = new Uint8Array(n);
  const [e2, m2, a2] = [margins.excessMm ** 2, margins.missingMm ** 2, margins.asymmetryMm ** 2];
  for (let v = 0; v < n; v++) {
    if (own[v]) {
      if (outsideExpected[v] > e2) excess[v] = 1;
    } else {
      if (insideExpected[v] > m2) missing[v] = 1;
      if (mirrored[v] && outsideOwn[v] > a2) asymmetric[v] = 1;
    }
  }
  const expectedSpread = spread(expected, grid, toAtlas);
  return {
    atlasScale: scale,
    atlasShiftMm: shift,
    excessMl: largestPieceMl(excess, grid),
    missingMl: largestPieceMl(missing, grid),
    asymmetryMl: largestPieceMl(asymmetric, grid),
    offsetMm: ownSpread.n && expectedSpread.n ? Math.abs(ownSpread.centre[0] - expectedSpread.centre[0]) : Number.POSITIVE_INFINITY,
  };
}
