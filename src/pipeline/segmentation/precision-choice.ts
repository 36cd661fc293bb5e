// Which precision of the model to run. Forced by the configuration (model.precision FP32 or INT8), or chosen by
// measurement ('auto'): INT8 is faster only on CPUs whose integer kernels pay (VNNI, AMX); on an AVX2-only CPU it is
// no faster and holds more memory, so the node times both on its own CPU when it starts and runs the faster.
import type { ModelPrecision } from '../../../config/sections/model.js';
import type { CpuDescription } from '../../cpu.js';

/**
 * INT8 is chosen only when it is faster than FP32 by more than this share: within it the two are equally fast
 * (a few runs on a shared machine differ that much), and then FP32 wins, being the reference and the smaller.
 */
export const INT8_MIN_GAIN = 0.05;

/** Milliseconds per inference by precision (the best of the timed runs); a precision that failed is absent. */
export type PrecisionTimings = Partial<Record<ModelPrecision, number>>;

/** What the node runs and why; shown in /health, on the operations page and in the log. */
export interface PrecisionChoice {
  /** model.precision as configured. */
  configured: 'auto' | ModelPrecision;
  /** The precision running. */
  precision: ModelPrecision;
  /**
   * 'configuration': forced (or the only file of the model); 'measurement': the faster on this CPU;
   * 'fallback': the measurement failed (`problem` says why) and the reference precision runs.
   */
  by: 'configuration' | 'measurement' | 'fallback';
  /** Milliseconds per inference on the model's input grid, by precision; present when measured. */
  milliseconds?: PrecisionTimings;
  /** Timed runs per precision, after one warm-up each. */
  runs?: number;
  /** ONNX Runtime threads per inference, as the workers run it. */
  intraOpThreads?: number;
  cpu: CpuDescription;
  problem?: string;
}

/** The faster of the measured precisions (FP32 unless INT8 gains more than INT8_MIN_GAIN); throws when none ran. */
export function fasterPrecision(timings: PrecisionTimings): ModelPrecision {
  const { FP32: fp32, INT8: int8 } = timings;
  if (fp32 === undefined && int8 === undefined) throw new Error('neither FP32 nor INT8 could be timed');
  if (int8 === undefined) return 'FP32';
  if (fp32 === undefined) return 'INT8';
  return int8 < fp32 * (1 - INT8_MIN_GAIN) ? 'INT8' : 'FP32';
}

/** The choice in words, for the log and the page: 'INT8, the faster on this CPU: INT8 252 ms, FP32 331 ms per inference at 2 threads'. */
export function describePrecisionChoice(choice: PrecisionChoice): string {
  const ms = choice.milliseconds ?? {};
  const timings = (['INT8', 'FP32'] as const)
    .filter((p) => ms[p] !== undefined)
    .map((p) => `${p} ${Math.round(ms[p]!)} ms`)
    .join(', ');
  const measured = timings ? `: ${timings} per inference at ${choice.intraOpThreads} thread${choice.intraOpThreads === 1 ? '' : 's'}` : '';
  if (choice.by === 'measurement') return `${choice.precision}, the faster on this CPU${measured}`;
  if (choice.by === 'fallback') return `${choice.precision}, since the timing failed (${choice.problem ?? 'no reason given'})${measured}`;
  return choice.configured === 'auto' ? `${choice.precision}, the only file of the model` : `${choice.precision}, as configured (model.precision)`;
}
