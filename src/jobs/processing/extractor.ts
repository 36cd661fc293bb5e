// The brain extractor a series processor uses: the worker pool and extractBrain (./extract-brain.ts) over the
// model resolved when the node started (of its candidates, the one chooseModel picks when the pool starts).
import type { BrainstripConfig } from '../../../config/schema.js';
import { type DicomContext } from '../../dicom/errors.js';
import { logger } from '../../log.js';
import type { ResultFiles, ResultFilesInput } from '../../pipeline/derived/result-files.js';
import { registrationOptionsFromConfig } from '../../pipeline/registration/index.js';
import type { ModelEntry } from '../../pipeline/segmentation/model-files.js';
import type { Volume } from '../../pipeline/space/volume.js';
import type { BrainExtraction, ExtractionStep } from './extract-brain.js';
import { type ChosenModel, chooseModel } from './model-choice.js';

/** What the results need from brain extraction; the transform stays with the extractor. */
export type BrainExtractionResult = Omit<BrainExtraction, 'transform'>;

export interface BrainExtractor {
  extract(volume: Volume<Float32Array>, context?: DicomContext, onStep?: (step: ExtractionStep) => void): Promise<BrainExtractionResult>;
  /** Writes the result files off this thread (a pool worker); absent: written here. */
  derive?(input: ResultFilesInput): Promise<ResultFiles>;
  /** Whether the model is loaded and the workers are ready (absent: always). */
  loaded?(): boolean;
  close(): Promise<void>;
}

/**
 * The node's extractor: the worker pool and extractBrain, created on first use, or at once with `warm` (the
 * node): then every worker prepares the atlas and its ONNX session before the first series arrives. `models`:
 * the candidates (modelCandidates), of which the pool runs the one chooseModel picks; `onChosen` hears which.
 */
export function poolExtractor(config: BrainstripConfig, models: readonly ModelEntry[], options: { warm?: boolean; onChosen?(chosen: ChosenModel): void } = {}): BrainExtractor {
  const warm = options.warm ?? false;
  let ready:
    | Promise<{
        pool: { close(): Promise<void> | void; run(task: 'derive', payload: ResultFilesInput): Promise<ResultFiles> };
        run: (v: Volume<Float32Array>, context?: DicomContext, onStep?: (step: ExtractionStep) => void) => Promise<BrainExtractionResult>;
      }>
    | undefined;
  let loaded = false;
  const start = async () => {
    // Loaded on demand: the pool starts worker threads and an ONNX Runtime session per worker.
    const [{ createWorkerPool }, { extractBrain }] = await Promise.all([import('../../pool/pool.js'), import('./extract-brain.js')]);
    const pool = createWorkerPool(config);
    const log = logger('pool');
    // Timed before the workers warm: the trial needs the CPU to itself to measure what a series will cost.
    const chosen = chooseModel(pool, models, config.model.precision, log).then((c) => {
      options.onChosen?.(c);
      return c.model;
    });
    if (warm) {
      void chosen
        .then((model) =>
          pool.warmAll({
            modelPath: model.path,
            intraOpThreads: pool.intraOpThreads,
            modelsDir: model.dir,
            grid: model.grid,
            options: registrationOptionsFromConfig(config.registration),
          }),
        )
        .then((ms) => {
          loaded = true;
          log.info(`${ms.length} worker(s) ready: atlas and model loaded`, { milliseconds: ms });
        })
        .catch((error: Error) => log.warn(`workers not prepared ahead: ${error.message}; the first series prepares them`));
    }
    return {
      pool,
      run: async (volume: Volume<Float32Array>, context?: DicomContext, onStep?: (step: ExtractionStep) => void) =>
        extractBrain(volume, { pool, model: await chosen, config, context, onStep }),
    };
  };
  if (warm) ready = start();
  return {
    async extract(volume, context, onStep) {
      ready ??= start();
      const result = await (await ready).run(volume, context, onStep);
      loaded = true;
      return result;
    },
    async derive(input) {
      ready ??= start();
      return (await ready).pool.run('derive', input);
    },
    loaded: () => loaded,
    async close() {
      if (ready) await (await ready).pool.close();
    },
  };
}
