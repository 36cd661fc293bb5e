// The whole loop, as a hospital sees it: a modality (DCMTK storescu) sends a 1 mm sagittal 3D T1 to
// `brainstrip serve`, which sends the skull-stripped series and the SEG to a real Orthanc.
// - End to end: per series, the stages the node recorded (GET /api/jobs/<id>), from the series' completion to
//   the archive's last confirmation; the work is their sum (the completion wait itself is a setting, not work).
//   Baseline for sending: storescu sending the same result files to a fresh Orthanc in the same run.
// - Throughput: several modalities send at once; series completed over time, C-ECHO (echoscu) and /health
//   answered throughout, jobs failed or lost (every result must be in Orthanc).
// - Memory: the node's peak RSS while processing a 512×512×200 series (full runs only).
// Quick mode: one timed series, two for throughput, a share of the objects for storescu, no memory run.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { colin27Available, colin27Path, writeHeadSeries } from './harness/head-series.js';
import { type Node, type Orthanc, cliPath, createOrthanc, orthancBinary, peakRssMiB, startNode, storescu, tempDir, waitForJob } from './harness/peers.js';
import { figure, ratio, summarize } from './report/measure.js';
import type { BenchOptions, BenchResult, ChartSpec, Figure, Ratio } from './report/types.js';

const exec = promisify(execFile);
const COMPUTE_STAGES = ['waiting', 'reading', 'registration', 'segmentation', 'building'] as const;
const ALL_STAGES = [...COMPUTE_STAGES, 'sending'] as const;

function missingRequirement(): string | undefined {
  if (!fs.existsSync(orthancBinary)) return `${orthancBinary} not installed (Debian package orthanc)`;
  if (!colin27Available()) return `${colin27Path} absent (Debian package mricron-data)`;
  if (!fs.existsSync(cliPath)) return `${cliPath} not built`;
  return undefined;
}

interface JobReport {
  id: number;
  state: string;
  stages: Record<string, number>;
  finishedAt: string | null;
}

async function jobReport(node: Node, id: number): Promise<JobReport> {
  const res = await fetch(`http://127.0.0.1:${node.httpPort}/api/jobs/${id}`);
  if (!res.ok) throw new Error(`GET /api/jobs/${id}: HTTP ${res.status}`);
  return (await res.json()) as JobReport;
}

async function orthancInstances(orthanc: Orthanc): Promise<number> {
  return ((await orthanc.get<{ CountInstances: number }>('/statistics')).CountInstances);
}

/** One series through the node; its stages and the result files it produced. */
async function oneSeries(node: Node, work: string, n: number) {
  const series = await writeHeadSeries(path.join(work, `series-${n}`));
  await storescu(node.dicomPort, 'BRAINSTRIP', series.paths);
  const job = await waitForJob(node, series.seriesInstanceUid);
  if (job.state !== 'done') throw new Error(`series ${n}: job ${job.id} ${job.state}: ${job.reason}`);
  const report = await jobReport(node, job.id);
  const results = path.join(node.dataDir, 'work', String(job.id), 'results');
  const files = fs.readdirSync(results).filter((f) => f.endsWith('.dcm')).map((f) => path.join(results, f));
  return { stages: report.stages, files };
}

async function endToEnd(quick: boolean, work: string, node: Node) {
  // The first series after start is timed too in a quick run; otherwise it is the warm-up.
  const rounds = quick ? 1 : 4;
  const runs: Array<Awaited<ReturnType<typeof oneSeries>>> = [];
  for (let r = 0; r < rounds; r++) runs.push(await oneSeries(node, work, r));
  const timed = quick ? runs : runs.slice(1);
  // Baseline: storescu sends the last series' results (a share of them in a quick run) to an archive of its own.
  const baselineArchive = await createOrthanc();
  await baselineArchive.start();
  const all = timed[timed.length - 1].files;
  const files = quick ? all.slice(0, 48) : all;
  const t0 = performance.now();
  await storescu(baselineArchive.dicomPort, baselineArchive.aeTitle, files);
  const storescuRate = files.length / ((performance.now() - t0) / 1000);
  await baselineArchive.stop();
  return { timed, storescuRate, objects: all.length, baselineObjects: files.length };
}

async function throughput(quick: boolean, work: string, node: Node, orthanc: Orthanc) {
  const senders = quick ? 2 : 3;
  const perSender = quick ? 1 : 6;
  const before = await orthancInstances(orthanc);
  let probing = true;
  try {
    const lists = [];
    for (let s = 0; s < senders; s++) {
      const list = [];
      for (let k = 0; k < perSender; k++) list.push(await writeHeadSeries(path.join(work, `load-${s}-${k}`)));
      lists.push(list);
    }
    const total = senders * perSender;
    const echoMs: number[] = [];
    const healthMs: number[] = [];
    const probes = (async () => {
      while (probing) {
        let t = performance.now();
        await exec('echoscu', ['-aet', 'MONITOR', '-aec', 'BRAINSTRIP', '127.0.0.1', String(node.dicomPort)]);
        echoMs.push(performance.now() - t);
        t = performance.now();
        const res = await fetch(`http://127.0.0.1:${node.httpPort}/health`);
        await res.text();
        healthMs.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const started = performance.now();
    const completions: number[] = [];
    await Promise.all(
      lists.map(async (list) => {
        for (const series of list) {
          await storescu(node.dicomPort, 'BRAINSTRIP', series.paths);
          // The modality goes on to the next patient; the node completes this series in its own time.
          void waitForJob(node, series.seriesInstanceUid).then((job) => completions.push((performance.now() - started) / 1000) && job);
        }
      }),
    );
    const jobs = await Promise.all(lists.flat().map((s) => waitForJob(node, s.seriesInstanceUid)));
    const seconds = (performance.now() - started) / 1000;
    probing = false;
    await probes;
    const failed = jobs.filter((j) => j.state !== 'done').length;
    const stored = (await orthancInstances(orthanc)) - before;
    const expected = lists.flat().reduce((sum, s) => sum + s.paths.length + 1, 0);
    const { counts } = await node.jobs();
    return {
      series: total,
      senders,
      seconds,
      seriesPerHour: (total / seconds) * 3600,
      completions: completions.sort((a, b) => a - b),
      failed,
      stored,
      expected,
      echoMs,
      healthMs,
      peakRssMiB: peakRssMiB(node.pid),
      counts,
    };
  } finally {
    probing = false;
  }
}

async function largeSeriesMemory(work: string) {
  const orthanc = await createOrthanc();
  await orthanc.start();
  const node = await startNode({ destinations: [{ aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort }] });
  try {
    const series = await writeHeadSeries(path.join(work, 'large'), { rows: 512, columns: 512, slices: 200, pixelSpacing: 0.5 });
    const before = peakRssMiB(node.pid);
    await storescu(node.dicomPort, 'BRAINSTRIP', series.paths);
    const job = await waitForJob(node, series.seriesInstanceUid);
    if (job.state !== 'done') throw new Error(`large series: job ${job.state}: ${job.reason}`);
    const report = await jobReport(node, job.id);
    return { before, peak: peakRssMiB(node.pid), stages: report.stages };
  } finally {
    await node.stop();
    await orthanc.stop();
  }
}

export async function run({ quick }: BenchOptions = { quick: false }): Promise<BenchResult> {
  const title = 'The whole loop: modality → brainstrip → Orthanc';
  const missing = missingRequirement();
  if (missing) {
    console.log(`loop: skipped, ${missing}`);
    return { title, figures: [], ratios: [], skipped: missing };
  }
  const work = tempDir('bench-loop');
  try {
    const orthanc = await createOrthanc();
    await orthanc.start();
    const node = await startNode({ destinations: [{ aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort }] });
    let e2e: Awaited<ReturnType<typeof endToEnd>>;
    let load: Awaited<ReturnType<typeof throughput>>;
    try {
      e2e = await endToEnd(quick, work, node);
      load = await throughput(quick, work, node, orthanc);
    } finally {
      await node.stop();
      await orthanc.stop();
    }
    const stage = (name: string) => summarize(e2e.timed.map((r) => r.stages[name] ?? 0));
    const workSeconds = summarize(e2e.timed.map((r) => ALL_STAGES.reduce((sum, s) => sum + (r.stages[s] ?? 0), 0)));
    const oursRate = summarize(e2e.timed.map((r) => e2e.objects / (r.stages.sending ?? Infinity)));
    const storescuRate = e2e.storescuRate;
    const memory = quick ? undefined : await largeSeriesMemory(work);

    const figures: Figure[] = [
      figure('end to end (completion → last object stored)', 's', workSeconds),
      ...ALL_STAGES.map((s) => figure(`stage: ${s}`, 's', stage(s), 2)),
      figure('sending rate, brainstrip', 'objects/s', oursRate),
      figure('sending rate, storescu', 'objects/s', [storescuRate]),
      figure('throughput', 'series/h', [load.seriesPerHour], 0),
      figure('C-ECHO during load (echoscu, process start included)', 'ms', load.echoMs, 0),
      figure('/health during load', 'ms', load.healthMs, 0),
    ];
    if (load.peakRssMiB !== undefined) figures.push(figure('peak RSS, 1 mm series and the throughput run', 'MiB', [load.peakRssMiB], 0));
    if (memory?.peak !== undefined) figures.push(figure('peak RSS, 512×512×200 series', 'MiB', [memory.peak], 0));
    const ratios: Ratio[] = [
      ratio(
        'sending rate, brainstrip / storescu',
        oursRate.median,
        storescuRate,
        `DCMTK storescu -R sending ${e2e.baselineObjects} of the same result files to a fresh Orthanc`,
        'at or above 0.9 is the target',
      ),
    ];
    const charts: ChartSpec[] = [
      {
        kind: 'stacked',
        id: 'stages',
        title: 'Where the time goes, per 1 mm 3D T1 (median)',
        unit: 's',
        bars: [{ label: `${e2e.objects - 1}-slice sagittal T1`, segments: ALL_STAGES.map((s) => ({ name: s, value: Number(stage(s).median.toFixed(2)) })) }],
      },
      {
        kind: 'line',
        id: 'throughput',
        title: `Series completed with ${load.senders} modalities sending at once`,
        unit: 'series',
        xLabel: 'time',
        xUnit: 's',
        series: [{ name: 'completed', points: [{ x: 0, y: 0 }, ...load.completions.map((t, n) => ({ x: Number(t.toFixed(1)), y: n + 1 }))] }],
      },
    ];
    if (load.failed > 0 || load.stored < load.expected) console.warn(`loop: ${load.failed} job(s) failed, ${load.stored} of ${load.expected} objects in Orthanc`);
    return {
      title,
      figures,
      ratios,
      charts,
      tables: [
        {
          title: 'Throughput run',
          columns: ['series', 'modalities', 'seconds', 'series/h', 'failed jobs', 'objects in Orthanc', 'expected', 'max C-ECHO ms', 'max /health ms'],
          rows: [[load.series, load.senders, Number(load.seconds.toFixed(1)), Math.round(load.seriesPerHour), load.failed, load.stored, load.expected, Math.round(Math.max(...load.echoMs)), Math.round(Math.max(...load.healthMs))]],
        },
      ],
      notes: [
        `Input: Colin27 (Debian mricron-data) as a 1 mm sagittal 3D T1, 256×256 × ${e2e.objects - 1} slices; ${e2e.timed.length} timed series${quick ? '' : ' after one warm-up series'}; results: ${e2e.objects} objects (skull-stripped series + SEG).`,
        'Stages as the node records them (GET /api/jobs/<id>); the completion wait (receive.seriesIdleSeconds) is not work and is left out.',
        memory ? `Memory: peak RSS of the node process (VmHWM, worker threads included) ${memory.before?.toFixed(0)} MiB at start, ${memory.peak?.toFixed(0)} MiB after the 512×512×200 series.` : 'Memory run left out in quick mode.',
      ],
      extra: { e2e: e2e.timed.map((r) => r.stages), storescuRate, throughput: load, memory },
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
