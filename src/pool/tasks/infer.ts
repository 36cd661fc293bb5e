// Worker task: the segmentation chain (pipeline/segmentation/segment.ts) off the main thread, with the network
// run by this worker's ONNX Runtime session (cached for the worker's life) and the atlas loaded once per worker.
// Only an adapter: payloads in, plain transferable results out.
import { loadAtlas } from '../../pipeline/segmentation/atlas.js';
import type { ReviewEvidence } from '../../pipeline/segmentation/review-check.js';
import { type BrainSegmentation, segmentBrain } from '../../pipeline/segmentation/segment.js';
import type { Grid, Volume } from '../../pipeline/space/volume.js';
import { brainProbability } from '../../onnx-session.js';
import { releaseMemory } from '../../memory.js';

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
  /** The image itself does not look like a head (one of the reasons says why). */
  notAHead: boolean;
  reviewEvidence: ReviewEvidence;
  timings: BrainSegmentation['timings'];
}

export default async function infer(payload: InferPayload): Promise<InferResult> {
  // The previous task's payload and intermediates are garbage now: freed before this task allocates its own.
  releaseMemory();
  const { mask, review, timings } = await segmentBrain(payload.volume, { matrix: payload.transform }, {
    atlas: loadAtlas(payload.modelsDir || undefined),
    grid: payload.grid,
    reviewDice: payload.reviewDice,
    predict: (input, dims) => brainProbability(payload.modelPath, payload.intraOpThreads, input, dims),
  });
  return {
    mask: mask.data,
    atlasAgreementDice: review.evidence.atlasDice,
    atlasScale: review.evidence.atlasSize,
    reviewReasons: review.reasons,
    notAHead: review.notAHead,
    reviewEvidence: review.evidence,
    timings,
  };
}
