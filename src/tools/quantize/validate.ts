// How much a quantized model loses: its masks on the validation inputs against the FP32 model's masks and, where
// reference masks exist, against those. Masks are taken on the model grid as the node takes them (P(brain) ≥ 0.5,
// i.e. logit of brain ≥ logit of background).
import { dice } from '../../pipeline/segmentation/mask-metrics.js';
import type { Evaluation } from './fallback.js';
import { type ModelProto, encodeModel } from './onnx-model.js';
import { createSession, runFloat } from './session.js';

export interface ValidationSample {
  name: string;
  input: Float32Array;
  /** Reference brain mask on the model grid, when known. */
  reference?: Uint8Array;
}

/** Mask of a [1, 2, …] logits tensor: class 1 wins. */
export function maskFromLogits(logits: Float32Array): Uint8Array {
  const n = logits.length / 2;
  const mask = new Uint8Array(n);
  for (let v = 0; v < n; v++) mask[v] = logits[n + v] >= logits[v] ? 1 : 0;
  return mask;
}

export interface ModelOutputs {
  logits: Float32Array[];
  masks: Uint8Array[];
}

export async function runModel(model: ModelProto | Uint8Array, samples: ValidationSample[], shape: number[], threads = 1): Promise<ModelOutputs> {
  const session = await createSession(model instanceof Uint8Array ? model : encodeModel(model), { threads });
  try {
    const logits: Float32Array[] = [];
    for (const s of samples) {
      const out = await runFloat(session, s.input, shape);
      logits.push(out[session.outputNames[0]]);
    }
    return { logits, masks: logits.map(maskFromLogits) };
  } finally {
    await session.release();
  }
}

/** Compares a candidate's outputs with the FP32 outputs on the same samples. */
export function compareOutputs(samples: ValidationSample[], fp32: ModelOutputs, candidate: ModelOutputs): Evaluation {
  let drop = 0;
  let agreement = 0;
  let error = 0;
  const withReference = samples.every((s) => s.reference);
  samples.forEach((s, i) => {
    const a = dice(candidate.masks[i], fp32.masks[i]);
    agreement += a;
    drop += withReference ? dice(fp32.masks[i], s.reference!) - dice(candidate.masks[i], s.reference!) : 1 - a;
    const x = candidate.logits[i];
    const y = fp32.logits[i];
    let e = 0;
    for (let v = 0; v < x.length; v++) e += Math.abs(x[v] - y[v]);
    error += e / x.length;
  });
  const n = samples.length;
  return { diceDrop: drop / n, agreement: agreement / n, outputError: error / n };
}
