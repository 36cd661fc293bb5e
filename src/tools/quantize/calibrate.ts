// Activation ranges from calibration inputs: the FP32 model is run with the tensors to quantize exposed as extra
// graph outputs. 'minmax' keeps the extreme values seen; 'percentile' clips the tails of a histogram of all values
// of a tensor over every calibration input (rare outliers then do not stretch the 256 steps of a uint8 scale).
import type { InferenceSession } from 'onnxruntime-node';
import { type ModelProto, cloneModel, encodeModel, floatValueInfo } from './onnx-model.js';
import type { TensorRange } from './qdq.js';
import { createSession, runFloat } from './session.js';

export type CalibrationMethod = 'minmax' | 'percentile';

export interface CalibrationOptions {
  method: CalibrationMethod;
  /** Share of values kept inside the range with 'percentile', e.g. 0.9999. */
  percentile?: number;
  threads?: number;
}

const BINS = 4096;

/** The model with `tensors` also as graph outputs. */
export function exposeTensors(model: ModelProto, tensors: string[]): ModelProto {
  const copy = cloneModel(model);
  const existing = new Set(copy.graph.output.map((o) => o.name));
  for (const t of tensors) if (!existing.has(t)) copy.graph.output.push(floatValueInfo(t));
  return copy;
}

async function forEachRun(session: InferenceSession, inputs: Float32Array[], shape: number[], visit: (outputs: Record<string, Float32Array>) => void): Promise<void> {
  for (const input of inputs) visit(await runFloat(session, input, shape));
}

export async function calibrateRanges(model: ModelProto, tensors: string[], inputs: Float32Array[], shape: number[], options: CalibrationOptions): Promise<Map<string, TensorRange>> {
  if (inputs.length === 0) throw new Error('calibration needs at least one input');
  const session = await createSession(encodeModel(exposeTensors(model, tensors)), { threads: options.threads });
  try {
    const ranges = new Map<string, TensorRange>(tensors.map((t) => [t, { min: Infinity, max: -Infinity }]));
    await forEachRun(session, inputs, shape, (outputs) => {
      for (const t of tensors) {
        const r = ranges.get(t)!;
        const data = outputs[t];
        for (let i = 0; i < data.length; i++) {
          const v = data[i];
          if (v < r.min) r.min = v;
          if (v > r.max) r.max = v;
        }
      }
    });
    if (options.method === 'minmax') return ranges;

    const keep = options.percentile ?? 0.9999;
    const histograms = new Map(tensors.map((t) => [t, new Float64Array(BINS)]));
    await forEachRun(session, inputs, shape, (outputs) => {
      for (const t of tensors) {
        const { min, max } = ranges.get(t)!;
        const h = histograms.get(t)!;
        const width = (max - min) / BINS || 1;
        const data = outputs[t];
        for (let i = 0; i < data.length; i++) h[Math.min(BINS - 1, Math.floor((data[i] - min) / width))]++;
      }
    });
    const clipped = new Map<string, TensorRange>();
    for (const t of tensors) clipped.set(t, percentileRange(histograms.get(t)!, ranges.get(t)!, keep));
    return clipped;
  } finally {
    await session.release();
  }
}

/**
 * The range keeping `keep` of the values: a tensor that is never negative (after Relu) is clipped at the top
 * only; one with both signs loses (1 − keep)/2 at each end.
 */
export function percentileRange(histogram: Float64Array, full: TensorRange, keep: number): TensorRange {
  const total = histogram.reduce((a, b) => a + b, 0);
  const width = (full.max - full.min) / histogram.length;
  const twoSided = full.min < 0;
  const tail = ((1 - keep) / (twoSided ? 2 : 1)) * total;
  let hiBin = histogram.length - 1;
  for (let above = 0; hiBin > 0 && above + histogram[hiBin] <= tail; hiBin--) above += histogram[hiBin];
  let loBin = 0;
  if (twoSided) for (let below = 0; loBin < hiBin && below + histogram[loBin] <= tail; loBin++) below += histogram[loBin];
  return { min: twoSided ? full.min + loBin * width : full.min, max: Math.min(full.max, full.min + (hiBin + 1) * width) };
}
