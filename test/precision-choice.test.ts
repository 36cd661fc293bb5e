// model.precision 'auto': of the timings a worker takes at start (injected here, never measured: a test must not
// depend on this machine's speed), the node runs the faster precision, falls back to the first file when the
// timing fails, and names the CPU and its instruction sets beside the figures. FP32 and INT8 force one file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { describeCpu } from '../src/cpu.js';
import { chooseModel } from '../src/jobs/processing/model-choice.js';
import type { Logger } from '../src/log.js';
import { modelCandidates, oneShotPrecision, shippedModelsDir } from '../src/pipeline/segmentation/model-files.js';
import { describePrecisionChoice, fasterPrecision } from '../src/pipeline/segmentation/precision-choice.js';
import type { PoolTasks } from '../src/pool/pool.js';

const shipped = { dir: '', name: 'brainstrip-efficient', verifyChecksums: false };

function recordingLog() {
  const lines: Array<[level: string, message: string]> = [];
  const log = { info: (m: string) => lines.push(['info', m]), warn: (m: string) => lines.push(['warn', m]) } as unknown as Logger;
  return { log, lines };
}

/** A pool whose precision trial answers what the test says (or fails), and remembers what it was asked. */
function trialPool(answer: PoolTasks['precision-trial']['result'] | Error) {
  const asked: Array<PoolTasks['precision-trial']['payload']> = [];
  const pool = {
    intraOpThreads: 2,
    run: async (task: string, payload: PoolTasks['precision-trial']['payload']) => {
      expect(task).toBe('precision-trial');
      asked.push(payload);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as never;
  return { pool, asked };
}

describe('the faster precision', () => {
  it('is INT8 only when it gains more than 5 % over FP32; FP32 on a tie', () => {
    expect(fasterPrecision({ FP32: 331, INT8: 252 })).toBe('INT8');
    expect(fasterPrecision({ FP32: 449, INT8: 449 })).toBe('FP32');
    expect(fasterPrecision({ FP32: 400, INT8: 385 })).toBe('FP32');
    expect(fasterPrecision({ FP32: 300, INT8: 340 })).toBe('FP32');
  });

  it('is the one that ran when the other failed, and none when neither ran', () => {
    expect(fasterPrecision({ INT8: 900 })).toBe('INT8');
    expect(fasterPrecision({ FP32: 900 })).toBe('FP32');
    expect(() => fasterPrecision({})).toThrow(/neither FP32 nor INT8/);
  });
});

describe('choosing the model file at start', () => {
  const both = modelCandidates({ ...shipped, precision: 'auto' });

  it("times both files under 'auto', runs the faster, and logs both figures with the CPU", async () => {
    const { pool, asked } = trialPool({ milliseconds: { FP32: 331, INT8: 252 }, failures: {}, precision: 'INT8' });
    const { log, lines } = recordingLog();
    const { model, choice } = await chooseModel(pool, both, 'auto', log);
    expect(asked[0]).toMatchObject({ intraOpThreads: 2, runs: 2, models: [{ precision: 'FP32' }, { precision: 'INT8' }] });
    expect(model.precision).toBe('INT8');
    expect(model.path).toBe(both.find((m) => m.precision === 'INT8')!.path);
    expect(choice).toMatchObject({ configured: 'auto', precision: 'INT8', by: 'measurement', milliseconds: { FP32: 331, INT8: 252 }, intraOpThreads: 2, runs: 2 });
    expect(choice.cpu.name).not.toBe('');
    expect(lines).toEqual([['info', expect.stringContaining('runs INT8, the faster on this CPU: INT8 252 ms, FP32 331 ms per inference at 2 threads; CPU ')]]);
    expect(lines[0][1]).toContain(choice.cpu.name);
  });

  it('runs the first file (FP32) with a warning when the timing fails', async () => {
    const { pool } = trialPool(new Error('INT8: cannot load'));
    const { log, lines } = recordingLog();
    const { model, choice } = await chooseModel(pool, both, 'auto', log);
    expect(model.precision).toBe('FP32');
    expect(choice).toMatchObject({ precision: 'FP32', by: 'fallback', problem: 'INT8: cannot load' });
    expect(lines[0][0]).toBe('warn');
    expect(describePrecisionChoice(choice)).toBe('FP32, since the timing failed (INT8: cannot load)');
  });

  it('times nothing when the precision is forced', async () => {
    for (const precision of ['FP32', 'INT8'] as const) {
      const forced = modelCandidates({ ...shipped, precision });
      expect(forced.map((m) => m.precision)).toEqual([precision]);
      const { pool, asked } = trialPool(new Error('not to be called'));
      const { choice } = await chooseModel(pool, forced, precision, recordingLog().log);
      expect(asked).toHaveLength(0);
      expect(choice).toMatchObject({ configured: precision, precision, by: 'configuration' });
      expect(choice.milliseconds).toBeUndefined();
    }
  });
});

describe('the model files a precision allows', () => {
  it("lists both under 'auto' (the default), one when forced, and refuses anything else", () => {
    expect(loadConfig({}).model.precision).toBe('auto');
    expect(loadConfig({ overrides: { model: { precision: 'FP32' } } }).model.precision).toBe('FP32');
    expect(modelCandidates({ ...shipped, precision: 'auto' }).map((m) => m.precision)).toEqual(['FP32', 'INT8']);
    expect(() => modelCandidates({ ...shipped, precision: 'fp16' })).toThrow(/model.precision must be auto, FP32 or INT8, not 'fp16'/);
    expect(oneShotPrecision('auto')).toBe('INT8');
    expect(oneShotPrecision('FP32')).toBe('FP32');
  });

  it("takes the only file under 'auto' when checksums.json lists one precision", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-precision-'));
    try {
      const sums = JSON.parse(fs.readFileSync(path.join(shippedModelsDir(), 'checksums.json'), 'utf8'));
      sums.models = sums.models.filter((m: { precision: string }) => m.precision === 'FP32');
      fs.writeFileSync(path.join(dir, 'checksums.json'), JSON.stringify(sums));
      expect(modelCandidates({ ...shipped, dir, precision: 'auto' }).map((m) => m.precision)).toEqual(['FP32']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the CPU beside a timing', () => {
  it('names the CPU and the instruction sets that decide INT8 speed, from /proc/cpuinfo', () => {
    const cpuinfo = 'processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu sse avx2 avx512f avx512_vnni amx_bf16 amx_tile amx_int8 avx512_bf16\n';
    const cpu = describeCpu(cpuinfo);
    expect(cpu.name).toBe('Intel(R) Xeon(R) Platinum 8480+');
    expect(cpu.instructionSets).toEqual(['avx2', 'avx512f', 'avx512_vnni', 'amx_int8', 'avx512_bf16', 'amx_bf16']);
    expect(describeCpu('model name\t: AMD EPYC 7B13\nflags\t\t: sse avx avx2 fma\n').instructionSets).toEqual(['avx2']);
  });
});
