// Where INT8 pays in the efficient net: the same architecture with 16 channels (the 2.0 design) and with 32
// channels at its first level, at half the model grid's resolution, where most of its time goes. Each is exported
// with random weights (training/bench_reference.py: latency does not depend on the weights), quantized as
// `brainstrip quantize` does (every convolution INT8 but the one-channel stem), and FP32 and INT8 are timed at 1 and
// 2 threads, each in a process of its own. Baseline in the same run: each net's own FP32 at the same thread count.
// The 1-thread operator profiles split the time into the first level's convolutions, the coarser levels'
// convolutions and everything else (layout transposes, quantize/dequantize, additions, upsampling).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../config/schema.js';
import { registrationOptionsFromConfig } from '../src/pipeline/registration/index.js';
import { loadAtlas } from '../src/pipeline/segmentation/atlas.js';
import { resolveModel, shippedModelsDir } from '../src/pipeline/segmentation/model-files.js';
import { quantize } from '../src/tools/quantize/index.js';
import { listInputs, prepareInputs } from '../src/tools/quantize/inputs.js';
import { type NodeTime, readProfile } from '../src/tools/quantize/profile.js';
import { runVariant } from './harness/ort-variant.js';
import { writeQuantizationData } from './quantization-data.js';
import { figure, ratio, summarize } from './report/measure.js';
import type { BarChartSpec, BenchOptions, BenchResult, Figure, Ratio, Table } from './report/types.js';

const execFileAsync = promisify(execFile);
const ARCHITECTURES = [
  { arch: 'efficient-image', label: '16 channels at the first level' },
  { arch: 'efficient-image-32', label: '32 channels at the first level' },
];
const CONVOLUTIONS = new Set(['Conv', 'FusedConv', 'QLinearConv', 'NhwcFusedConv', 'ConvInteger']);

/** Which part of the net a profiled node belongs to, from the layer path ONNX export keeps in its name. */
export function netPart(node: NodeTime, lastDecoder: number): 'first level' | 'coarser levels' | 'other' {
  if (!CONVOLUTIONS.has(node.op)) return 'other';
  const firstLevel = new RegExp(`^/(stem|enc\\.0|dec\\.${lastDecoder}|head)/`);
  return firstLevel.test(node.node) ? 'first level' : 'coarser levels';
}

function profileParts(file: string): Record<string, number> {
  const { nodes } = readProfile(file);
  const lastDecoder = Math.max(...nodes.map((n) => Number(/^\/dec\.(\d+)\//.exec(n.node)?.[1] ?? -1)));
  const parts: Record<string, number> = { 'first level': 0, 'coarser levels': 0, other: 0 };
  for (const n of nodes) parts[netPart(n, lastDecoder)] += n.msPerRun;
  return parts;
}

function newestFile(prefix: string): string {
  const dir = path.dirname(prefix);
  const found = fs
    .readdirSync(dir)
    .filter((n) => n.startsWith(path.basename(prefix)) && n.endsWith('.json'))
    .sort()
    .pop();
  if (!found) throw new Error(`no profile written under ${prefix}`);
  return path.join(dir, found);
}

export async function run(options: BenchOptions = { quick: false }): Promise<BenchResult> {
  const title = 'INT8 against FP32 by the width of the first level (16 or 32 channels), random weights';
  if (options.quick) return { title, figures: [], ratios: [], skipped: 'left out of quick runs: it exports two nets with PyTorch and quantizes both (minutes)' };
  try {
    await execFileAsync('/usr/bin/python3', ['-c', 'import torch']);
  } catch {
    return { title, figures: [], ratios: [], skipped: 'needs PyTorch to export the nets (Debian python3-torch)' };
  }
  const runs = 7;
  const threadCounts = [1, 2];
  const repo = path.resolve(shippedModelsDir(), '..');
  const shipped = resolveModel({ name: 'brainstrip-efficient', precision: 'FP32', verify: false });
  const atlas = loadAtlas();
  const grid = shipped.grid ?? atlas.grid;
  const shape = [1, 1, grid.dims[2], grid.dims[1], grid.dims[0]];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-int8-width-'));
  try {
    const archArgs = ARCHITECTURES.flatMap((a) => ['--arch', a.arch]);
    const { stdout } = await execFileAsync('/usr/bin/python3', [path.join(repo, 'training', 'bench_reference.py'), ...archArgs, '--runs', '0', '--threads', '2', '--export-dir', tmp, '--shape', shape.slice(2).join(',')], { maxBuffer: 1 << 24 });
    const exported = (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { models: Record<string, { onnx: string; parameters: number; flops: number }> }).models;

    // Calibration images as the quantizer gets them (rendered label maps through registration onto the grid).
    const data = writeQuantizationData({ out: path.join(repo, 'var', 'quantization-data'), quick: true });
    const registration = registrationOptionsFromConfig(loadConfig({}).registration);
    const calibration = await prepareInputs(listInputs(data.calibration), { atlas, grid, registration });
    const input = path.join(tmp, 'input.f32');
    fs.writeFileSync(input, calibration[0].input);

    const timed: Record<string, Record<number, number[]>> = {};
    const peakRss: Record<string, number> = {};
    const parts: Record<string, Record<string, number>> = {};
    const convolutions: Record<string, string> = {};
    for (const a of ARCHITECTURES) {
      const fp32 = exported[a.arch].onnx;
      const { model, report } = await quantize(new Uint8Array(fs.readFileSync(fp32)), {
        calibration: calibration.map((s) => s.input),
        validation: calibration.map((s) => ({ name: s.name, input: s.input })),
        maxDiceDrop: 1,
        methods: ['minmax'],
      });
      const int8 = path.join(tmp, `${a.arch}-int8.onnx`);
      fs.writeFileSync(int8, model);
      convolutions[a.arch] = `${report.quantized.length} of ${report.layers} convolutions INT8`;
      for (const [precision, file] of [['FP32', fp32], ['INT8', int8]] as const) {
        const key = `${a.arch} ${precision}`;
        timed[key] = {};
        for (const t of threadCounts) {
          console.log(`int8-width: ${a.label}, ${precision}, ${t} thread(s)`);
          const profile = t === 1 ? path.join(tmp, `profile-${a.arch}-${precision}`) : undefined;
          const r = await runVariant(file, t, runs, shape, [input], { profile });
          timed[key][t] = r.latencyMs;
          if (t === 2) peakRss[key] = r.peakRssMb;
          if (profile) parts[key] = profileParts(newestFile(profile));
        }
      }
    }

    const figures: Figure[] = [];
    const ratios: Ratio[] = [];
    for (const a of ARCHITECTURES) {
      for (const precision of ['FP32', 'INT8']) {
        for (const t of threadCounts) figures.push(figure(`${a.label}, ${precision}, ${t} thread${t === 1 ? '' : 's'}`, 'ms', timed[`${a.arch} ${precision}`][t], 0));
      }
      for (const t of threadCounts) {
        ratios.push(ratio(`INT8 speedup, ${a.label}, ${t} thread${t === 1 ? '' : 's'}`, summarize(timed[`${a.arch} FP32`][t]).median, summarize(timed[`${a.arch} INT8`][t]).median, `the same net in FP32 at ${t} thread${t === 1 ? '' : 's'}`, 'FP32 time / INT8 time; above 1 is faster'));
      }
    }
    const [narrow, wide] = ARCHITECTURES.map((a) => a.arch);
    ratios.push(ratio('INT8 time, 32 channels / 16 channels, 2 threads', summarize(timed[`${wide} INT8`][2]).median, summarize(timed[`${narrow} INT8`][2]).median, 'the 16-channel net in INT8 at 2 threads', 'above 1: the wider net takes that much longer'));
    const profileTable: Table = {
      title: 'Operator profile at 1 thread (ms per inference)',
      columns: ['net', 'precision', 'first-level convolutions', 'coarser-level convolutions', 'everything else', 'total'],
      rows: ARCHITECTURES.flatMap((a) =>
        (['FP32', 'INT8'] as const).map((precision) => {
          const p = parts[`${a.arch} ${precision}`];
          const total = p['first level'] + p['coarser levels'] + p.other;
          return [a.label, precision, Number(p['first level'].toFixed(1)), Number(p['coarser levels'].toFixed(1)), Number(p.other.toFixed(1)), Number(total.toFixed(1))];
        }),
      ),
    };
    const gainTable: Table = {
      title: 'INT8 gain by part of the net (FP32 ms / INT8 ms, 1-thread profiles)',
      columns: ['net', 'first-level convolutions', 'coarser-level convolutions', 'everything else'],
      rows: ARCHITECTURES.map((a) => {
        const f = parts[`${a.arch} FP32`];
        const q = parts[`${a.arch} INT8`];
        return [a.label, Number((f['first level'] / q['first level']).toFixed(2)), Number((f['coarser levels'] / q['coarser levels']).toFixed(2)), Number((f.other / q.other).toFixed(2))];
      }),
    };
    const chart: BarChartSpec = {
      kind: 'bar',
      id: 'latency',
      title: 'Network latency by first-level width and precision',
      unit: 'ms',
      bars: ARCHITECTURES.flatMap((a) =>
        (['FP32', 'INT8'] as const).flatMap((precision) =>
          threadCounts.map((t) => {
            const s = summarize(timed[`${a.arch} ${precision}`][t]);
            return { group: `${a.label}, ${precision}`, series: `${t} thread${t === 1 ? '' : 's'}`, median: s.median, min: s.min, max: s.max };
          }),
        ),
      ),
    };
    return {
      title,
      figures,
      ratios,
      tables: [profileTable, gainTable],
      charts: [chart],
      notes: [
        `Both nets on the shipped model grid (${grid.dims.join('×')}), one calibration image rendered from a training label map as input; ${runs} timed runs after a warm-up, each in a process of its own. ${ARCHITECTURES.map((a) => `${a.label}: ${(exported[a.arch].parameters / 1e6).toFixed(2)} M parameters, ${(exported[a.arch].flops / 1e9).toFixed(0)} GFLOP, ${convolutions[a.arch]}, peak RSS FP32 ${peakRss[`${a.arch} FP32`]} / INT8 ${peakRss[`${a.arch} INT8`]} MiB at 2 threads`).join('; ')}.`,
      ],
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
