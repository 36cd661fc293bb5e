// Sending results: brainstrip's C-STORE SCU against DCMTK's storescu (the baseline), both sending the same
// skull-stripped series + SEG (97 objects, built from the XA30 classic T1) to the same storescp, in the same run.
// Reports objects/s for both and the ratio brainstrip / storescu.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { configureLogging, logger } from '../src/log.js';
import { readMrAcquisition } from '../src/pipeline/derived/acquisition.js';
import { writeResultSet } from '../src/jobs/result-set.js';
import { buildSegmentation } from '../src/pipeline/derived/segmentation.js';
import { buildSkullStrippedSeries } from '../src/pipeline/derived/skull-stripped.js';
import { loadSeries } from '../src/pipeline/dicom/load-series.js';
import { StoredLedger } from '../src/scu/ledger.js';
import { deliver } from '../src/scu/sender.js';
import { freePort, waitForPort } from './harness/peers.js';

const exec = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const seriesDir = path.resolve(here, '../../../shared/data/dicom/siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function run(): Promise<Record<string, unknown>> {
  if (!fs.existsSync(seriesDir)) {
    console.log(`skipped: ${seriesDir} not found (../shared/data is not part of a fresh clone)`);
    return { skipped: 'no test data' };
  }
  configureLogging({ level: 'error', stream: 'stderr' });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-bench-scu-'));
  // Objects to send: any mask exercises the sender; a threshold mask avoids running the model here.
  const loaded = await loadSeries(fs.readdirSync(seriesDir).map((f) => path.join(seriesDir, f)));
  const acquisition = await readMrAcquisition(loaded.source.frames[0].path);
  const mask = new Uint8Array(loaded.volume.data.length);
  const brain = new Float32Array(loaded.volume.data.length);
  loaded.volume.data.forEach((v, i) => { if (v > 100) { mask[i] = 1; brain[i] = v; } });
  const algorithm = { name: 'bench', version: '0', precision: 'FP32' as const };
  const options = { uidRoot: '2.25', seriesDescriptionSuffix: ' bench', segSeriesDescriptionSuffix: ' bench SEG', seriesNumberOffset: 1000, softwareVersion: 'bench' };
  const set = writeResultSet(path.join(work, 'objects'), [
    ...buildSkullStrippedSeries({ source: loaded.source, brain: { ...loaded.volume, data: brain }, algorithm, options, acquisition }),
    buildSegmentation({ source: loaded.source, mask: { ...loaded.volume, data: mask }, algorithm, options, acquisition }),
  ], { inputKey: 'bench', model: algorithm, summary: {} });
  const files = set.objects.map((o) => o.path);

  const port = await freePort();
  const archiveDir = path.join(work, 'archive');
  fs.mkdirSync(archiveDir);
  const storescp = spawn('storescp', ['--aetitle', 'ARCHIVE', '--output-directory', archiveDir, String(port)], { stdio: 'ignore' });
  await waitForPort(port);
  const clear = () => { for (const f of fs.readdirSync(archiveDir)) fs.rmSync(path.join(archiveDir, f)); };
  const destination = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port };
  const log = logger('bench-scu');
  const rounds = 3;
  const times = { brainstrip: [] as number[], storescu: [] as number[] };
  try {
    for (let r = 0; r < rounds; r++) {
      clear();
      let t = performance.now();
      await exec('storescu', ['-R', '-aec', 'ARCHIVE', '127.0.0.1', String(port), ...files], { maxBuffer: 1 << 24 });
      times.storescu.push(performance.now() - t);
      clear();
      const ledger = new StoredLedger(path.join(work, `ledger-${r}`));
      t = performance.now();
      await deliver(destination, set.objects.map((o) => ({ ...o })), {
        ledger,
        policy: { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 },
        store: { callingAeTitle: 'BRAINSTRIP', connectTimeoutMs: 5000, associationTimeoutMs: 120000 },
        log,
      });
      times.brainstrip.push(performance.now() - t);
      if (fs.readdirSync(archiveDir).length !== files.length) throw new Error('not every object arrived');
    }
  } finally {
    storescp.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
  }
  const rate = (ms: number) => (files.length / ms) * 1000;
  const result = {
    objects: files.length,
    storescuObjectsPerSecond: Number(rate(median(times.storescu)).toFixed(1)),
    brainstripObjectsPerSecond: Number(rate(median(times.brainstrip)).toFixed(1)),
    ratio: Number((median(times.storescu) / median(times.brainstrip)).toFixed(2)),
  };
  console.table({
    storescu: { 'objects/s': result.storescuObjectsPerSecond, 'median ms': Math.round(median(times.storescu)) },
    brainstrip: { 'objects/s': result.brainstripObjectsPerSecond, 'median ms': Math.round(median(times.brainstrip)) },
  });
  console.log(`brainstrip SCU / storescu: ${result.ratio}×`);
  return result;
}
