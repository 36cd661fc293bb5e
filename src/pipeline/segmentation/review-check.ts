// Whether a person should look at a mask before trusting it. First, whether the image is a head at all
// (head-evidence.ts), where the image and the network's probabilities are at hand:
// - structure: anatomy is smooth from voxel to voxel, noise and uniform volumes are not;
// - uncertainty: on a head the network is sure of nearly every voxel, on anything else it is not.
// Then two pieces of evidence about the mask, both measured against the atlas brain brought by the registration
// and scaled to the head's size (atlas-agreement.ts):
// - shape: overall agreement — catches a mask in the wrong place or of the wrong shape altogether;
// - excess: one connected piece of mask well outside where any brain can be (orbits, sinuses, neck).
// The piece is measured in millilitres on the patient's grid, so the same limit holds for 1 mm 3D and 5 mm 2D
// series; the margin allows for the shape of one head against another. The mirror check — expected brain left
// out — was measured and dropped: correct expert masks of slabs left out up to 57 mL deep inside the atlas
// brain, as much as a missing frontal lobe.
import { type Atlas } from './atlas.js';
import { atlasAgreement, coarserGrid, scaledAtlasMask } from './atlas-agreement.js';
import { maskCentroid } from '../space/geometry.js';
import { resampleMask } from '../space/resample.js';
import { squaredDistanceMm } from './mask-metrics.js';
import type { RigidTransform } from '../space/transform.js';
import { type Volume } from '../space/volume.js';
import { imageStructure, uncertainPerBrainVoxel } from './head-evidence.js';

export interface ReviewLimits {
  /** In-plane neighbour correlation of the image below which it is not an image of anatomy (heads: 0.92–0.99). */
  minImageStructure: number;
  /** Uncertain voxels per brain voxel above which the network did not see a head (heads 0.13–0.22; a knee, a spine, smooth noise 1.0–2.5). */
  maxUncertainPerBrainVoxel: number;
  /** Atlas agreement (Dice, size-aware) below which the mask is flagged. */
  minAtlasDice: number;
  /** Distance outside the size-matched atlas brain beyond which mask is suspicious, mm. */
  excessMarginMm: number;
  /** Largest connected piece of mask beyond that margin allowed, mL. */
  maxExcessMl: number;
}

export const DEFAULT_REVIEW_LIMITS: ReviewLimits = {
  minImageStructure: 0.5,
  maxUncertainPerBrainVoxel: 0.5,
  minAtlasDice: 0.83,
  excessMarginMm: 10,
  maxExcessMl: 2,
};

export interface ReviewEvidence {
  /** In-plane neighbour correlation of the image (absent when the image was not given). */
  imageStructure?: number;
  /** The network's uncertain voxels per brain voxel (absent when its probabilities were not given). */
  uncertainPerBrainVoxel?: number;
  atlasDice: number;
  atlasScale: number;
  /** Largest connected piece of the mask beyond the margin around the size-matched atlas brain, mL. */
  excessMl: number;
}

export interface ReviewResult {
  flagged: boolean;
  /** The image itself does not look like a head (a reason says why); its mask is no brain whatever its shape. */
  notAHead: boolean;
  /** In words, for the person who reviews it; empty when not flagged. */
  reasons: string[];
  evidence: ReviewEvidence;
}

/** Sizes of 26-connected components of the marked voxels; returns the largest size in voxels. */
function largestComponent26(marked: Uint8Array, dims: [number, number, number]): number {
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

/** Largest connected piece (mL) of `mask` further than `marginMm` outside the atlas brain scaled to this head. */
export function excessBeyondAtlasMl(mask: Volume<Uint8Array>, atlas: Atlas, transform: RigidTransform, scale: number, marginMm: number): number {
  const grid = coarserGrid(mask, 2);
  const own = resampleMask(mask, grid).data;
  const expected = scaledAtlasMask(atlas.brainMask, grid, transform, maskCentroid(atlas.brainMask), scale);
  const toBrain = squaredDistanceMm(expected, grid.dims, grid.spacing);
  const excess = new Uint8Array(own.length);
  const m2 = marginMm * marginMm;
  for (let v = 0; v < own.length; v++) excess[v] = own[v] && toBrain[v] > m2 ? 1 : 0;
  return (largestComponent26(excess, grid.dims) * grid.spacing[0] * grid.spacing[1] * grid.spacing[2]) / 1000;
}

/** What the check can look at besides the mask: the image it was made from, the network's P(brain) (any grid). */
export interface ReviewInputs {
  image?: Volume<Float32Array>;
  probability?: ArrayLike<number>;
}

export function reviewMask(mask: Volume<Uint8Array>, atlas: Atlas, transform: RigidTransform, limits: ReviewLimits = DEFAULT_REVIEW_LIMITS, inputs: ReviewInputs = {}): ReviewResult {
  const agreement = atlasAgreement(mask, atlas.brainMask, transform);
  const evidence: ReviewEvidence = {
    ...(inputs.image ? { imageStructure: imageStructure(inputs.image.data, inputs.image.dims) } : {}),
    ...(inputs.probability ? { uncertainPerBrainVoxel: uncertainPerBrainVoxel(inputs.probability) } : {}),
    atlasDice: agreement.dice,
    atlasScale: agreement.scale,
    excessMl: excessBeyondAtlasMl(mask, atlas, transform, agreement.scale, limits.excessMarginMm),
  };
  const reasons: string[] = [];
  if (evidence.imageStructure !== undefined && !(evidence.imageStructure >= limits.minImageStructure))
    reasons.push(`not a head? neighbouring voxels are unrelated (correlation ${evidence.imageStructure.toFixed(2)}, below ${limits.minImageStructure}): noise or a uniform volume, not an image of anatomy`);
  if (evidence.uncertainPerBrainVoxel !== undefined && !(evidence.uncertainPerBrainVoxel <= limits.maxUncertainPerBrainVoxel))
    reasons.push(`not a head? the network is unsure of ${evidence.uncertainPerBrainVoxel.toFixed(2)} voxels per brain voxel (limit ${limits.maxUncertainPerBrainVoxel}): the image does not look like a head to it`);
  const notAHead = reasons.length > 0;
  if (!(evidence.atlasDice >= limits.minAtlasDice)) reasons.push(`shape: agreement with the atlas brain ${evidence.atlasDice.toFixed(3)} below ${limits.minAtlasDice}`);
  if (evidence.excessMl > limits.maxExcessMl)
    reasons.push(`extent: ${evidence.excessMl.toFixed(1)} mL of mask lie more than ${limits.excessMarginMm} mm outside the expected brain (limit ${limits.maxExcessMl} mL): orbits, sinus or neck included?`);
  return { flagged: reasons.length > 0, notAHead, reasons, evidence };
}
