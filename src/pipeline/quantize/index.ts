// Post-training INT8 quantization of a brain extraction model, from FP32 model bytes and preprocessed
// calibration and validation inputs to INT8 model bytes and a report of what was done and why.
import { type CalibrationMethod, calibrateRanges } from './calibrate.js';
import { type Evaluation, type FallbackResult, accuracyAwareFallback } from './fallback.js';
import { type ModelProto, decodeModel, encodeModel, inputShape } from './onnx-model.js';
import { type ConvLayer, type TensorRange, calibrationTensors, convLayers, inputChannels, quantizeModel } from './qdq.js';
import { type ModelOutputs, type ValidationSample, compareOutputs, runModel } from './validate.js';

export interface QuantizeOptions {
  calibration: Float32Array[];
  validation: ValidationSample[];
  maxDiceDrop: number;
  /** Calibration methods to try; the one with the smaller Dice drop (all layers INT8) is kept. */
  methods?: CalibrationMethod[];
  percentile?: number;
  /** Convolutions with at most this many input channels stay FP32 (INT8 is slower there and gains nothing). */
  minInputChannels?: number;
  threads?: number;
  onProgress?(message: string): void;
}

export interface QuantizationReport {
  layers: number;
  quantized: string[];
  fp32: Array<{ layer: string; reason: string }>;
  calibration: { inputs: number; method: CalibrationMethod; percentile?: number; tried: Array<{ method: CalibrationMethod; evaluation: Evaluation }> };
  validation: { inputs: number; withReference: boolean; maxDiceDrop: number };
  fp32VsInt8: Evaluation;
  withinLimit: boolean;
  fallback: Pick<FallbackResult, 'ranking' | 'restored' | 'initial'>;
}

export interface QuantizeResult {
  model: Uint8Array;
  report: QuantizationReport;
}

function candidates(model: ModelProto, layers: ConvLayer[], minInputChannels: number): { quantizable: ConvLayer[]; kept: Array<{ layer: string; reason: string }> } {
  const kept: Array<{ layer: string; reason: string }> = [];
  const quantizable = layers.filter((l) => {
    const c = inputChannels(model, l);
    if (c > minInputChannels) return true;
    kept.push({ layer: l.name, reason: `${c} input channel${c === 1 ? '' : 's'}: INT8 gains nothing on so few channels` });
    return false;
  });
  return { quantizable, kept };
}

export async function quantize(fp32Bytes: Uint8Array, options: QuantizeOptions): Promise<QuantizeResult> {
  const log = options.onProgress ?? (() => {});
  const threads = options.threads ?? 1;
  const fp32 = decodeModel(fp32Bytes);
  const shape = inputShape(fp32);
  const layers = convLayers(fp32);
  const { quantizable, kept } = candidates(fp32, layers, options.minInputChannels ?? 2);
  const names = quantizable.map((l) => l.name);
  const tensors = calibrationTensors(quantizable);

  log(`FP32 reference outputs on ${options.validation.length} validation inputs`);
  const reference: ModelOutputs = await runModel(fp32Bytes, options.validation, shape, threads);
  const evaluateWith = (ranges: Map<string, TensorRange>) => async (quantized: string[]) =>
    compareOutputs(options.validation, reference, await runModel(quantizeModel(fp32, ranges, quantized), options.validation, shape, threads));

  const tried: QuantizationReport['calibration']['tried'] = [];
  let best: { method: CalibrationMethod; ranges: Map<string, TensorRange>; evaluation: Evaluation } | undefined;
  for (const method of options.methods ?? ['minmax', 'percentile']) {
    log(`calibrating (${method}) on ${options.calibration.length} inputs`);
    const ranges = await calibrateRanges(fp32, tensors, options.calibration, shape, { method, percentile: options.percentile, threads });
    const evaluation = await evaluateWith(ranges)(names);
    log(`  ${method}: Dice drop ${evaluation.diceDrop.toFixed(5)}, agreement ${evaluation.agreement.toFixed(5)}, output error ${evaluation.outputError.toExponential(2)}`);
    tried.push({ method, evaluation });
    if (!best || evaluation.diceDrop < best.evaluation.diceDrop || (evaluation.diceDrop === best.evaluation.diceDrop && evaluation.outputError < best.evaluation.outputError)) {
      best = { method, ranges, evaluation };
    }
  }
  const chosen = best!;
  const fallback = await accuracyAwareFallback({ candidates: names, maxDiceDrop: options.maxDiceDrop, evaluate: evaluateWith(chosen.ranges), onProgress: log });
  const model = encodeModel(quantizeModel(fp32, chosen.ranges, fallback.quantized));
  const report: QuantizationReport = {
    layers: layers.length,
    quantized: fallback.quantized,
    fp32: [
      ...kept,
      ...fallback.restored.map((s) => ({
        layer: s.layer,
        reason: `accuracy fallback: alone it costs Dice ${s.alone.diceDrop.toFixed(5)} (agreement ${s.alone.agreement.toFixed(5)}); the model's drop became ${s.after.diceDrop.toFixed(5)}`,
      })),
    ],
    calibration: { inputs: options.calibration.length, method: chosen.method, ...(chosen.method === 'percentile' ? { percentile: options.percentile ?? 0.9999 } : {}), tried },
    validation: { inputs: options.validation.length, withReference: options.validation.every((s) => s.reference), maxDiceDrop: options.maxDiceDrop },
    fp32VsInt8: fallback.final,
    withinLimit: fallback.withinLimit,
    fallback: { ranking: fallback.ranking, restored: fallback.restored, initial: fallback.initial },
  };
  return { model, report };
}
