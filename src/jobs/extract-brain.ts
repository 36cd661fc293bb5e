// Brain extraction of one volume: register it to the atlas, run the network on the model grid, bring the mask
// back to the volume's own grid, clean it, and check it against the atlas mask brought back by the same
// registration. The heavy steps run in the worker pool (tasks 'register' and 'infer'); this module only
// orchestrates them and keeps the pure steps that the infer task uses.
import type { ModelConfig } from '../../config/sections/model.js';
import { type DicomContext, logger } from '../log.js';
import type { WorkerPool } from '../pool/pool.js';
import type { InferPayload, InferResult } from '../pool/tasks/infer.js';
import type { RegisterTaskPayload, RegisterTaskResult } from '../pool/tasks/register.js';
import type { Atlas } from '../pipeline/segmentation/atlas.js';
import { resample } from '../pipeline/space/geometry.js';
import { resolveModel } from '../pipeline/segmentation/model-files.js';
import { registrationOptionsFromConfig } from '../pipeline/registration/index.js';
import { cleanMask } from '../pipeline/segmentation/postprocess.js';
import type { RigidTransform } from '../pipeline/space/transform.js';
import { type Grid, type Volume, gridOf, voxelCount, withData } from '../pipeline/space/volume.js';

export interface BrainExtraction {
  /** On the input's grid, 0/1. */
  mask: Volume<Uint8Array>;
  /** The input with everything outside the mask set to 0. */
  brain: Volume<Float32Array>;
  brainVolumeMl: number;
  /** Dice between the mask and the atlas brain mask brought onto the input by the registration, allowing for head size. */
  atlasAgreementDice: number;
  /** Linear head size against the atlas at which that agreement was found (pipeline/segmentation/atlas-agreement.ts). */
  atlasScale: number;
  flaggedForReview: boolean;
  /** Why the result was flagged, in words for the person who reviews it. */
  reviewReason?: string;
  transform: RigidTransform;
  /** The model that computed the mask; `sha256` is the checksum of its ONNX file (models/checksums.json). */
  model: { name: string; version: string; precision: 'FP32' | 'INT8'; sha256: string };
}

export interface ExtractDeps {
  pool: Pick<WorkerPool, 'run' | 'intraOpThreads'>;
  atlas: Atlas;
  /** `registration` (config/sections/registration.ts) tunes the registration; absent, its defaults apply. */
  config: { model: ModelConfig; registration?: Parameters<typeof registrationOptionsFromConfig>[0] };
  /** A known input → atlas transform (skips registration). */
  transform?: RigidTransform;
  /** DICOM identifiers for logs and errors. */
  context?: DicomContext;
}

function describe(context: DicomContext = {}): string {
  const ids = Object.entries(context).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`);
  return ids.length ? ` (${ids.join(', ')})` : '';
}

export async function extractBrain(input: Volume<Float32Array>, deps: ExtractDeps): Promise<BrainExtraction> {
  const { config, pool, context } = deps;
  const log = logger('extract', context ?? {});
  if (voxelCount(input) === 0 || input.data.length !== voxelCount(input)) throw new Error(`brain extraction: the input volume is empty or inconsistent${describe(context)}`);
  const model = resolveModel({ dir: config.model.dir || undefined, name: config.model.name, precision: config.model.precision, verify: config.model.verifyChecksums });

  let transform = deps.transform;
  if (!transform) {
    const options = config.registration ? registrationOptionsFromConfig(config.registration) : undefined;
    let registered: RegisterTaskResult;
    try {
      registered = await pool.run<RegisterTaskResult>('register', { volume: input, context, modelsDir: config.model.dir || undefined, options } satisfies RegisterTaskPayload);
    } catch (error) {
      throw new Error(`registration to the atlas failed: ${error instanceof Error ? error.message : String(error)}${describe(context)}`);
    }
    transform = { matrix: registered.matrix };
  }
  let result: InferResult;
  try {
    result = await pool.run<InferResult>('infer', {
      modelPath: model.path,
      intraOpThreads: pool.intraOpThreads,
      modelsDir: config.model.dir || undefined,
      volume: input,
      transform: transform.matrix,
      grid: model.grid,
      reviewDice: config.model.reviewDice,
    } satisfies InferPayload);
  } catch (error) {
    throw new Error(`brain extraction failed in model ${model.name} (${model.precision}): ${error instanceof Error ? error.message : String(error)}${describe(context)}`);
  }
  const mask = withData(gridOf(input), result.mask);
  const brainData = new Float32Array(input.data.length);
  let count = 0;
  for (let v = 0; v < brainData.length; v++) {
    if (mask.data[v]) {
      brainData[v] = input.data[v];
      count++;
    }
  }
  const brainVolumeMl = (count * input.spacing[0] * input.spacing[1] * input.spacing[2]) / 1000;
  const flaggedForReview = result.reviewReasons.length > 0;
  log.info('brain extracted', {
    brainVolumeMl: Math.round(brainVolumeMl),
    atlasAgreementDice: Number(result.atlasAgreementDice.toFixed(4)),
    atlasScale: result.atlasScale,
    flaggedForReview,
    ...result.timings,
  });
  if (flaggedForReview) log.warn(`brain mask flagged for review: ${result.reviewReasons.join('; ')}`, { ...result.reviewEvidence });
  return {
    mask,
    brain: withData(gridOf(input), brainData),
    brainVolumeMl,
    atlasAgreementDice: result.atlasAgreementDice,
    atlasScale: result.atlasScale,
    flaggedForReview,
    ...(flaggedForReview ? { reviewReason: result.reviewReasons.join('; ') } : {}),
    transform,
    model: { name: model.name, version: model.version, precision: model.precision, sha256: model.sha256 },
  };
}

/** P(brain) on the model grid → cleaned 0/1 mask on the input's grid (linear interpolation, threshold 0.5). */
export function maskOnInputGrid(probability: Volume<Float32Array>, input: Grid, transform: RigidTransform): Volume<Uint8Array> {
  const p = resample(probability, gridOf(input), { targetToSource: transform.matrix, interpolation: 'linear', fill: 0 });
  const data = new Uint8Array(p.data.length);
  for (let v = 0; v < data.length; v++) data[v] = p.data[v] >= 0.5 ? 1 : 0;
  return cleanMask(withData(gridOf(input), data));
}
