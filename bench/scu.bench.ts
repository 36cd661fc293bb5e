// Sending results: brainstrip's C-STORE SCU against DCMTK's storescu (the baseline), both sending the same
// skull-stripped series + SEG (97 objects, built from the XA30 classic T1) to the same storescp, in the same run.
// Reports objects/s for both (one warm-up round, then timed rounds alternating which goes first) and the ratio
// brainstrip / storescu. Quick mode: a quarter of the objects, two timed rounds instead of five.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { configureLogging, logger } from '../src/log.js';
import { readMrAcquisition } from '../src/pipeline/derived/acquisition.js';
import { writeResultSet } from '../src/jobs/processing/result-set.js';
import { buildSegmentation } from '../src/pipeline/derived/segmentation.js';
import { buildSkullStrippedSeries } from '../src/pipeline/derived/skull-stripped.js';
import { loadSeries } from '../src/pipeline/dicom/load-series.js';
import { StoredLedger } from '../src/scu/ledger.js';
import { deliver } from '../src/scu/sender.js';
import { freePort, waitForPort } from './harness/peers.js';
import { figure, ratio, summarize } from './report/measure.js';
import type { BenchOptions, BenchResult } from './report/types.js';

const exec = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const seriesDir = path.resolve(here, '../../../shared/data/dicom/siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');

export async function run({ quick }: BenchOptions = { quick: false }): Promise<BenchResult> {
  const title = 'Sending results: brainstrip C-STORE SCU against storescu';
  if (!fs.existsSync(seriesDir)) {
    console.log(`scu: skipped, ${seriesDir} not found (../shared/data is not part of a fresh clone)`);
    return { title, figures: [], ratios: [], skipped: `${seriesDir} not found (../shared/data is not part of a fresh clone)` };
  }
  configureLogging({ level: 'error', stream: 'stderr' });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-bench-scu-'));
  // Objects to send: any mask exercises the sender; a threshold mask avoids running the model here.
  const loaded = await loadSeries(fs.readdirSync(seriesDir).map((f) => path.join(seriesDir, f)));
  const acquisition = await readMrAcquisition(loaded.source.frames[0].path);
  const mask = Uint8Array.from(loaded.volume.data, (v) => (v > 100 ? 1 : 0));
  const algorithm = { name: 'bench', version: '0', precision: 'FP32' as const };
  const options = { uidRoot: '2.25', seriesDescriptionSuffix: ' bench', segSeriesDescriptionSuffix: ' bench SEG', seriesNumberOffset: 1000, softwareVersion: 'bench' };
  const set = writeResultSet(path.join(work, 'objects'), [
    ...buildSkullStrippedSeries({ source: loaded.source, image: loaded.volume, mask: { ...loaded.volume, data: mask }, algorithm, options, acquisition }),
    buildSegmentation({ source: loaded.source, mask: { ...loaded.volume, data: mask }, algorithm, options, acquisition }),
  ], { inputKey: 'bench', model: algorithm, summary: {} });
  // quick mode sends a quarter of the objects (the SEG among them), each round a few seconds instead of ten
  const objects = quick ? [...set.objects.slice(0, 23), set.objects[set.objects.length - 1]] : set.objects;
  const files = objects.map((o) => o.path);

  const port = await freePort();
  const archiveDir = path.join(work, 'archive');
  fs.mkdirSync(archiveDir);
  const storescp = spawn('storescp', ['--aetitle', 'ARCHIVE', '--output-directory', archiveDir, String(port)], { stdio: 'ignore' });
  await waitForPort(port);
  const clear = () => { for (const f of fs.readdirSync(archiveDir)) fs.rmSync(path.join(archiveDir, f)); };
  const destination = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port };
  const log = logger('bench-scu');
  const rounds = quick ? 2 : 5;
  const times = { brainstrip: [] as number[], storescu: [] as number[] };
  const sendWith = async (tool: 'brainstrip' | 'storescu', round: number): Promise<number> => {
    clear();
    const t = performance.now();
    if (tool === 'storescu') await exec('storescu', ['-R', '-aec', 'ARCHIVE', '127.0.0.1', String(port), ...files], { maxBuffer: 1 << 24 });
    else {
      await deliver(destination, objects.map((o) => ({ ...o })), {
        ledger: new StoredLedger(path.join(work, `ledger-${round}`)),
        policy: { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 },
        store: { callingAeTitle: 'BRAINSTRIP', connectTimeoutMs: 5000, associationTimeoutMs: 120000 },
        log,
      });
    }
    const ms = performance.now() - t;
    if (fs.readdirSync(archiveDir).length !== files.length) throw new Error(`not every object arrived from ${tool}`);
    return ms;
  };
  try {
    // round -1 is the warm-up (connections, JIT, page cache); then alternate which goes first
    for (let r = -1; r < rounds; r++) {
      const order = r % 2 === 0 ? (['storescu', 'brainstrip'] as const) : (['brainstrip', 'storescu'] as const);
      for (const tool of order) {
        const ms = await sendWith(tool, r + 1);
        if (r >= 0) times[tool].push(ms);
      }
    }
  } finally {
    storescp.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
  }
  const rate = (ms: number) => (files.length / ms) * 1000;
  const ours = summarize(times.brainstrip.map(rate));
  const baseline = summarize(times.storescu.map(rate));
  return {
    title,
    figures: [figure('brainstrip SCU', 'objects/s', ours), figure('DCMTK storescu', 'objects/s', baseline)],
    ratios: [ratio('throughput, brainstrip / storescu', ours.median, baseline.median, 'DCMTK storescu -R to the same storescp', 'above 1: brainstrip sends faster')],
    charts: [
      {
        kind: 'bar',
        id: 'throughput',
        title: `Sending ${files.length} objects to storescp`,
        unit: 'objects/s',
        bars: [
          { group: 'brainstrip SCU', series: '', median: ours.median, min: ours.min, max: ours.max },
          { group: 'DCMTK storescu', series: '', median: baseline.median, min: baseline.min, max: baseline.max },
        ],
      },
    ],
    notes: [`${files.length} of the ${set.objects.length} objects of a skull-stripped series and its SEG (built from the XA30 classic T1), ${rounds} timed rounds after one warm-up round, the order alternating.`],
    extra: { objects: files.length, rounds },
  };
}
