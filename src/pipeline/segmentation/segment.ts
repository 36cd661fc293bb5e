// The segmentation chain of one volume, given its registration to the atlas: model input on the model grid →
// the network (any predictor: ONNX Runtime in a worker, a stub in a test), reading it as it is and mirrored
// (mirrored-reading.ts) → the mean P(brain) brought back onto the volume's own grid → thresholded and cleaned →
// checked: is the image a head, does the mask agree with the atlas brain and with the mirrored reading where that
// is sure. Pure apart from the predictor.
import { resampleMask } from '../space/resample.js';
import type { RigidTransform } from '../space/transform.js';
import { type Grid, type Vec3, type Volume, gridOf, withData } from '../space/volume.js';
import type { Atlas } from './atlas.js';
import { modelInput } from './model-input.js';
import { cleanMask } from './postprocess.js';
import { mirroredReading } from './mirrored-reading.js';
import { DEFAULT_REVIEW_LIMITS, type ReviewResult, reviewMask } from './review-check.js';

/** The network: a normalised input on the model grid (dims i, j, k) in, P(brain) per voxel on the same grid out. */
export type Predictor = (input: Float32Array, dims: Vec3) => Promise<Float32Array>;

export interface SegmentOptions {
  atlas: Atlas;
  /** The model's own input grid in atlas space (absent: the atlas grid). */
  grid?: Grid;
  predict: Predictor;
  /** Atlas agreement below which the result is flagged for review (model.reviewDice). */
  reviewDice: number;
}

export interface BrainSegmentation {
  /** On the volume's own grid, 0/1. */
  mask: Volume<Uint8Array>;
  review: ReviewResult;
  timings: { modelInputMs: number; networkMs: number; mirroredReadingMs: number; postprocessMs: number };
}

/**
 * The mask follows the mean of the network's two readings, as shown and mirrored: where they part (one bridging a
 * narrow cleft, or stopping short of a surface, that the other reads otherwise) neither is to be preferred, and a
 * network's leaning to one side of what it is shown cancels out. The second reading is made for the review anyway,
 * so this costs no inference.
 */
function bothReadings(direct: Float32Array, mirrored: Float32Array): Float32Array {
  const mean = new Float32Array(direct.length);
  for (let v = 0; v < mean.length; v++) mean[v] = 0.5 * (direct[v] + mirrored[v]);
  return mean;
}

/** P(brain) on the model grid → cleaned 0/1 mask on the input's grid (linear interpolation, threshold 0.5). */
export function maskOnInputGrid(probability: Volume<Float32Array>, input: Grid, transform: RigidTransform): Volume<Uint8Array> {
  return cleanMask(resampleMask(probability, gridOf(input), transform.matrix));
}

export async function segmentBrain(volume: Volume<Float32Array>, transform: RigidTransform, options: SegmentOptions): Promise<BrainSegmentation> {
  const grid = options.grid ?? options.atlas.grid;
  const t0 = performance.now();
  const input = modelInput(volume, transform, grid);
  const t1 = performance.now();
  const probability = await options.predict(input, grid.dims);
  const t2 = performance.now();
  const reading = await mirroredReading(input, grid, options.predict);
  const t3 = performance.now();
  const mask = maskOnInputGrid(withData(gridOf(grid), bothReadings(probability, reading.data)), volume, transform);
  const review = reviewMask(mask, options.atlas, transform, { ...DEFAULT_REVIEW_LIMITS, minAtlasDice: options.reviewDice }, { image: volume, probability, mirroredReading: reading });
  const t4 = performance.now();
  return { mask, review, timings: { modelInputMs: Math.round(t1 - t0), networkMs: Math.round(t2 - t1), mirroredReadingMs: Math.round(t3 - t2), postprocessMs: Math.round(t4 - t3) } };
}

/** The network's second reading of `volume` (mirrored left–right, mirrored back) on the model grid, for reviewing a mask made elsewhere. */
export async function mirroredReadingOf(volume: Volume<Float32Array>, transform: RigidTransform, grid: Grid, predict: Predictor): Promise<Volume<Float32Array>> {
  return mirroredReading(modelInput(volume, transform, grid), grid, predict);
}
