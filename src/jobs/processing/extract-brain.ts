// Brain extraction of one volume, orchestrated over the worker pool: register it to the atlas (task 'register'),
// then the segmentation chain of pipeline/segmentation/segment.ts (task 'infer': model input, network, mask on
// the volume's own grid, cleaning, review check). The steps themselves are pure pipeline code; this module only
// knows the pool, the model it is given and how to report.
import { logger } from '../../log.js';
import { type DicomContext, DicomError } from '../../dicom/errors.js';
import type { WorkerPool } from '../../pool/pool.js';
import { registrationOptionsFromConfig } from '../../pipeline/registration/index.js';
import type { ModelEntry } from '../../pipeline/segmentation/model-files.js';
import { maskedImage } from '../../pipeline/segmentation/postprocess.js';
import { maskVolumeMl } from '../../pipeline/segmentation/mask-metrics.js';
import type { RigidTransform } from '../../pipeline/space/transform.js';
import { type Volume, gridOf, voxelCount, withData } from '../../pipeline/space/volume.js';

export interface BrainExtraction {
  /** On the input's grid, 0/1. */
  mask: Volume<Uint8Array>;
  /** The input with everything outside the mask set to its background value (a copy, made when first read). */
  readonly brain: Volume<Float32Array>;
  brainVolumeMl: number;
  /** Dice between the mask and the atlas brain mask brought onto the input by the registration, allowing for head size. */
  atlasAgreementDice: number;
  /** Linear head size against the atlas at which that agreement was found (pipeline/segmentation/atlas-agreement.ts). */
  atlasScale: number;
  flaggedForReview: boolean;
  /** The image does not look like a human head at all (noise, another body part): flagged, with a reason that says so. */
  notAHead: boolean;
  /** Why the result was flagged, in words for the person who reviews it. */
  reviewReason?: string;
  transform: RigidTransform;
  /** The model that computed the mask; `sha256` is the checksum of its ONNX file (models/checksums.json). */
  model: { name: string; version: string; precision: 'FP32' | 'INT8'; sha256: string };
}

export interface ExtractDeps {
  pool: Pick<WorkerPool, 'run' | 'intraOpThreads'>;
  /** The model, resolved once by the caller (its folder also holds the atlas). */
  model: ModelEntry;
  /** `registration` (config/sections/registration.ts) tunes the registration; absent, its defaults apply. */
  config: { model: { reviewDice: number }; registration?: Parameters<typeof registrationOptionsFromConfig>[0] };
  /** A known input → atlas transform (skips registration). */
  transform?: RigidTransform;
  /** DICOM identifiers for logs and errors. */
  context?: DicomContext;
  /** Told when each step starts, for the job's timeline. */
  onStep?: (step: ExtractionStep) => void;
}

export type ExtractionStep = 'registration' | 'segmentation';

export async function extractBrain(input: Volume<Float32Array>, deps: ExtractDeps): Promise<BrainExtraction> {
  const { config, pool, context, model } = deps;
  const log = logger('extract', context ?? {});
  if (voxelCount(input) === 0 || input.data.length !== voxelCount(input)) throw new DicomError('brain extraction: the input volume is empty or inconsistent', context);

  let transform = deps.transform;
  if (!transform) {
    const options = config.registration ? registrationOptionsFromConfig(config.registration) : undefined;
    let registered;
    deps.onStep?.('registration');
    try {
      registered = await pool.run('register', { volume: input, context, modelsDir: model.dir, options });
    } catch (error) {
      throw new DicomError(`registration to the atlas failed: ${error instanceof Error ? error.message : String(error)}`, context, { cause: error });
    }
    transform = { matrix: registered.matrix };
  }
  let result;
  deps.onStep?.('segmentation');
  try {
    result = await pool.run('infer', {
      modelPath: model.path,
      intraOpThreads: pool.intraOpThreads,
      modelsDir: model.dir,
      volume: input,
      transform: transform.matrix,
      grid: model.grid,
      reviewDice: config.model.reviewDice,
    });
  } catch (error) {
    throw new DicomError(`brain extraction failed in model ${model.name} (${model.precision}): ${error instanceof Error ? error.message : String(error)}`, context, { cause: error });
  }
  const mask = withData(gridOf(input), result.mask);
  const brainVolumeMl = maskVolumeMl(mask);
  const flaggedForReview = result.reviewReasons.length > 0;
  log.info('brain extracted', {
    brainVolumeMl: Math.round(brainVolumeMl),
    atlasAgreementDice: Number(result.atlasAgreementDice.toFixed(4)),
    atlasScale: result.atlasScale,
    flaggedForReview,
    ...result.timings,
  });
  if (flaggedForReview) log.warn(`brain mask flagged for review: ${result.reviewReasons.join('; ')}`, { ...result.reviewEvidence });
  let brain: Volume<Float32Array> | undefined;
  return {
    mask,
    // Made on first use: the node writes its derived series from the input and the mask, frame by frame.
    get brain() {
      return (brain ??= maskedImage(input, mask));
    },
    brainVolumeMl,
    atlasAgreementDice: result.atlasAgreementDice,
    atlasScale: result.atlasScale,
    flaggedForReview,
    notAHead: result.notAHead,
    ...(flaggedForReview ? { reviewReason: result.reviewReasons.join('; ') } : {}),
    transform,
    model: { name: model.name, version: model.version, precision: model.precision, sha256: model.sha256 },
  };
}
