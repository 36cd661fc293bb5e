// Worker task: times each precision of the model on this CPU, as a worker runs it (its intra-op threads, the model's
// input grid), so that the node runs the faster ('auto' precision). One model at a time: a warm-up inference (the
// first run of a session allocates its buffers), then the timed runs; the best run counts, since other processes
// on the machine only ever slow a run down. A model that loses is released; the winner stays loaded if it was
// timed last, ready for the warm task.
import type { ModelPrecision } from '../../../config/sections/model.js';
import { loadAtlas } from '../../pipeline/segmentation/atlas.js';
import { type PrecisionTimings, fasterPrecision } from '../../pipeline/segmentation/precision-choice.js';
import type { Grid } from '../../pipeline/space/volume.js';
import { brainProbability, releaseSession } from '../../onnx-session.js';

export interface PrecisionTrialPayload {
  models: Array<{ precision: ModelPrecision; path: string }>;
  intraOpThreads: number;
  /** Timed runs per model, after one warm-up. */
  runs: number;
  /** Models folder holding atlas/ (empty: the shipped one). */
  modelsDir?: string;
  /** The model's own input grid (absent: the atlas grid). */
  grid?: Grid;
}

export interface PrecisionTrialResult {
  milliseconds: PrecisionTimings;
  /** Why a precision could not be timed (its file did not load or run). */
  failures: Partial<Record<ModelPrecision, string>>;
  precision: ModelPrecision;
}

export default async function precisionTrial(payload: PrecisionTrialPayload): Promise<PrecisionTrialResult> {
  const dims = (payload.grid ?? loadAtlas(payload.modelsDir || undefined).grid).dims;
  const input = new Float32Array(dims[0] * dims[1] * dims[2]);
  const milliseconds: PrecisionTimings = {};
  const failures: PrecisionTrialResult['failures'] = {};
  for (const model of payload.models) {
    try {
      await brainProbability(model.path, payload.intraOpThreads, input, dims);
      let best = Number.POSITIVE_INFINITY;
      for (let run = 0; run < payload.runs; run++) {
        const started = performance.now();
        await brainProbability(model.path, payload.intraOpThreads, input, dims);
        best = Math.min(best, performance.now() - started);
      }
      milliseconds[model.precision] = Math.round(best);
    } catch (error) {
      failures[model.precision] = error instanceof Error ? error.message : String(error);
    }
    // Both loaded at once would double the memory the trial needs; the last one stays in case it wins.
    if (model !== payload.models.at(-1)) await releaseSession(model.path, payload.intraOpThreads);
  }
  if (Object.keys(milliseconds).length === 0) throw new Error(Object.entries(failures).map(([p, why]) => `${p}: ${why}`).join('; '));
  const precision = fasterPrecision(milliseconds);
  for (const model of payload.models) if (model.precision !== precision) await releaseSession(model.path, payload.intraOpThreads);
  return { milliseconds, failures, precision };
}
