// How long a radiologist waits: from the last C-STORE Success of a 170-slice 3D T1 sent in one association
// (storescu exits) to the skull-stripped series and the SEG stored in Orthanc. Two nodes with the default
// settings, measured in the same run, one series at a time, alternating: one completes a whole series as soon as
// its association is released (receive.completionGraceSeconds, default), the other only after
// receive.seriesIdleSeconds without an instance (completionGraceSeconds 0, the baseline).
// Quick mode: one small series per path and a 5 s idle time.
import fs from 'node:fs';
import path from 'node:path';
import { colin27Available, colin27Path, writeHeadSeries } from './harness/head-series.js';
import { type Node, type Orthanc, cliPath, createOrthanc, orthancBinary, startNode, storescu, tempDir, waitFor } from './harness/peers.js';
import { figure, ratio, summarize } from './report/measure.js';
import type { BenchOptions, BenchResult } from './report/types.js';

function missingRequirement(): string | undefined {
  if (!fs.existsSync(orthancBinary)) return `${orthancBinary} not installed (Debian package orthanc)`;
  if (!colin27Available()) return `${colin27Path} absent (Debian package mricron-data)`;
  if (!fs.existsSync(cliPath)) return `${cliPath} not built`;
  return undefined;
}

/** Whether Orthanc holds the study's derived series with every slice and its SEG. */
async function resultsStored(orthanc: Orthanc, studyInstanceUid: string, slices: number): Promise<boolean | undefined> {
  const study = (await orthanc.get<any[]>('/studies?expand')).find((s) => s.MainDicomTags.StudyInstanceUID === studyInstanceUid);
  if (!study) return undefined;
  const series = await orthanc.get<any[]>(`/studies/${study.ID}/series?expand`);
  const derived = series.some((s) => s.MainDicomTags.Modality === 'MR' && s.Instances.length === slices);
  const seg = series.some((s) => s.MainDicomTags.Modality === 'SEG' && s.Instances.length === 1);
  return derived && seg ? true : undefined;
}

/** Seconds from storescu's exit (its last C-STORE answered, the association released) to the results in Orthanc. */
async function latency(node: Node, orthanc: Orthanc, dir: string, spec: Parameters<typeof writeHeadSeries>[1] & { slices: number }): Promise<number> {
  const series = await writeHeadSeries(dir, spec);
  await storescu(node.dicomPort, 'BRAINSTRIP', series.paths);
  const sent = performance.now();
  await waitFor('the results in Orthanc', () => resultsStored(orthanc, series.studyInstanceUid, spec.slices), 900_000, 100);
  return (performance.now() - sent) / 1000;
}

export async function run({ quick }: BenchOptions = { quick: false }): Promise<BenchResult> {
  const title = 'Answer latency: last C-STORE → results in Orthanc, whole-series completion vs idle timeout';
  const missing = missingRequirement();
  if (missing) {
    console.log(`latency: skipped, ${missing}`);
    return { title, figures: [], ratios: [], skipped: missing };
  }
  const work = tempDir('bench-latency');
  const idleSeconds = quick ? 5 : 30;
  const spec = quick ? { rows: 96, columns: 96, slices: 60, pixelSpacing: 2.5 } : { slices: 170 };
  const rounds = quick ? 1 : 5;
  const orthanc = await createOrthanc();
  await orthanc.start();
  const destinations = [{ aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort }];
  const early = await startNode({ destinations }, { receive: { seriesIdleSeconds: idleSeconds } });
  const idle = await startNode({ destinations }, { receive: { seriesIdleSeconds: idleSeconds, completionGraceSeconds: 0 } });
  const samples = { early: [] as number[], idle: [] as number[] };
  try {
    // One warm-up series per node in a full run (the model's first inference), then alternating rounds.
    if (!quick) for (const node of [early, idle]) await latency(node, orthanc, path.join(work, `warm-${node.pid}`), spec);
    for (let r = 0; r < rounds; r++) {
      samples.early.push(await latency(early, orthanc, path.join(work, `early-${r}`), spec));
      samples.idle.push(await latency(idle, orthanc, path.join(work, `idle-${r}`), spec));
      console.log(`latency round ${r + 1}: early ${samples.early[r].toFixed(1)} s, idle ${samples.idle[r].toFixed(1)} s`);
    }
  } finally {
    await early.stop();
    await idle.stop();
    await orthanc.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const earlyStats = summarize(samples.early);
  const idleStats = summarize(samples.idle);
  const series = `${spec.slices}-slice 3D T1${quick ? ' (96×96, quick)' : ' (256×256)'}`;
  return {
    title,
    figures: [figure(`whole-series completion, ${series}`, 's', samples.early), figure(`idle timeout ${idleSeconds} s, ${series}`, 's', samples.idle)],
    ratios: [ratio('latency, whole-series completion / idle timeout', earlyStats.median, idleStats.median, `a node with completionGraceSeconds 0 (seriesIdleSeconds ${idleSeconds}), same run`, 'below 1 is sooner')],
    charts: [
      {
        kind: 'bar',
        id: 'latency',
        title: `Last C-STORE → SEG and derived series in Orthanc (${series})`,
        unit: 's',
        bars: [
          { group: series, series: 'whole-series completion', median: earlyStats.median, min: earlyStats.min, max: earlyStats.max },
          { group: series, series: `idle timeout ${idleSeconds} s`, median: idleStats.median, min: idleStats.min, max: idleStats.max },
        ],
      },
    ],
    notes: [
      `Input: Colin27 (Debian mricron-data) as a sagittal 3D T1 declaring Images in Acquisition, sent by DCMTK storescu in one association; ${rounds} round${rounds === 1 ? '' : 's'} per path${quick ? '' : ' after one warm-up series per node'}, alternating.`,
      'Both nodes run at the same time with default settings but for the completion rule; each waits while the other works.',
    ],
    extra: { samples, idleSeconds },
  };
}
