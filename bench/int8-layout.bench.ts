// Where INT8 pays in the efficient net, by the ONNX layout of its first level (half the model grid, where most of
// its time goes) and by that level's width. Layouts: the net as trained, 3-D convolutions throughout (the graph of
// models up to 2.0.1), and the sliced layout the shipped model is exported in (training/onnx_layout.py: the first
// level as 2-D convolutions over its depth slices, the same function). Widths: 16 channels (the shipped design) and
// 32. Each net is exported with random weights (training/bench_reference.py: latency does not depend on the
// weights), quantized as `brainstrip quantize` does (every convolution INT8 but the one-channel stem), and FP32 and
// INT8 are timed at 1 and 2 threads, each in a process of its own. Baselines in the same run: each graph's own
// FP32 at the same thread count, and the 3-D graph of the same width. The 1-thread operator profiles split the time
// into the first level's convolutions, the coarser levels' convolutions and everything else (layout transposes,
// quantize/dequantize, additions, the zero-row mask, upsampling).
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
const WIDTHS = [
  { arch: 'efficient-image', label: '16 channels' },
  { arch: 'efficient-image-32', label: '32 channels' },
];
const LAYOUTS = [
  { layout: '3d', label: '3-D' },
  { layout: 'sliced', label: 'sliced' },
];
const PRECISIONS = ['FP32', 'INT8'] as const;
const CONVOLUTIONS = new Set(['Conv', 'FusedConv', 'QLinearConv', 'NhwcFusedConv', 'ConvInteger']);

type Part = 'first level' | 'coarser levels' | 'other';

/**
 * Which part of the net a profiled node belongs to, from the layer path ONNX export keeps in its name: the first
 * level is the stem, the head and the first encoder and last decoder blocks (`enc.0` and `dec.<lastDecoder>` in
 * the 3-D graph, `enc` and `dec` in the sliced one).
 */
export function netPart(node: NodeTime, lastDecoder: number): Part {
  if (!CONVOLUTIONS.has(node.op)) return 'other';
  const firstLevel = new RegExp(`^/(stem|head|enc|dec|enc\\.0|dec\\.${lastDecoder})/`);
  return firstLevel.test(node.node) ? 'first level' : 'coarser levels';
}

/** The last decoder block of a net is the one with as many levels below it as there are downsamplings. */
export function lastDecoderOf(nodes: NodeTime[]): number {
  return Math.max(...nodes.map((n) => Number(/^\/down\.(\d+)\//.exec(n.node)?.[1] ?? -1)));
}

function profileParts(file: string): Record<Part, number> {
  const { nodes } = readProfile(file);
  const lastDecoder = lastDecoderOf(nodes);
  const parts: Record<Part, number> = { 'first level': 0, 'coarser levels': 0, other: 0 };
  for (const n of nodes) parts[netPart(n, lastDecoder)] += n.msPerRun;
  return parts;
}

const threadWord = (t: number) => `${t} thread${t === 1 ? '' : 's'}`;

export async function run(options: BenchOptions = { quick: false }): Promise<BenchResult> {
  const title = 'INT8 against FP32 by the layout (3-D or sliced) and width (16 or 32 channels) of the first level, random weights';
  if (options.quick) return { title, figures: [], ratios: [], skipped: 'left out of quick runs: it exports four nets with PyTorch and quantizes each (minutes)' };
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
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-int8-layout-'));
  try {
    const exported: Record<string, { onnx: string; parameters: number; flops: number }> = {};
    for (const l of LAYOUTS) {
      const args = [path.join(repo, 'training', 'bench_reference.py'), ...WIDTHS.flatMap((w) => ['--arch', w.arch]), '--runs', '0', '--threads', '2', '--export-dir', tmp, '--shape', shape.slice(2).join(','), '--layout', l.layout];
      const { stdout } = await execFileAsync('/usr/bin/python3', args, { maxBuffer: 1 << 24 });
      const models = (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { models: Record<string, { onnx: string; parameters: number; flops: number }> }).models;
      for (const w of WIDTHS) exported[`${w.arch} ${l.layout}`] = models[w.arch];
    }

    // Calibration images as the quantizer gets them (rendered label maps through registration onto the grid).
    const data = writeQuantizationData({ out: path.join(repo, 'var', 'quantization-data'), quick: true });
    const registration = registrationOptionsFromConfig(loadConfig({}).registration);
    const calibration = await prepareInputs(listInputs(data.calibration), { atlas, grid, registration });
    const input = path.join(tmp, 'input.f32');
    fs.writeFileSync(input, calibration[0].input);

    const variants = WIDTHS.flatMap((w) => LAYOUTS.map((l) => ({ key: `${w.arch} ${l.layout}`, label: `${w.label}, ${l.label}`, width: w, layout: l })));
    const timed: Record<string, Record<number, number[]>> = {};
    const peakRss: Record<string, number> = {};
    const parts: Record<string, Record<Part, number>> = {};
    const convolutions: Record<string, string> = {};
    for (const v of variants) {
      const fp32 = exported[v.key].onnx;
      const { model, report } = await quantize(new Uint8Array(fs.readFileSync(fp32)), {
        calibration: calibration.map((s) => s.input),
        validation: calibration.map((s) => ({ name: s.name, input: s.input })),
        maxDiceDrop: 1,
        methods: ['minmax'],
      });
      const int8 = path.join(tmp, `${v.key.replace(' ', '-')}-int8.onnx`);
      fs.writeFileSync(int8, model);
      convolutions[v.key] = `${report.quantized.length} of ${report.layers} convolutions INT8`;
      for (const [precision, file] of [['FP32', fp32], ['INT8', int8]] as const) {
        const key = `${v.key} ${precision}`;
        timed[key] = {};
        for (const t of threadCounts) {
          console.log(`int8-layout: ${v.label}, ${precision}, ${threadWord(t)}`);
          const profile = t === 1 ? path.join(tmp, `profile-${v.key.replace(' ', '-')}-${precision}`) : undefined;
          const r = await runVariant(file, t, runs, shape, [input], { profile });
          timed[key][t] = r.latencyMs;
          if (t === 2) peakRss[key] = r.peakRssMb;
          if (r.profileFile) parts[key] = profileParts(r.profileFile);
        }
      }
    }

    const median = (key: string, t: number) => summarize(timed[key][t]).median;
    const figures: Figure[] = [];
    const ratios: Ratio[] = [];
    for (const v of variants) {
      for (const precision of PRECISIONS) {
        for (const t of threadCounts) figures.push(figure(`${v.label}, ${precision}, ${threadWord(t)}`, 'ms', timed[`${v.key} ${precision}`][t], 0));
      }
      for (const t of threadCounts) {
        ratios.push(ratio(`INT8 speedup, ${v.label}, ${threadWord(t)}`, median(`${v.key} FP32`, t), median(`${v.key} INT8`, t), `the same graph in FP32 at ${threadWord(t)}`, 'FP32 time / INT8 time; above 1 is faster'));
      }
    }
    for (const w of WIDTHS) {
      for (const precision of PRECISIONS) {
        ratios.push(ratio(`sliced against 3-D, ${w.label}, ${precision}, 2 threads`, median(`${w.arch} 3d ${precision}`, 2), median(`${w.arch} sliced ${precision}`, 2), `the 3-D graph of the same net in ${precision} at 2 threads`, '3-D time / sliced time; above 1 is faster'));
      }
      ratios.push(ratio(`sliced INT8 against 3-D FP32, ${w.label}, 2 threads`, median(`${w.arch} 3d FP32`, 2), median(`${w.arch} sliced INT8`, 2), 'the 3-D graph of the same net in FP32 at 2 threads', '3-D FP32 time / sliced INT8 time; above 1 is faster'));
    }
    const profileTable: Table = {
      title: 'Operator profile at 1 thread (ms per inference)',
      columns: ['net', 'precision', 'first-level convolutions', 'coarser-level convolutions', 'everything else', 'total'],
      rows: variants.flatMap((v) =>
        PRECISIONS.map((precision) => {
          const p = parts[`${v.key} ${precision}`];
          const total = p['first level'] + p['coarser levels'] + p.other;
          return [v.label, precision, Number(p['first level'].toFixed(1)), Number(p['coarser levels'].toFixed(1)), Number(p.other.toFixed(1)), Number(total.toFixed(1))];
        }),
      ),
    };
    const gainTable: Table = {
      title: 'INT8 gain by part of the net (FP32 ms / INT8 ms, 1-thread profiles)',
      columns: ['net', 'first-level convolutions', 'coarser-level convolutions', 'everything else'],
      rows: variants.map((v) => {
        const f = parts[`${v.key} FP32`];
        const q = parts[`${v.key} INT8`];
        return [v.label, Number((f['first level'] / q['first level']).toFixed(2)), Number((f['coarser levels'] / q['coarser levels']).toFixed(2)), Number((f.other / q.other).toFixed(2))];
      }),
    };
    const chart: BarChartSpec = {
      kind: 'bar',
      id: 'latency',
      title: 'Network latency by first-level layout, width and precision',
      unit: 'ms',
      bars: variants.flatMap((v) =>
        PRECISIONS.flatMap((precision) =>
          threadCounts.map((t) => {
            const s = summarize(timed[`${v.key} ${precision}`][t]);
            return { group: `${v.label}, ${precision}`, series: threadWord(t), median: s.median, min: s.min, max: s.max };
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
        `All nets on the shipped model grid (${grid.dims.join('×')}), one calibration image rendered from a training label map as input; ${runs} timed runs after a warm-up, each in a process of its own.`,
        ...variants.map((v) => `${v.label}: ${(exported[v.key].parameters / 1e6).toFixed(2)} M parameters, ${(exported[v.key].flops / 1e9).toFixed(0)} GFLOP, ${convolutions[v.key]}, peak RSS FP32 ${peakRss[`${v.key} FP32`]} / INT8 ${peakRss[`${v.key} INT8`]} MiB at 2 threads.`),
      ],
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
