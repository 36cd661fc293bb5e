// Brain extraction network latency by model variant and intra-op thread count (the seed paper's Fig. 3 and 5 on
// this machine): the shipped FP32 and INT8 files in models/, each timed in a process of its own by
// bench/quantization-variant.js (the node's session options, one warm-up, then the timed runs; its peak RSS is
// the variant's memory), at 1, 2 and — where the machine has them — 4 threads. Baselines measured in the same
// run: FP32 at the same thread count (INT8 speedup), one thread (thread scaling) and, outside quick mode, the seed
// paper's 3D ResU-Net in PyTorch FP32 (training/bench_reference.py, Debian python3-torch; left out with a note
// where it is absent).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveModel, shippedModelsDir } from '../src/pipeline/segmentation/model-files.js';
import { runVariant } from './harness/ort-variant.js';
import { type Stats, figure, ratio, summarize } from './report/measure.js';
import type { BarChartSpec, BenchOptions, BenchResult, Figure, LineChartSpec, Ratio } from './report/types.js';

const execFileAsync = promisify(execFile);

interface Timed {
  latency: Stats;
  peakRssMb: number;
}

/** One variant at one thread count, in a process of its own. */
async function ortVariant(model: string, threads: number, runs: number, shape: number[], input: string): Promise<Timed> {
  const r = await runVariant(model, threads, runs, shape, [input]);
  return { latency: summarize(r.latencyMs), peakRssMb: r.peakRssMb };
}

/** The seed paper's ResU-Net in PyTorch FP32 at `threads` (warm-up inside the script), peak RSS via /usr/bin/time. */
async function pytorchReference(repo: string, threads: number, runs: number): Promise<Timed & { torch: string }> {
  const args = ['-f', 'maxrss_kb=%M', '/usr/bin/python3', path.join(repo, 'training', 'bench_reference.py'), '--arch', 'resunet-reference', '--threads', String(threads), '--runs', String(runs)];
  const { stdout, stderr } = await execFileAsync('/usr/bin/time', args, { maxBuffer: 1 << 24 });
  const json = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { torch: string; models: Record<string, { runs_ms: number[] }> };
  return { latency: summarize(json.models['resunet-reference'].runs_ms), peakRssMb: Math.round(Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024), torch: json.torch };
}

export async function run(options: BenchOptions = { quick: false }): Promise<BenchResult> {
  const quick = options.quick;
  const runs = quick ? 3 : 7;
  const cores = os.cpus().length;
  const threadCounts = [1, 2, 4, 8].filter((t) => t === 1 || t <= (quick ? Math.min(2, cores) : cores));
  if (cores < 2 && !threadCounts.includes(2)) threadCounts.push(2);
  const repo = path.resolve(shippedModelsDir(), '..');
  const variants = (['FP32', 'INT8'] as const).map((precision) => ({ precision, entry: resolveModel({ name: 'brainstrip-efficient', precision }) }));
  const dims = variants[0].entry.grid?.dims ?? [128, 144, 128];
  const shape = [1, 1, dims[2], dims[1], dims[0]];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-model-bench-'));
  const notes = [
    `Input: a deterministic pseudo-random ${dims.join('×')} volume (the model grid); latency does not depend on the voxel values. ${runs} timed runs after one warm-up, each variant and thread count in a process of its own.`,
  ];
  const timed: Record<string, Record<number, Timed>> = {};
  try {
    const input = path.join(tmp, 'input.f32');
    const x = new Float32Array(dims[0] * dims[1] * dims[2]);
    for (let v = 0; v < x.length; v++) x[v] = ((v * 2654435761) % 1000) / 1000;
    fs.writeFileSync(input, x);
    for (const v of variants) {
      const label = `ONNX Runtime ${v.precision} ${v.entry.name} ${v.entry.version}`;
      timed[label] = {};
      for (const t of threadCounts) {
        console.log(`model: ${label}, ${t} thread(s)`);
        timed[label][t] = await ortVariant(v.entry.path, t, runs, shape, input);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const [fp32, int8] = Object.keys(timed);
  let reference: string | undefined;
  if (quick) notes.push('Quick mode: the PyTorch ResU-Net baseline is left out; INT8 is compared with FP32 and each thread count with one thread.');
  else {
    try {
      const row: Record<number, Timed> = {};
      let torch = '';
      for (const t of threadCounts) {
        console.log(`model: PyTorch reference ResU-Net, ${t} thread(s)`);
        const r = await pytorchReference(repo, t, runs);
        row[t] = r;
        torch = r.torch;
      }
      reference = `PyTorch ${torch} FP32 reference 3D ResU-Net (128³)`;
      timed[reference] = row;
    } catch (error) {
      notes.push(`PyTorch baseline unavailable (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); ONNX Runtime only.`);
    }
  }

  const figures: Figure[] = [];
  for (const [label, byThreads] of Object.entries(timed)) {
    for (const t of threadCounts) figures.push(figure(`${label}, ${t} thread${t === 1 ? '' : 's'}`, 'ms', byThreads[t].latency, 0));
  }
  for (const [label, byThreads] of Object.entries(timed)) {
    for (const t of threadCounts) figures.push(figure(`peak RSS ${label}, ${t} thread${t === 1 ? '' : 's'}`, 'MiB', [byThreads[t].peakRssMb], 0));
  }
  const ratios: Ratio[] = [];
  for (const t of threadCounts) ratios.push(ratio(`INT8 speedup, ${t} thread${t === 1 ? '' : 's'}`, timed[fp32][t].latency.median, timed[int8][t].latency.median, 'FP32 at the same thread count', 'FP32 time / INT8 time; above 1 is faster'));
  for (const label of [fp32, int8]) {
    for (const t of threadCounts.filter((n) => n > 1)) ratios.push(ratio(`thread scaling ${label.split(' ')[2]}, 1 → ${t}`, timed[label][1].latency.median, timed[label][t].latency.median, `${label.split(' ')[2]} at 1 thread`, '1-thread time / this time'));
  }
  if (reference) {
    for (const t of threadCounts) ratios.push(ratio(`INT8 against the PyTorch ResU-Net, ${t} thread${t === 1 ? '' : 's'}`, timed[reference][t].latency.median, timed[int8][t].latency.median, `${reference}, same thread count`, 'baseline time / INT8 time; above 1 is faster'));
  }
  const short = (label: string) => (label === reference ? 'PyTorch ResU-Net FP32' : `brainstrip-efficient ${label.split(' ')[2]}`);
  const latencyBars: BarChartSpec = {
    kind: 'bar',
    id: 'latency',
    title: 'Model latency per volume by variant and threads',
    unit: 'ms',
    log: Boolean(reference),
    bars: Object.entries(timed).flatMap(([label, byThreads]) => threadCounts.map((t) => ({ group: short(label), series: `${t} thread${t === 1 ? '' : 's'}`, median: byThreads[t].latency.median, min: byThreads[t].latency.min, max: byThreads[t].latency.max }))),
  };
  const scaling: LineChartSpec = {
    kind: 'line',
    id: 'threads',
    title: 'Model latency against intra-op threads',
    unit: 'ms',
    xLabel: 'threads',
    series: [fp32, int8].map((label) => ({ name: short(label), points: threadCounts.map((t) => ({ x: t, y: timed[label][t].latency.median, min: timed[label][t].latency.min, max: timed[label][t].latency.max })) })),
  };
  const memory: BarChartSpec = {
    kind: 'bar',
    id: 'memory',
    title: 'Peak RSS of a process running one variant',
    unit: 'MiB',
    bars: Object.entries(timed).flatMap(([label, byThreads]) => threadCounts.map((t) => ({ group: short(label), series: `${t} thread${t === 1 ? '' : 's'}`, median: byThreads[t].peakRssMb }))),
  };
  return {
    title: 'Model latency by variant and thread count',
    figures,
    ratios,
    charts: [latencyBars, scaling, memory],
    notes,
    extra: { threads: threadCounts, runs, grid: dims, models: Object.fromEntries(variants.map((v) => [v.precision, path.relative(repo, v.entry.path)])) },
  };
}
