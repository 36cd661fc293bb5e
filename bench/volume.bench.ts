// Decode + assemble: a synthetic 176-slice 1 mm sagittal series (256×256, a T1-like head phantom) read into a
// volume by brainstrip's loader (in-process, and as `brainstrip convert` in a fresh process), against Debian's
// dcm2niix converting the same files in the same run. Reported as ratios to dcm2niix of the median wall time
// (lower is better), per transfer syntax.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSeries } from '../src/pipeline/dicom/load-series.js';
import { initializeCodecs } from '../src/pipeline/dicom/pixels.js';
import { writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { configureLogging } from '../src/log.js';

const ROUNDS = 5;
// The compiled CLI next to this compiled bench (dist/bench → dist/src/cli.js), for the like-for-like comparison.
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');
const SYNTAXES: [string, string][] = [
  ['explicit LE (uncompressed)', '1.2.840.10008.1.2.1'],
  ['RLE Lossless', '1.2.840.10008.1.2.5'],
  ['JPEG 2000 Lossless', '1.2.840.10008.1.2.4.90'],
];

/** A head-like phantom: an ellipsoid "brain" inside a brighter "scalp" shell, with deterministic texture. */
function phantom(i: number, j: number, k: number): number {
  const x = (i - 128) / 90;
  const y = (j - 128) / 110;
  const z = (k - 88) / 75;
  const r = Math.sqrt(x * x + y * y + z * z);
  const texture = ((i * 73856093) ^ (j * 19349663) ^ (k * 83492791)) & 63;
  if (r < 0.85) return 600 + texture + Math.round(200 * Math.sin(i / 9) * Math.cos(j / 11));
  if (r < 1) return 1100 + texture;
  return texture >> 3;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1];
}

export async function run(): Promise<Record<string, unknown>> {
  configureLogging({ level: 'warn', stream: 'stderr' });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'volume-bench-'));
  const hasDcm2niix = spawnSync('dcm2niix', ['-v']).status !== null;
  await initializeCodecs();
  const results: Record<string, unknown> = { slices: 176, matrix: '256×256', rounds: ROUNDS, dcm2niix: hasDcm2niix };
  const rows: string[][] = [];
  try {
    for (const [name, uid] of SYNTAXES) {
      const dir = path.join(work, uid);
      const { paths } = await writeSyntheticSeries(dir, {
        rows: 256,
        columns: 256,
        slices: 176,
        pixelSpacing: [1, 1],
        sliceSpacing: 1,
        imageOrientationPatient: [0, 1, 0, 0, 0, -1],
        origin: [-88, -128, 128],
        transferSyntaxUid: uid,
        value: phantom,
      });
      const ours: number[] = [];
      const cli: number[] = [];
      const reference: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate the two so that background load on a shared machine hits both alike.
        let t = process.hrtime.bigint();
        const loaded = await loadSeries(paths);
        ours.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (loaded.volume.dims[2] !== 176) throw new Error('the bench series did not load as 176 slices');
        if (fs.existsSync(CLI)) {
          // Like dcm2niix: a fresh process that reads the folder and writes an uncompressed .nii.
          const out = path.join(work, `ours-${round}.nii`);
          t = process.hrtime.bigint();
          const r = spawnSync(process.execPath, [CLI, 'convert', dir, out], { stdio: 'pipe' });
          cli.push(Number(process.hrtime.bigint() - t) / 1e6);
          if (r.status !== 0) throw new Error(`brainstrip convert failed on ${name}: ${r.stderr}`);
          fs.rmSync(out, { force: true });
        }
        if (hasDcm2niix) {
          const out = path.join(work, `out-${round}`);
          fs.mkdirSync(out, { recursive: true });
          t = process.hrtime.bigint();
          const r = spawnSync('dcm2niix', ['-z', 'n', '-b', 'n', '-f', 'ref', '-o', out, dir], { stdio: 'pipe' });
          reference.push(Number(process.hrtime.bigint() - t) / 1e6);
          if (r.status !== 0) throw new Error(`dcm2niix failed on ${name}: ${r.stderr}`);
          fs.rmSync(out, { recursive: true, force: true });
        }
      }
      const entry = {
        brainstripMs: Math.round(median(ours)),
        convertMs: cli.length ? Math.round(median(cli)) : null,
        dcm2niixMs: hasDcm2niix ? Math.round(median(reference)) : null,
        ratio: hasDcm2niix ? Number((median(ours) / median(reference)).toFixed(2)) : null,
        convertRatio: hasDcm2niix && cli.length ? Number((median(cli) / median(reference)).toFixed(2)) : null,
      };
      results[name] = entry;
      rows.push([name, `${entry.brainstripMs}`, `${entry.convertMs ?? '—'}`, `${entry.dcm2niixMs ?? '—'}`, `${entry.ratio ?? '—'}`, `${entry.convertRatio ?? '—'}`]);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const header = ['transfer syntax', 'loadSeries ms', 'convert ms', 'dcm2niix ms', 'loadSeries/dcm2niix', 'convert/dcm2niix'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  for (const line of [header, ...rows]) console.log(line.map((cell, c) => cell.padEnd(widths[c])).join('  '));
  console.log('(median of rounds; loadSeries: decode + assemble in-process; convert and dcm2niix: a fresh process reading the folder and writing .nii)');
  return results;
}
