// Ingest: the same series sent with DCMTK's storescu to brainstrip (`brainstrip serve`, which fsyncs every instance
// before answering) and to DCMTK's storescp (which does not), alternately in the same run. Reports instances/s for
// both and the ratio brainstrip / storescp (target: at least 0.8). One warm-up each, then timed rounds; quick
// mode: the first 32 instances, two rounds.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, repoRoot, waitForPort } from './harness/peers.js';
import { figure, ratio, summarize } from './report/measure.js';
import type { BenchOptions, BenchResult } from './report/types.js';

const series = path.resolve(repoRoot, '../shared/data/dicom/siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');

/** Wall time of one storescu run sending `files` in one association. */
function send(port: number, calledAe: string, files: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('storescu', ['-aec', calledAe, '127.0.0.1', String(port), ...files], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code === 0 && !/^E:/m.test(err)) resolve(seconds);
      else reject(new Error(`storescu to ${calledAe} failed (${code}): ${err}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

export async function run({ quick }: BenchOptions = { quick: false }): Promise<BenchResult> {
  const title = 'Receiving: brainstrip serve against storescp';
  if (!fs.existsSync(series)) {
    console.log(`ingest: skipped, ${series} is absent`);
    return { title, figures: [], ratios: [], skipped: `${series} is absent (../shared/data is not part of a fresh clone)` };
  }
  const rounds = quick ? 2 : 7;
  const all = fs.readdirSync(series).sort().map((f) => path.join(series, f));
  const files = quick ? all.slice(0, 32) : all;
  const bytes = files.reduce((sum, f) => sum + fs.statSync(f).size, 0);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-bench-ingest-'));

  const brainstripPort = await freePort();
  const config = path.join(work, 'brainstrip.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      dataDir: path.join(work, 'brainstrip'),
      receive: { port: brainstripPort, seriesIdleSeconds: 3600 }, // measure receiving only, no processing
      http: { port: 0, host: '127.0.0.1' },
    }),
  );
  const brainstrip = spawn(process.execPath, [path.join(repoRoot, 'dist/src/cli.js'), 'serve', '--config', config], { stdio: 'ignore' });

  const storescpPort = await freePort();
  const storescpDir = path.join(work, 'storescp');
  fs.mkdirSync(storescpDir);
  const storescp = spawn('storescp', ['-aet', 'STORESCP', '-od', storescpDir, String(storescpPort)], { stdio: 'ignore' });

  try {
    await Promise.all([waitForPort(brainstripPort, 60_000), waitForPort(storescpPort, 60_000)]);
    // One warm-up each (page cache, JIT), then alternate so that machine load hits both alike.
    await send(brainstripPort, 'BRAINSTRIP', files);
    await send(storescpPort, 'STORESCP', files);
    const times = { brainstrip: [] as number[], storescp: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['brainstrip', 'storescp'] as const) : (['storescp', 'brainstrip'] as const);
      for (const peer of order) {
        times[peer].push(peer === 'brainstrip' ? await send(brainstripPort, 'BRAINSTRIP', files) : await send(storescpPort, 'STORESCP', files));
      }
    }
    const ours = summarize(times.brainstrip.map((t) => files.length / t));
    const baseline = summarize(times.storescp.map((t) => files.length / t));
    return {
      title,
      figures: [figure('brainstrip serve', 'instances/s', ours), figure('DCMTK storescp', 'instances/s', baseline)],
      ratios: [ratio('throughput, brainstrip / storescp', ours.median, baseline.median, 'DCMTK storescp receiving the same series', 'above 1: brainstrip receives faster; target at least 0.8')],
      charts: [
        {
          kind: 'bar',
          id: 'throughput',
          title: `Receiving ${files.length} instances from storescu`,
          unit: 'instances/s',
          bars: [
            { group: 'brainstrip serve', series: '', median: ours.median, min: ours.min, max: ours.max },
            { group: 'DCMTK storescp', series: '', median: baseline.median, min: baseline.min, max: baseline.max },
          ],
        },
      ],
      notes: [
        `${files.length} of the ${all.length} instances of ${path.basename(series)} (${(bytes / 1e6).toFixed(1)} MB) in one association per round; ${rounds} timed rounds after one warm-up each, the order alternating.`,
        'brainstrip fsyncs each instance and its folder before answering Success; storescp does not fsync.',
      ],
      extra: { series: path.basename(series), instances: files.length, megabytes: +(bytes / 1e6).toFixed(1), rounds, target: 0.8 },
    };
  } finally {
    await Promise.all([stop(brainstrip), stop(storescp)]);
    fs.rmSync(work, { recursive: true, force: true });
  }
}
