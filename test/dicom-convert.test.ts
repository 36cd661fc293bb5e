// `brainstrip convert` as a user meets it: it lists the series of a folder and asks for one, converts the one
// chosen, refuses what is not a volume with a reason, and passes NIfTI through. Runs the compiled CLI.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { cornerPoints } from '../src/pipeline/space/geometry.js';
import { readNifti } from '../src/pipeline/io/nifti.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(repoRoot, 'dist/src/cli.js');

let work: string;
beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'dicom-convert-'));
});

function brainstrip(...args: string[]) {
  return spawnSync(process.execPath, [CLI, 'convert', ...args], { encoding: 'utf8' });
}

describe('brainstrip convert', () => {
  it('lists the series of a folder that holds several and asks for --series, then converts the chosen one', async () => {
    const folder = path.join(work, 'two-series');
    const a = await writeSyntheticSeries(path.join(folder, 'a'), { rows: 10, columns: 12, slices: 5, attributes: { SeriesDescription: 'T1 sag', SeriesNumber: 3 } });
    const b = await writeSyntheticSeries(path.join(folder, 'b'), { rows: 8, columns: 8, slices: 4, sliceSpacing: 2, attributes: { SeriesDescription: 'localizer', SeriesNumber: 1 } });
    const out = path.join(work, 'a.nii.gz');
    const ask = brainstrip(folder, out);
    expect(ask.status).toBe(2);
    expect(ask.stderr).toContain(a.seriesInstanceUid);
    expect(ask.stderr).toContain(b.seriesInstanceUid);
    expect(ask.stderr).toContain('"T1 sag"');
    expect(ask.stderr).toMatch(/--series/);
    expect(fs.existsSync(out)).toBe(false);

    const list = brainstrip('--list', folder);
    expect(list.status).toBe(0);
    expect(list.stdout.split('\n')[0]).toContain(b.seriesInstanceUid); // sorted by SeriesNumber

    const done = brainstrip(folder, out, '--series', a.seriesInstanceUid);
    expect(done.status, done.stderr).toBe(0);
    const volume = readNifti(out);
    expect(volume.dims).toEqual([12, 10, 5]);
    expect(volume.data[3 + 12 * (4 + 10 * 2)]).toBe(3 + 2 * 4 + 3 * 2);
  });

  it('refuses a single 2D image with a reason naming the series, and writes nothing', async () => {
    const s = await writeSyntheticSeries(path.join(work, 'single'), { rows: 10, columns: 10, slices: 1 });
    const out = path.join(work, 'single.nii.gz');
    const result = brainstrip(s.paths[0], out);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/single 2D image/);
    expect(result.stderr).toContain(s.seriesInstanceUid);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('takes another volume of a multi-volume series on request', async () => {
    const s = await writeSyntheticSeries(path.join(work, 'dwi'), { rows: 6, columns: 6, slices: 4, volumes: 3, value: (_i, _j, k, v) => 100 * v + k });
    const out = path.join(work, 'dwi.nii');
    expect(brainstrip(path.dirname(s.paths[0]), out).status).toBe(0);
    expect(readNifti(out).data[36 * 2]).toBe(2);
    expect(brainstrip(path.dirname(s.paths[0]), out, '--volume', '2').status).toBe(0);
    expect(readNifti(out).data[36 * 2]).toBe(202);
    const refused = brainstrip(path.dirname(s.paths[0]), out, '--multi-volume', 'refuse');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/3 volumes/);
  });

  it('passes a NIfTI volume through with its geometry', async () => {
    const s = await writeSyntheticSeries(path.join(work, 'nifti-src'), { rows: 7, columns: 9, slices: 5, imageOrientationPatient: [0, 1, 0, 0, 0, -1], origin: [-20, 30, 40] });
    const first = path.join(work, 'first.nii.gz');
    const second = path.join(work, 'second.nii.gz');
    expect(brainstrip(path.dirname(s.paths[0]), first).status).toBe(0);
    expect(brainstrip(first, second).status).toBe(0);
    const a = readNifti(first);
    const b = readNifti(second);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    cornerPoints(a).forEach((p, n) => p.forEach((x, c) => expect(cornerPoints(b)[n][c]).toBeCloseTo(x, 4)));
  });

  it('answers a missing input with a message, not a stack trace', () => {
    const result = brainstrip(path.join(work, 'nowhere'), path.join(work, 'x.nii.gz'));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/does not exist/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
