// Post-training INT8 quantization of a brain extraction model, from FP32 model bytes and preprocessed
// calibration and validation inputs to INT8 model bytes and a report of what was done and why.
import { type CpuDescription, cpuWords, describeCpu } from '../../cpu.js';
import { type CalibrationMethod, calibrateRanges } from './calibrate.js';
import { type Evaluation, type FallbackResult, accuracyAwareFallback } from './fallback.js';
import { type ModelProto, decodeModel, encodeModel, inputShape } from './onnx-model.js';
import { medianLatencyMs, nodeTime, profileModel } from './profile.js';
import { type ConvLayer, type TensorRange, calibrationTensors, convLayers, elementwiseSteps, inputChannels, quantizeModel } from './qdq.js';
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
  /**
   * After the accuracy fallback, profile FP32 and INT8 on this CPU and return to FP32 the convolutions whose
   * integer kernel is slower (without VNNI, narrow layers often are), if the whole model then runs faster.
   */
  speedCheck?: boolean;
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
  /** Its timings are this CPU's only: `cpu` names it and its instruction sets. */
  speedCheck?: { cpu: CpuDescription; threads: number; layers: Array<{ layer: string; fp32Ms: number; int8Ms: number }>; beforeMs: number; afterMs: number; applied: boolean };
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
    kept.push({ layer: l.name, reason: `${c} input channel${c === 1 ? '' : 's'}: ONNX Runtime's INT8 kernels are slower than FP32 on so few input channels` });
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
  const tensors = calibrationTensors(quantizable, elementwiseSteps(fp32).additions);

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
  let quantized = fallback.quantized;
  let final = fallback.final;
  let speedCheck: QuantizationReport['speedCheck'];
  if (options.speedCheck && quantized.length) {
    const cpu = describeCpu();
    const on = `on ${cpuWords(cpu)}, ${threads} thread${threads === 1 ? '' : 's'}`;
    const input = options.calibration[0];
    const int8 = encodeModel(quantizeModel(fp32, chosen.ranges, quantized));
    const before = await profileModel(fp32Bytes, input, shape, { threads });
    const after = await profileModel(int8, input, shape, { threads });
    const layersTimed = quantized.flatMap((layer) => {
      const fp32Ms = nodeTime(before, layer);
      const int8Ms = nodeTime(after, layer);
      return fp32Ms !== undefined && int8Ms !== undefined && int8Ms > 1.1 * fp32Ms ? [{ layer, fp32Ms, int8Ms }] : [];
    });
    if (layersTimed.length) {
      const fewer = quantized.filter((l) => !layersTimed.some((s) => s.layer === l));
      const candidate = encodeModel(quantizeModel(fp32, chosen.ranges, fewer));
      const beforeMs = await medianLatencyMs(int8, input, shape, { threads });
      const afterMs = await medianLatencyMs(candidate, input, shape, { threads });
      const applied = afterMs < beforeMs;
      log(`speed check: ${layersTimed.map((s) => s.layer).join(', ')} slower in INT8; model ${beforeMs.toFixed(0)} ms → ${afterMs.toFixed(0)} ms without them ${on} (${applied ? 'applied' : 'not applied'})`);
      if (applied) {
        quantized = fewer;
        final = await evaluateWith(chosen.ranges)(quantized);
      }
      speedCheck = { cpu, threads, layers: layersTimed, beforeMs, afterMs, applied };
    } else log(`speed check: no convolution slower in INT8 than in FP32 ${on}`);
  }
  const model = encodeModel(quantizeModel(fp32, chosen.ranges, quantized));
  const report: QuantizationReport = {
    layers: layers.length,
    quantized,
    fp32: [
      ...kept,
      ...fallback.restored.map((s) => ({
        layer: s.layer,
        reason: `accuracy fallback: alone it costs Dice ${s.alone.diceDrop.toFixed(5)} (agreement ${s.alone.agreement.toFixed(5)}); the model's drop became ${s.after.diceDrop.toFixed(5)}`,
      })),
      ...(speedCheck?.applied
        ? speedCheck.layers.map((s) => ({ layer: s.layer, reason: `speed check: ${s.int8Ms.toFixed(1)} ms in INT8 against ${s.fp32Ms.toFixed(1)} ms in FP32 on ${cpuWords(speedCheck!.cpu)}` }))
        : []),
    ],
    calibration: { inputs: options.calibration.length, method: chosen.method, ...(chosen.method === 'percentile' ? { percentile: options.percentile ?? 0.9999 } : {}), tried },
    validation: { inputs: options.validation.length, withReference: options.validation.every((s) => s.reference), maxDiceDrop: options.maxDiceDrop },
    fp32VsInt8: final,
    withinLimit: final.diceDrop <= options.maxDiceDrop,
    ...(speedCheck ? { speedCheck } : {}),
    fallback: { ranking: fallback.ranking, restored: fallback.restored, initial: fallback.initial },
  };
  return { model, report };
}
