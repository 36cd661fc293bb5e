// Decode + assemble: a synthetic 176-slice 1 mm sagittal series (256×256, a T1-like head phantom) read into a
// volume by brainstrip's loader (in-process, and as `brainstrip convert` in a fresh process), against Debian's
// dcm2niix converting the same files in the same run. Reported as ratios to dcm2niix of the median wall time
// (lower is better), per transfer syntax. One warm-up round, then timed rounds; quick mode: 48 slices, two
// transfer syntaxes, two rounds.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSeries } from '../src/pipeline/dicom/load-series.js';
import { initializeCodecs } from '../src/pipeline/dicom/pixels.js';
import { writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { configureLogging } from '../src/log.js';
import { figure, ratio, summarize } from './report/measure.js';
import type { BarChartSpec, BenchOptions, BenchResult, Figure, Ratio } from './report/types.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, JPEG_2000_LOSSLESS, RLE_LOSSLESS } from '../src/dicom/uids.js';

// The compiled CLI next to this compiled bench (dist/bench → dist/src/cli.js), for the like-for-like comparison.
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');
const SYNTAXES: [string, string][] = [
  ['explicit LE (uncompressed)', EXPLICIT_VR_LITTLE_ENDIAN],
  ['RLE Lossless', RLE_LOSSLESS],
  ['JPEG 2000 Lossless', JPEG_2000_LOSSLESS],
];

const SLICE_CENTRE = 88;

/** A head-like phantom: an ellipsoid "brain" inside a brighter "scalp" shell, with deterministic texture. */
function phantom(i: number, j: number, k: number): number {
  const x = (i - 128) / 90;
  const y = (j - 128) / 110;
  const z = (k - SLICE_CENTRE) / 75;
  const r = Math.sqrt(x * x + y * y + z * z);
  const texture = ((i * 73856093) ^ (j * 19349663) ^ (k * 83492791)) & 63;
  if (r < 0.85) return 600 + texture + Math.round(200 * Math.sin(i / 9) * Math.cos(j / 11));
  if (r < 1) return 1100 + texture;
  return texture >> 3;
}

export async function run({ quick }: BenchOptions = { quick: false }): Promise<BenchResult> {
  configureLogging({ level: 'warn', stream: 'stderr' });
  const rounds = quick ? 2 : 5;
  const slices = quick ? 48 : 176;
  const syntaxes = quick ? SYNTAXES.filter(([, uid]) => uid !== RLE_LOSSLESS) : SYNTAXES;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'volume-bench-'));
  const hasDcm2niix = spawnSync('dcm2niix', ['-v']).status !== null;
  const hasCli = fs.existsSync(CLI);
  await initializeCodecs();
  const figures: Figure[] = [];
  const ratios: Ratio[] = [];
  const bars: BarChartSpec['bars'] = [];
  try {
    for (const [name, uid] of syntaxes) {
      const dir = path.join(work, uid);
      const { paths } = await writeSyntheticSeries(dir, {
        rows: 256,
        columns: 256,
        slices,
        pixelSpacing: [1, 1],
        sliceSpacing: 1,
        imageOrientationPatient: [0, 1, 0, 0, 0, -1],
        origin: [-slices / 2, -128, 128],
        transferSyntaxUid: uid,
        value: (i, j, k) => phantom(i, j, k + SLICE_CENTRE - slices / 2),
      });
      const ours: number[] = [];
      const cli: number[] = [];
      const reference: number[] = [];
      // round -1 is the warm-up (page cache, JIT, codecs)
      for (let round = -1; round < rounds; round++) {
        const keep = (into: number[], ms: number) => round >= 0 && into.push(ms);
        // Alternate the two so that background load on a shared machine hits both alike.
        let t = process.hrtime.bigint();
        const loaded = await loadSeries(paths);
        keep(ours, Number(process.hrtime.bigint() - t) / 1e6);
        if (loaded.volume.dims[2] !== slices) throw new Error(`the bench series did not load as ${slices} slices`);
        if (hasCli) {
          // Like dcm2niix: a fresh process that reads the folder and writes an uncompressed .nii.
          const out = path.join(work, `ours-${round}.nii`);
          t = process.hrtime.bigint();
          const r = spawnSync(process.execPath, [CLI, 'convert', dir, out], { stdio: 'pipe' });
          keep(cli, Number(process.hrtime.bigint() - t) / 1e6);
          if (r.status !== 0) throw new Error(`brainstrip convert failed on ${name}: ${r.stderr}`);
          fs.rmSync(out, { force: true });
        }
        if (hasDcm2niix) {
          const out = path.join(work, `out-${round}`);
          fs.mkdirSync(out, { recursive: true });
          t = process.hrtime.bigint();
          const r = spawnSync('dcm2niix', ['-z', 'n', '-b', 'n', '-f', 'ref', '-o', out, dir], { stdio: 'pipe' });
          keep(reference, Number(process.hrtime.bigint() - t) / 1e6);
          if (r.status !== 0) throw new Error(`dcm2niix failed on ${name}: ${r.stderr}`);
          fs.rmSync(out, { recursive: true, force: true });
        }
      }
      const measured: Array<[string, number[]]> = [['loadSeries (in-process)', ours], ['brainstrip convert', cli], ['dcm2niix', reference]];
      for (const [what, samples] of measured.filter(([, m]) => m.length)) {
        const s = summarize(samples);
        figures.push(figure(`${what}, ${name}`, 'ms', s, 0));
        bars.push({ group: name, series: what, median: s.median, min: s.min, max: s.max });
      }
      if (hasDcm2niix) {
        const base = summarize(reference).median;
        ratios.push(ratio(`loadSeries / dcm2niix, ${name}`, summarize(ours).median, base, 'dcm2niix on the same files', 'our time / dcm2niix time; below 1 is faster'));
        if (cli.length) ratios.push(ratio(`convert / dcm2niix, ${name}`, summarize(cli).median, base, 'dcm2niix on the same files', 'our time / dcm2niix time; below 1 is faster'));
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const notes = [
    `A synthetic ${slices}-slice 1 mm sagittal series (256×256, a T1-like head phantom) per transfer syntax; ${rounds} timed rounds after one warm-up round. loadSeries: decode + assemble in-process; convert and dcm2niix: a fresh process reading the folder and writing .nii.`,
  ];
  if (quick) notes.push('Quick mode: 48 slices and two transfer syntaxes (RLE left out).');
  if (!hasDcm2niix) notes.push('dcm2niix is not installed: no baseline, no ratios.');
  if (!hasCli) notes.push(`${CLI} not built: brainstrip convert not timed.`);
  return {
    title: 'DICOM series to volume: decode and assemble against dcm2niix',
    figures,
    ratios,
    charts: [{ kind: 'bar', id: 'decode', title: `Reading a ${slices}-slice series by transfer syntax`, unit: 'ms', bars }],
    notes,
    extra: { slices, matrix: '256×256', rounds, dcm2niix: hasDcm2niix },
  };
}
