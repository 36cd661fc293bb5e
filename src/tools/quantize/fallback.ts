// Accuracy-aware fallback (OpenVINO's AccuracyAware method, as the seed paper uses it): quantize every candidate
// layer; while the accuracy drop exceeds the limit, return to FP32 the layer that does the most damage when it
// alone is quantized, and measure again. The ranking is measured once, against the FP32 model.

export interface Evaluation {
  /** Accuracy lost against the FP32 model (mean Dice against the references, or 1 − Dice with the FP32 masks). */
  diceDrop: number;
  /** Mean Dice between the quantized and the FP32 masks. */
  agreement: number;
  /** Mean absolute difference of the outputs (breaks ties between layers that flip no voxel). */
  outputError: number;
}

export interface FallbackStep {
  layer: string;
  /** Damage of this layer quantized alone. */
  alone: Evaluation;
  /** The whole model after this layer went back to FP32. */
  after: Evaluation;
}

export interface FallbackResult {
  quantized: string[];
  /** Layers returned to FP32 by the fallback, worst first, with the measurements that sent them back. */
  restored: FallbackStep[];
  initial: Evaluation;
  final: Evaluation;
  ranking: Array<{ layer: string; alone: Evaluation }>;
  withinLimit: boolean;
}

export interface FallbackOptions {
  candidates: string[];
  maxDiceDrop: number;
  /** Measures the model with exactly `quantized` layers in INT8 (the rest FP32). */
  evaluate(quantized: string[]): Promise<Evaluation>;
  onProgress?(message: string): void;
}

/** Larger is worse: a layer that changes masks more ranks above one that only moves the outputs. */
export function damageOrder(a: Evaluation, b: Evaluation): number {
  return b.diceDrop - a.diceDrop || a.agreement - b.agreement || b.outputError - a.outputError;
}

export async function accuracyAwareFallback(options: FallbackOptions): Promise<FallbackResult> {
  const { candidates, maxDiceDrop, evaluate } = options;
  const log = options.onProgress ?? (() => {});
  const quantized = [...candidates];
  const initial = await evaluate(quantized);
  log(`all ${quantized.length} layers INT8: Dice drop ${initial.diceDrop.toFixed(5)}, agreement ${initial.agreement.toFixed(5)}`);
  const result: FallbackResult = { quantized, restored: [], initial, final: initial, ranking: [], withinLimit: initial.diceDrop <= maxDiceDrop };
  if (result.withinLimit) return result;

  for (const layer of candidates) {
    const alone = await evaluate([layer]);
    result.ranking.push({ layer, alone });
    log(`  ${layer} alone: Dice drop ${alone.diceDrop.toFixed(5)}, agreement ${alone.agreement.toFixed(5)}, output error ${alone.outputError.toExponential(2)}`);
  }
  result.ranking.sort((a, b) => damageOrder(a.alone, b.alone));

  let current = initial;
  for (const { layer, alone } of result.ranking) {
    if (current.diceDrop <= maxDiceDrop) break;
    quantized.splice(quantized.indexOf(layer), 1);
    current = await evaluate(quantized);
    result.restored.push({ layer, alone, after: current });
    log(`${layer} back to FP32: Dice drop ${current.diceDrop.toFixed(5)}`);
  }
  result.final = current;
  result.withinLimit = current.diceDrop <= maxDiceDrop;
  return result;
}
