// Whether a person should look at a mask before trusting it. First, whether the image is a head at all
// (head-evidence.ts), where the image and the network's probabilities are at hand:
// - structure: anatomy is smooth from voxel to voxel, noise and uniform volumes are not;
// - uncertainty: on a head the network is sure of nearly every voxel, on anything else it is not.
// Then evidence about the mask against the brain the atlas expects there (atlas-agreement.ts, atlas-evidence.ts):
// - shape: overall agreement — a mask of the wrong shape or place altogether;
// - extent: a piece of mask well outside the expected brain — orbits, sinus or neck taken in;
// - missing: a piece of the expected brain, well inside it, left out — the vertex, the cerebellum, a lobe cut off;
// - asymmetry: a piece on one side with no counterpart on the other — a temporal pole or a lobe cut off;
// - position: the mask's centre to one side of the expected brain's midline — the mask shifted sideways.
// And evidence from the network itself (mirrored-reading.ts): it reads the image again mirrored left–right, and
// where it is sure of brain the mask leaves out, or sure of no brain the mask takes in, a piece of the mask is wrong
// or the network is unsure of this head. The reading is made from the image alone, never from the mask, so it is
// the same second opinion on the node's own mask and on a mask made elsewhere (`brainstrip review`); the atlas
// still catches what the network gets wrong both ways.
// Pieces are measured in millilitres on the patient's grid and only within the image's field of view, so the same
// limits hold for 1 mm 3D and 5 mm 2D series and for slabs. The limits were set from measurements: on the
// validation heads' correct masks and the same masks damaged (tools/mask-damage.ts; models/evaluation.md).
import { type Atlas } from './atlas.js';
import { atlasAgreement } from './atlas-agreement.js';
import { type AtlasEvidence, atlasEvidence } from './atlas-evidence.js';
import type { RigidTransform } from '../space/transform.js';
import { type Volume } from '../space/volume.js';
import { imageStructure, uncertainPerBrainVoxel } from './head-evidence.js';
import { readingDisagreement } from './mirrored-reading.js';

export interface ReviewLimits {
  /** In-plane neighbour correlation of the image below which it is not an image of anatomy (heads: 0.92–0.99). */
  minImageStructure: number;
  /** Uncertain voxels per brain voxel above which the network did not see a head (heads 0.13–0.22; a knee, a spine, smooth noise 1.0–2.5). */
  maxUncertainPerBrainVoxel: number;
  /** Atlas agreement (Dice, size-aware) below which the mask is flagged (model.reviewDice). */
  minAtlasDice: number;
  /** Depth beyond the expected brain from which mask counts as excess, mm. */
  excessMarginMm: number;
  /** Largest connected piece of excess allowed, mL. */
  maxExcessMl: number;
  /** Depth inside the expected brain from which brain left out counts as missing, mm. */
  missingMarginMm: number;
  /** Largest connected piece of missing brain allowed, mL. */
  maxMissingMl: number;
  /** Distance outside the mask from which its mirror image counts as asymmetry, mm. */
  asymmetryMarginMm: number;
  /** Largest connected piece of asymmetry allowed, mL. */
  maxAsymmetryMl: number;
  /** Distance between the mask's centre and the expected brain's, left–right, allowed, mm. */
  maxOffsetMm: number;
  /** P(brain) of the network's mirrored reading above which it is sure of brain (below 1 − this, sure of none). */
  readingSureness: number;
  /** Largest connected piece where mask and sure reading part allowed, mL (correct masks ≤ 0.6, damaged ≥ 1.9). */
  maxReadingDisagreementMl: number;
}

export const DEFAULT_REVIEW_LIMITS: ReviewLimits = {
  minImageStructure: 0.5,
  maxUncertainPerBrainVoxel: 0.5,
  minAtlasDice: 0.83,
  excessMarginMm: 8,
  maxExcessMl: 4,
  missingMarginMm: 6,
  maxMissingMl: 4,
  asymmetryMarginMm: 5,
  maxAsymmetryMl: 2.5,
  maxOffsetMm: 4,
  readingSureness: 0.95,
  maxReadingDisagreementMl: 1.2,
};

/** The default limits with the configured atlas agreement (model.reviewDice). */
export function reviewLimits(minAtlasDice: number): ReviewLimits {
  return { ...DEFAULT_REVIEW_LIMITS, minAtlasDice };
}

export interface ReviewEvidence extends AtlasEvidence {
  /** In-plane neighbour correlation of the image (absent when the image was not given). */
  imageStructure?: number;
  /** The network's uncertain voxels per brain voxel (absent when its probabilities were not given). */
  uncertainPerBrainVoxel?: number;
  /** Sure brain of the network's mirrored reading left out of the mask, largest piece, mL (absent without the reading). */
  readingLeftOutMl?: number;
  /** Mask where the network's mirrored reading is sure of no brain, largest piece, mL (absent without the reading). */
  beyondReadingMl?: number;
  atlasDice: number;
  /** Linear size of the head against the atlas at which that Dice was found (one size for all axes). */
  atlasSize: number;
}

export interface ReviewResult {
  flagged: boolean;
  /** The image itself does not look like a head (a reason says why); its mask is no brain whatever its shape. */
  notAHead: boolean;
  /** In words, for the person who reviews it; empty when not flagged. */
  reasons: string[];
  evidence: ReviewEvidence;
}

/** What the check can look at besides the mask: the image it was made from, the network's P(brain) (any grid). */
export interface ReviewInputs {
  image?: Volume<Float32Array>;
  probability?: ArrayLike<number>;
  /** The network's reading of the image mirrored left–right, mirrored back: P(brain) on the model grid (mirrored-reading.ts). */
  mirroredReading?: Volume<Float32Array>;
}

/** One measure of the mask, its limit and what crossing it says; the check and its evaluation share them. */
export interface MaskMeasure {
  name: string;
  value: (evidence: ReviewEvidence) => number | undefined;
  limit: number;
  /** Whether a mask is flagged above the limit (otherwise below it). */
  above: boolean;
  unit: string;
  reason: (value: number) => string;
}

/** The measures of the mask, in the order their reasons are given. */
export function maskMeasures(limits: ReviewLimits): MaskMeasure[] {
  const l = limits;
  return [
    { name: 'atlas agreement', value: (e) => e.atlasDice, limit: l.minAtlasDice, above: false, unit: '',
      reason: (v) => `shape: agreement with the atlas brain ${v.toFixed(3)} below ${l.minAtlasDice}` },
    { name: `excess beyond ${l.excessMarginMm} mm`, value: (e) => e.excessMl, limit: l.maxExcessMl, above: true, unit: ' mL',
      reason: (v) => `extent: ${v.toFixed(1)} mL of mask lie more than ${l.excessMarginMm} mm outside the expected brain (limit ${l.maxExcessMl} mL): orbits, sinus or neck included?` },
    { name: `missing deeper than ${l.missingMarginMm} mm`, value: (e) => e.missingMl, limit: l.maxMissingMl, above: true, unit: ' mL',
      reason: (v) => `missing: ${v.toFixed(1)} mL of the expected brain, deeper than ${l.missingMarginMm} mm inside it, are not in the mask (limit ${l.maxMissingMl} mL): vertex, cerebellum or a lobe cut off?` },
    { name: `asymmetry beyond ${l.asymmetryMarginMm} mm`, value: (e) => e.asymmetryMl, limit: l.maxAsymmetryMl, above: true, unit: ' mL',
      reason: (v) => `asymmetry: ${v.toFixed(1)} mL of the mask's mirror image lie more than ${l.asymmetryMarginMm} mm outside it (limit ${l.maxAsymmetryMl} mL): a temporal pole or a lobe cut off on one side?` },
    { name: 'centre offset', value: (e) => e.offsetMm, limit: l.maxOffsetMm, above: true, unit: ' mm',
      reason: (v) => `position: the mask's centre is ${v.toFixed(1)} mm to one side of the expected brain's midline (limit ${l.maxOffsetMm} mm): mask shifted?` },
    { name: 'sure brain of the second reading left out', value: (e) => e.readingLeftOutMl, limit: l.maxReadingDisagreementMl, above: true, unit: ' mL',
      reason: (v) => `second reading: the network, reading the image again mirrored, is sure of ${v.toFixed(1)} mL of brain in one piece that the mask leaves out (limit ${l.maxReadingDisagreementMl} mL): vertex, a temporal pole or a lobe cut off, or the mask shifted?` },
    { name: 'mask where the second reading is sure of none', value: (e) => e.beyondReadingMl, limit: l.maxReadingDisagreementMl, above: true, unit: ' mL',
      reason: (v) => `second reading: ${v.toFixed(1)} mL of the mask in one piece lie where the network, reading the image again mirrored, is sure there is no brain (limit ${l.maxReadingDisagreementMl} mL): orbits, sinus or neck included, or the mask shifted?` },
  ];
}

/** Whether a measured value is past its limit; a value that could not be measured (NaN) is, one not taken (undefined) is not. */
export function pastLimit(measure: MaskMeasure, value: number | undefined): value is number {
  return value !== undefined && !(measure.above ? value <= measure.limit : value >= measure.limit);
}

export function reviewMask(mask: Volume<Uint8Array>, atlas: Atlas, transform: RigidTransform, limits: ReviewLimits = DEFAULT_REVIEW_LIMITS, inputs: ReviewInputs = {}): ReviewResult {
  const agreement = atlasAgreement(mask, atlas.brainMask, transform);
  const margins = { excessMm: limits.excessMarginMm, missingMm: limits.missingMarginMm, asymmetryMm: limits.asymmetryMarginMm };
  const evidence: ReviewEvidence = {
    ...(inputs.image ? { imageStructure: imageStructure(inputs.image.data, inputs.image.dims) } : {}),
    ...(inputs.probability ? { uncertainPerBrainVoxel: uncertainPerBrainVoxel(inputs.probability) } : {}),
    ...(inputs.mirroredReading ? readingDisagreement(mask, inputs.mirroredReading, transform, limits.readingSureness) : {}),
    atlasDice: agreement.dice,
    atlasSize: agreement.scale,
    ...atlasEvidence(mask, atlas, transform, agreement.scale, margins),
  };
  const reasons: string[] = [];
  if (evidence.imageStructure !== undefined && !(evidence.imageStructure >= limits.minImageStructure))
    reasons.push(`not a head? neighbouring voxels are unrelated (correlation ${evidence.imageStructure.toFixed(2)}, below ${limits.minImageStructure}): noise or a uniform volume, not an image of anatomy`);
  if (evidence.uncertainPerBrainVoxel !== undefined && !(evidence.uncertainPerBrainVoxel <= limits.maxUncertainPerBrainVoxel))
    reasons.push(`not a head? the network is unsure of ${evidence.uncertainPerBrainVoxel.toFixed(2)} voxels per brain voxel (limit ${limits.maxUncertainPerBrainVoxel}): the image does not look like a head to it`);
  const notAHead = reasons.length > 0;
  for (const measure of maskMeasures(limits)) {
    const value = measure.value(evidence);
    if (pastLimit(measure, value)) reasons.push(measure.reason(value));
  }
  return { flagged: reasons.length > 0, notAHead, reasons, evidence };
}
