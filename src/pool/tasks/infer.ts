// Worker task: a volume on its native grid and its registration transform in, the brain mask on the same grid
// out. Everything heavy happens here, off the main thread: resampling onto the model grid, the network (one ONNX
// Runtime session per worker, cached), resampling the probability back, post-processing and the atlas check.
import { loadAtlas } from '../../pipeline/segmentation/atlas.js';
import { maskOnInputGrid } from '../../jobs/extract-brain.js';
import { modelInput } from '../../pipeline/segmentation/model-input.js';
import { DEFAULT_REVIEW_LIMITS, type ReviewEvidence, reviewMask } from '../../pipeline/segmentation/review-check.js';
import type { Grid, Volume } from '../../pipeline/space/volume.js';
import { brainProbability } from '../onnx-session.js';

export interface InferPayload {
  modelPath: string;
  intraOpThreads: number;
  /** Models folder holding atlas/ (empty: the shipped one). */
  modelsDir?: string;
  volume: Volume<Float32Array>;
  /** Registration result: input LPS → atlas LPS, row-major 4×4. */
  transform: number[];
  /** The model's own input grid in atlas space (absent: the atlas grid). */
  grid?: Grid;
  /** Atlas agreement below which the result is flagged for review (model.reviewDice). */
  reviewDice: number;
}

export interface InferResult {
  mask: Uint8Array;
  /** Dice with the registered atlas mask, allowing for head size (pipeline/segmentation/atlas-agreement.ts). */
  atlasAgreementDice: number;
  /** Linear size of the head against the atlas at which that Dice was found. */
  atlasScale: number;
  /** Why a person should look at this mask (pipeline/segmentation/review-check.ts); empty when nothing is suspicious. */
  reviewReasons: string[];
  reviewEvidence: ReviewEvidence;
  timings: { modelInputMs: number; networkMs: number; postprocessMs: number };
}

export default async function infer(payload: InferPayload): Promise<InferResult> {
  const atlas = loadAtlas(payload.modelsDir || undefined);
  const transform = { matrix: payload.transform };
  const t0 = performance.now();
  const grid = payload.grid ?? atlas.grid;
  const input = modelInput(payload.volume, transform, grid);
  const t1 = performance.now();
  const probability = await brainProbability(payload.modelPath, payload.intraOpThreads, input, grid.dims);
  const t2 = performance.now();
  const mask = maskOnInputGrid({ ...grid, data: probability }, payload.volume, transform);
  const review = reviewMask(mask, atlas, transform, { ...DEFAULT_REVIEW_LIMITS, minAtlasDice: payload.reviewDice });
  const t3 = performance.now();
  return {
    mask: mask.data,
    atlasAgreementDice: review.evidence.atlasDice,
    atlasScale: review.evidence.atlasScale,
    reviewReasons: review.reasons,
    reviewEvidence: review.evidence,
    timings: { modelInputMs: Math.round(t1 - t0), networkMs: Math.round(t2 - t1), postprocessMs: Math.round(t3 - t2) },
  };
}
