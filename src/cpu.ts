// The CPU a timing was taken on, in one place: its name and the instruction sets that decide how fast ONNX Runtime
// runs FP32 and INT8 (VNNI and AMX make INT8 pay; without them INT8 is no faster). Every figure the node, the
// quantizer or the bench reports is only comparable on the same CPU, so each names it with these words.
import fs from 'node:fs';
import os from 'node:os';

/** The flags of /proc/cpuinfo that matter for the model's speed, in the order they are named. */
export const MODEL_INSTRUCTION_SETS = ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8', 'avx512_bf16', 'amx_bf16'] as const;

export interface CpuDescription {
  /** e.g. 'Intel(R) Xeon(R) Platinum 8480+' */
  name: string;
  /** Cores this process may use. */
  cores: number;
  /** Those of MODEL_INSTRUCTION_SETS the CPU has. */
  instructionSets: string[];
}

/** Reads the CPU from /proc/cpuinfo (its text may be given, for tests); elsewhere the name only, from Node.js. */
export function describeCpu(cpuinfo?: string): CpuDescription {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      text = '';
    }
  }
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1].trim();
  const flags = new Set((field('flags') ?? '').split(/\s+/));
  return {
    name: field('model name') || os.cpus()[0]?.model?.trim() || 'unknown CPU',
    cores: os.availableParallelism(),
    instructionSets: MODEL_INSTRUCTION_SETS.filter((f) => flags.has(f)),
  };
}

/** The CPU in words, to stand beside a timing: 'Intel(R) Xeon(R) Processor, 2 cores (avx2, avx512f, avx512_vnni)'. */
export function cpuWords(cpu: CpuDescription): string {
  return `${cpu.name}, ${cpu.cores} core${cpu.cores === 1 ? '' : 's'} (${cpu.instructionSets.join(', ') || `none of ${MODEL_INSTRUCTION_SETS.join(', ')}`})`;
}
