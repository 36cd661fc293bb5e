// `npm run report:quantization [-- --quick]`: the seed paper's Table 4 on this machine, in one run. Baseline:
// PyTorch FP32 running the paper's reference 3D ResU-Net (Debian python3-torch, training/bench_reference.py);
// then ONNX Runtime FP32 of the same reference (exported with random weights: latency does not depend on the
// weights, so it has no accuracy row), ONNX Runtime FP32 and INT8 of the shipped model. Precision, Dice and
// HD95 against reference masks on the model grid — on the held-out evaluation images (SynthSeg maps 18–20 and
// the open-ms patients, never seen by the quantizer) and on the validation images that the fallback used
// (maps 10–17) — latency (median of several runs
// after a warm-up, with min and max), peak RSS of each variant in a process of its own, speedup against the
// baseline at the same thread count, thread scaling 1 → 2, and the per-operator profile before and after
// quantization. Writes bench/results/quantization.{md,json,svg}; every timing names the CPU and its instruction
// sets. `-- --render <report.json>` writes the .md of an earlier run again without timing anything.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { loadConfig } from '../config/schema.js';
import { cpuWords, describeCpu } from '../src/cpu.js';
import { loadAtlas } from '../src/pipeline/segmentation/atlas.js';
import { registrationOptionsFromConfig } from '../src/pipeline/registration/index.js';
import { compareMasks, dice } from '../src/pipeline/segmentation/mask-metrics.js';
import { shippedModelsDir } from '../src/pipeline/segmentation/model-files.js';
import { quantize } from '../src/tools/quantize/index.js';
import { listInputs, prepareInputs } from '../src/tools/quantize/inputs.js';
import { modelGrid } from '../src/tools/quantize/model-grid.js';
import { decodeModel, inputShape } from '../src/tools/quantize/onnx-model.js';
import { withData } from '../src/pipeline/space/volume.js';
import { openMsItems, writeEvaluationData, writeQuantizationData } from './quantization-data.js';
import { type OperatorSummary, operatorSummary, readProfile } from '../src/tools/quantize/profile.js';
import { latencyChart } from './report/charts.js';
import { runVariant } from './harness/ort-variant.js';

const execFileAsync = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

interface Latency {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}

function latency(ms: number[]): Latency {
  const s = [...ms].sort((a, b) => a - b);
  return { medianMs: Math.round(s[Math.floor(s.length / 2)]), minMs: Math.round(s[0]), maxMs: Math.round(s[s.length - 1]), runs: s.length };
}

interface Row {
  what: string;
  precision: 'FP32' | 'INT8';
  runtime: string;
  byThreads: Record<number, { latency: Latency; peakRssMb: number; speedup?: number }>;
  /** On the held-out evaluation images, then on the validation images. */
  accuracy?: Record<'evaluation' | 'validation', { dice: { mean: number; sd: number }; hd95Mm: { mean: number; sd: number } }>;
}

function meanSd(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1));
  return { mean, sd };
}

async function pytorchReference(repo: string, threads: number, runs: number, exportDir?: string): Promise<{ latency: Latency; peakRssMb: number; torch: string; onnx?: string }> {
  const args = ['-f', 'maxrss_kb=%M', '/usr/bin/python3', path.join(repo, 'training', 'bench_reference.py'), '--arch', 'resunet-reference', '--threads', String(threads), '--runs', String(runs)];
  if (exportDir) args.push('--export-dir', exportDir);
  const { stdout, stderr } = await execFileAsync('/usr/bin/time', args, { maxBuffer: 1 << 24 });
  const json = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { torch: string; models: Record<string, { runs_ms: number[]; onnx?: string }> };
  const rss = Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1] ?? 0);
  const m = json.models['resunet-reference'];
  return { latency: latency(m.runs_ms), peakRssMb: Math.round(rss / 1024), torch: json.torch, onnx: m.onnx };
}

async function ortVariant(model: string, threads: number, runs: number, shape: number[], inputs: string[], options: { tag?: string; profile?: string } = {}) {
  const r = await runVariant(model, threads, runs, shape, inputs, options);
  return { latency: latency(r.latencyMs), peakRssMb: r.peakRssMb, masks: r.masks, profileFile: r.profileFile };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, int8: { type: 'string' }, out: { type: 'string' }, runs: { type: 'string' }, render: { type: 'string' } } });
  if (values.render) {
    // Writes the .md of a report measured earlier again, from its .json (a change of layout; nothing is timed).
    const stem = values.render.replace(/\.json$/, '');
    fs.writeFileSync(`${stem}.md`, markdown(JSON.parse(fs.readFileSync(values.render, 'utf8')) as Result, `${path.basename(stem)}.svg`));
    return;
  }
  const quick = Boolean(values.quick);
  const runs = Number(values.runs ?? (quick ? 3 : 7));
  const threadCounts = [1, 2];
  const repo = path.resolve(here, '..', '..');
  const modelsDir = shippedModelsDir();
  const outDir = path.resolve(values.out ?? path.join(repo, 'bench', 'results'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-quantization-report-'));
  const loadBefore = os.loadavg();
  const log = (m: string) => console.error(`report: ${m}`);

  const fp32Path = path.join(modelsDir, 'brainstrip-efficient-fp32.onnx');
  const fp32Bytes = new Uint8Array(fs.readFileSync(fp32Path));
  const shape = inputShape(decodeModel(fp32Bytes));
  const atlas = loadAtlas();
  const grid = modelGrid(fp32Path, atlas, shape);
  const registration = registrationOptionsFromConfig(loadConfig({}).registration);

  const data = writeQuantizationData({ out: path.join(repo, 'var', 'quantization-data'), quick });
  log(`preparing validation images (${data.validation})`);
  const validation = await prepareInputs(listInputs(data.validation), { atlas, grid, registration, onProgress: log });
  const evaluationFolder = writeEvaluationData({ out: path.join(repo, 'var', 'quantization-data'), quick });
  log(`preparing evaluation images (${evaluationFolder} and open-ms)`);
  const evaluation = await prepareInputs([...listInputs(evaluationFolder), ...openMsItems(undefined, quick)], { atlas, grid, registration, onProgress: log });
  const sets = { evaluation, validation };
  const samples = [...evaluation, ...validation];
  const inputFiles = samples.map((s, i) => {
    const file = path.join(tmp, `input-${i}.f32`);
    fs.writeFileSync(file, s.input);
    return file;
  });

  let int8Path = values.int8 ?? path.join(modelsDir, 'brainstrip-efficient-int8.onnx');
  let int8Origin = `${path.relative(repo, int8Path)} (made by npm run quantize:model)`;
  if (!fs.existsSync(int8Path) || fs.statSync(int8Path).mtimeMs < fs.statSync(fp32Path).mtimeMs) {
    log('no current INT8 model: quantizing the FP32 model for this report');
    const calibration = await prepareInputs(listInputs(data.calibration), { atlas, grid, registration, onProgress: log });
    const { model, report } = await quantize(fp32Bytes, {
      calibration: calibration.map((s) => s.input),
      validation: sets.validation,
      maxDiceDrop: 0.001,
      methods: quick ? ['minmax'] : ['minmax', 'percentile'],
      speedCheck: true,
      onProgress: log,
    });
    int8Path = path.join(tmp, 'brainstrip-efficient-int8.onnx');
    fs.writeFileSync(int8Path, model);
    int8Origin = `quantized in this run as npm run quantize:model does (${report.quantized.length} of ${report.layers} convolutions INT8, ${report.calibration.method} calibration on ${report.calibration.inputs} images; FP32: ${report.fp32.map((f) => `${f.layer} (${f.reason})`).join('; ')})`;
  }

  const rows: Row[] = [];
  const baselineByThreads: Record<number, number> = {};
  let torchVersion = '';
  let referenceOnnx: string | undefined;
  const pt: Row = { what: 'PyTorch · reference 3D ResU-Net', precision: 'FP32', runtime: 'PyTorch', byThreads: {} };
  for (const t of threadCounts) {
    log(`PyTorch reference, ${t} thread(s)`);
    const r = await pytorchReference(repo, t, runs);
    torchVersion = r.torch;
    baselineByThreads[t] = r.latency.medianMs;
    pt.byThreads[t] = { latency: r.latency, peakRssMb: r.peakRssMb, speedup: 1 };
  }
  pt.runtime = `PyTorch ${torchVersion}`;
  rows.push(pt);
  {
    const r = await pytorchReference(repo, 1, 1, tmp);
    referenceOnnx = r.onnx;
  }
  const referenceInput = path.join(tmp, 'reference-input.f32');
  {
    const x = new Float32Array(128 ** 3);
    for (let v = 0; v < x.length; v++) x[v] = ((v * 2654435761) % 1000) / 1000;
    fs.writeFileSync(referenceInput, x);
  }
  const profiles: Record<string, OperatorSummary> = {};
  const variants = [
    { what: 'ONNX Runtime · reference 3D ResU-Net (random weights)', precision: 'FP32' as const, model: referenceOnnx!, shape: [1, 1, 128, 128, 128], inputs: [referenceInput], tag: undefined },
    { what: 'ONNX Runtime · brainstrip-efficient', precision: 'FP32' as const, model: fp32Path, shape, inputs: inputFiles, tag: 'fp32' },
    { what: 'ONNX Runtime · brainstrip-efficient', precision: 'INT8' as const, model: int8Path, shape, inputs: inputFiles, tag: 'int8' },
  ];
  const masks: Record<string, string[]> = {};
  for (const v of variants) {
    const row: Row = { what: v.what, precision: v.precision, runtime: 'ONNX Runtime 1.30', byThreads: {} };
    for (const t of threadCounts) {
      log(`${v.what} ${v.precision}, ${t} thread(s)`);
      const profile = v.tag && t === 1 ? path.join(tmp, `profile-${v.tag}`) : undefined;
      const r = await ortVariant(v.model, t, runs, v.shape, v.inputs, { tag: t === threadCounts[threadCounts.length - 1] ? v.tag : undefined, profile });
      row.byThreads[t] = { latency: r.latency, peakRssMb: r.peakRssMb, speedup: Number((baselineByThreads[t] / r.latency.medianMs).toFixed(1)) };
      if (v.tag && r.masks.length) masks[v.tag] = r.masks;
      if (r.profileFile && v.tag) profiles[v.tag] = operatorSummary(readProfile(r.profileFile));
    }
    rows.push(row);
  }

  const perImage = samples.map((s, i) => ({ image: s.name, set: i < evaluation.length ? 'evaluation' : 'validation' }) as Record<string, unknown>);
  const fp32Row = rows[2];
  const int8Row = rows[3];
  for (const [tag, row] of [['fp32', fp32Row], ['int8', int8Row]] as const) {
    masks[tag].forEach((file, i) => {
      const c = compareMasks(withData(grid, new Uint8Array(fs.readFileSync(file))), withData(grid, samples[i].reference!));
      perImage[i][`dice${tag.toUpperCase()}`] = Number(c.dice.toFixed(5));
      perImage[i][`hd95${tag.toUpperCase()}`] = c.hd95Mm === null ? null : Number(c.hd95Mm.toFixed(2));
    });
    const of = (set: string, key: string) => perImage.filter((p) => p.set === set).map((p) => (p[key] as number | null) ?? NaN);
    row.accuracy = {
      evaluation: { dice: meanSd(of('evaluation', `dice${tag.toUpperCase()}`)), hd95Mm: meanSd(of('evaluation', `hd95${tag.toUpperCase()}`)) },
      validation: { dice: meanSd(of('validation', `dice${tag.toUpperCase()}`)), hd95Mm: meanSd(of('validation', `hd95${tag.toUpperCase()}`)) },
    };
  }
  masks.int8.forEach((file, i) => {
    perImage[i].diceInt8VsFp32 = Number(dice(new Uint8Array(fs.readFileSync(file)), new Uint8Array(fs.readFileSync(masks.fp32[i]))).toFixed(5));
  });
  const setSummary = (set: 'evaluation' | 'validation') => {
    const images = perImage.filter((p) => p.set === set);
    return {
      images: images.length,
      diceDrop: Number((fp32Row.accuracy![set].dice.mean - int8Row.accuracy![set].dice.mean).toFixed(5)),
      maxHd95ChangeMm: Number(Math.max(...images.map((p) => Math.abs((p.hd95INT8 as number) - (p.hd95FP32 as number)))).toFixed(2)),
      diceInt8VsFp32: Number(meanSd(images.map((p) => p.diceInt8VsFp32 as number)).mean.toFixed(5)),
    };
  };
  const summary = {
    evaluation: setSummary('evaluation'),
    validation: setSummary('validation'),
    int8VsFp32Speedup: Object.fromEntries(threadCounts.map((t) => [t, Number((fp32Row.byThreads[t].latency.medianMs / int8Row.byThreads[t].latency.medianMs).toFixed(2))])),
    threadScaling: Object.fromEntries(rows.map((r) => [`${r.what} ${r.precision}`, Number((r.byThreads[1].latency.medianMs / r.byThreads[2].latency.medianMs).toFixed(2))])),
  };
  const loadAfter = os.loadavg();
  const cpu = describeCpu();

  const result: Result = {
    date: new Date().toISOString(),
    quick,
    machine: { cpu: cpu.name, cores: cpu.cores, isa: cpu.instructionSets, loadAverage1mBefore: loadBefore[0], loadAverage1mAfter: loadAfter[0] },
    runsPerMeasurement: runs,
    data: {
      evaluation: { images: evaluation.map((s) => s.name), source: 'held out from quantization: SynthSeg label maps 18–20 rendered as T1/T2/FLAIR-like images, and the open-ms patients (real clinical scans, their brain masks)' },
      validation: { images: validation.map((s) => s.name), source: 'used by the accuracy-aware fallback: SynthSeg label maps 10–17 rendered (bench/quantization-data.ts); calibration used maps 01–09' },
    },
    int8Model: int8Origin,
    rows,
    summary,
    perImage,
    profiles,
  };
  fs.mkdirSync(outDir, { recursive: true });
  const stem = quick ? 'quantization-quick' : 'quantization';
  fs.writeFileSync(path.join(outDir, `${stem}.json`), `${JSON.stringify(result, null, 1)}\n`);
  fs.writeFileSync(path.join(outDir, `${stem}.svg`), latencyChart(rows.map((r) => ({ label: `${r.what} ${r.precision}`, byThreads: Object.fromEntries(threadCounts.map((t) => [t, r.byThreads[t].latency.medianMs])) })), threadCounts));
  fs.writeFileSync(path.join(outDir, `${stem}.md`), markdown(result, `${stem}.svg`));
  console.log(fs.readFileSync(path.join(outDir, `${stem}.md`), 'utf8'));
  fs.rmSync(tmp, { recursive: true, force: true });
}

interface Result {
  date: string;
  quick: boolean;
  machine: { cpu: string; cores: number; isa: string[]; loadAverage1mBefore: number; loadAverage1mAfter: number };
  runsPerMeasurement: number;
  data: Record<'evaluation' | 'validation', { images: string[]; source: string }>;
  int8Model: string;
  rows: Row[];
  summary: Record<string, unknown>;
  perImage: Array<Record<string, unknown>>;
  profiles: Record<string, OperatorSummary>;
}

/** The machine of a report in words, to stand beside each of its timings. */
function measuredOn(m: Result['machine']): string {
  return cpuWords({ name: m.cpu, cores: m.cores, instructionSets: m.isa });
}

function markdown(r: Result, chart: string): string {
  const threads = Object.keys(r.rows[0]?.byThreads ?? {}).map(Number);
  const on = measuredOn(r.machine);
  const f = (x: number | undefined, d = 4) => (x === undefined || Number.isNaN(x) ? '—' : x.toFixed(d));
  const acc = (row: Row, set: 'evaluation' | 'validation') => {
    const a = row.accuracy?.[set];
    return a ? `${f(a.dice.mean)} ± ${f(a.dice.sd)} | ${f(a.hd95Mm.mean, 2)} ± ${f(a.hd95Mm.sd, 2)}` : '— | —';
  };
  const lines = [
    `# Quantization report (the seed paper's Table 4 on this machine)${r.quick ? ' — quick mode' : ''}`,
    '',
    `${r.date} · ${on} · load average ${r.machine.loadAverage1mBefore.toFixed(1)} before, ${r.machine.loadAverage1mAfter.toFixed(1)} after · ${r.runsPerMeasurement} timed runs after one warm-up per measurement, each variant in its own process (peak RSS: model, one input, warm-up and timed runs)`,
    '',
    `Accuracy (Dice, HD95; masks on the model grid against reference masks brought there by the same registration) on ${r.data.evaluation.images.length} evaluation images, ${r.data.evaluation.source}. INT8 model: ${r.int8Model}.`,
    'The reference ResU-Net runs with random weights (latency and memory do not depend on the weights); its accuracy after training is in models/evaluation-resunet-reference.json.',
    '',
    `| model | precision | Dice (mean ± sd) | HD95 mm (mean ± sd) | ${threads.map((t) => `latency ${t} thr (median [min–max]) | peak RSS ${t} thr | speedup ${t} thr`).join(' | ')} | timed on |`,
    `|---|---|---|---|${threads.map(() => '---|---|---').join('|')}|---|`,
  ];
  for (const row of r.rows) {
    const cells = threads.map((t) => {
      const b = row.byThreads[t];
      return `${(b.latency.medianMs / 1000).toFixed(3)} s [${(b.latency.minMs / 1000).toFixed(3)}–${(b.latency.maxMs / 1000).toFixed(3)}] | ${b.peakRssMb} MB | ${b.speedup?.toFixed(1)}×`;
    });
    lines.push(`| ${row.what} (${row.runtime}) | ${row.precision} | ${acc(row, 'evaluation')} | ${cells.join(' | ')} | ${on} |`);
  }
  lines.push('', 'Speedup: PyTorch reference median / this median at the same thread count.', '');
  lines.push(`On the ${r.data.validation.images.length} validation images (${r.data.validation.source}):`, '', '| model | precision | Dice | HD95 mm |', '|---|---|---|---|');
  for (const row of r.rows.filter((x) => x.accuracy)) lines.push(`| ${row.what} | ${row.precision} | ${acc(row, 'validation')} |`);
  lines.push('', `## Summary (timings on ${on})`, '', '```json', JSON.stringify(r.summary, null, 1), '```', '', `![latency on ${on}](${chart})`, '');
  for (const [tag, p] of Object.entries(r.profiles)) {
    lines.push(`## Operator profile, ${tag.toUpperCase()} (1 thread, ms per inference on ${on})`, '', '| operator | ms | nodes |', '|---|---|---|');
    for (const o of p.operators) lines.push(`| ${o.op} | ${o.msPerRun.toFixed(1)} | ${o.nodes} |`);
    lines.push(`| total | ${p.totalMsPerRun.toFixed(1)} | |`, '');
  }
  return lines.join('\n');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exitCode = 1;
});
