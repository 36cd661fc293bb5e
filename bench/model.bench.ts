// Brain extraction network latency: ONNX Runtime (what the node runs) against the seed paper's 3D ResU-Net in
// PyTorch FP32 (the baseline), each on its own input grid (128³ for the reference, the model's grid for the
// shipped net) with 2 threads, measured in this run. The PyTorch side and
// the random-weight ONNX export of the reference come from training/bench_reference.py (Debian python3-torch);
// without it the ONNX Runtime numbers are still printed, without the ratio.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import '../src/ort-env.js';
import ort from 'onnxruntime-node';
import { resolveModel, shippedModelsDir } from '../src/pipeline/segmentation/model-files.js';

const execFileAsync = promisify(execFile);
const THREADS = 2;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** Median latency of `file` on an input of `dims` voxels (i, j, k). */
async function ortLatency(file: string, dims: [number, number, number] = [128, 128, 128]): Promise<{ median_ms: number; runs_ms: number[] }> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: THREADS, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' });
  const input = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let v = 0; v < input.length; v++) input[v] = (v * 2654435761) % 1000 / 1000;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, [1, 1, dims[2], dims[1], dims[0]]) };
  await session.run(feeds);
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    await session.run(feeds);
    runs.push(performance.now() - t0);
  }
  await session.release();
  runs.sort((a, b) => a - b);
  return { median_ms: Math.round(runs[Math.floor(runs.length / 2)]), runs_ms: runs.map(Math.round) };
}

export async function run(): Promise<Record<string, unknown>> {
  const repo = path.resolve(shippedModelsDir(), '..');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-model-bench-'));
  let pytorch: { models: Record<string, { median_ms: number; parameters: number; flops: number; onnx?: string }>; torch: string } | undefined;
  try {
    const { stdout } = await execFileAsync('/usr/bin/python3', [path.join(repo, 'training', 'bench_reference.py'), '--threads', String(THREADS), '--runs', String(RUNS), '--export-dir', tmp], { maxBuffer: 1 << 24 });
    pytorch = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
  } catch (error) {
    console.log(`PyTorch baseline unavailable (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); ONNX Runtime only`);
  }
  const shipped = resolveModel({ name: 'brainstrip-efficient', precision: 'FP32' });
  const rows: Array<{ what: string; median_ms: number; vs_pytorch_reference?: number }> = [];
  const baseline = pytorch?.models['resunet-reference']?.median_ms;
  const add = (what: string, ms: number) => rows.push({ what, median_ms: ms, vs_pytorch_reference: baseline ? Number((baseline / ms).toFixed(2)) : undefined });
  if (pytorch) {
    for (const [arch, m] of Object.entries(pytorch.models)) add(`PyTorch ${pytorch.torch} FP32 ${arch}`, m.median_ms);
    const ref = pytorch.models['resunet-reference']?.onnx;
    if (ref) add('ONNX Runtime FP32 resunet-reference', (await ortLatency(ref)).median_ms);
  }
  const efficient = await ortLatency(shipped.path, shipped.grid?.dims);
  add(`ONNX Runtime FP32 ${shipped.name} (shipped)`, efficient.median_ms);
  console.log(`threads ${THREADS}, ${RUNS} runs each (median); ratio = PyTorch reference time / this time`);
  console.table(rows);
  fs.rmSync(tmp, { recursive: true, force: true });
  return {
    threads: THREADS,
    runs: RUNS,
    rows,
    parameters: pytorch ? Object.fromEntries(Object.entries(pytorch.models).map(([k, m]) => [k, m.parameters])) : undefined,
    flops: pytorch ? Object.fromEntries(Object.entries(pytorch.models).map(([k, m]) => [k, m.flops])) : undefined,
  };
}
