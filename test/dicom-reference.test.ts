// `brainstrip convert` against an independent reference: Debian's dcm2niix on the same real scanner series, and
// DCMTK's dcmdump for the raw header values. Geometry is checked in patient space (corner voxel centres), voxel
// values after mapping every voxel through both files' own voxel-to-world transforms.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import type * as Codecs from 'dcmjs-codecs';
import { loadSeries } from '../src/pipeline/dicom/load-series.js';
import { initializeCodecs } from '../src/pipeline/dicom/pixels.js';
import { applyToPoint, cornerPoints, indexToWorld, worldToIndex } from '../src/pipeline/space/geometry.js';
import { readNifti } from '../src/pipeline/io/nifti.js';
import { sharedData, sharedDataPresent } from './shared-data.js';
import { hasTool } from './tools.js';
import type { Vec3, Volume } from '../src/pipeline/space/volume.js';
import { EXPLICIT_VR_BIG_ENDIAN, JPEG_LS_LOSSLESS, RLE_LOSSLESS } from '../src/dicom/uids.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA = path.join(sharedData, 'dicom');
const CLI = path.join(repoRoot, 'dist/src/cli.js');
const haveData = sharedDataPresent('the real-scanner comparisons of dicom-reference', DATA);
const haveDcm2niix = hasTool('dcm2niix', 'the comparison with dcm2niix');

// dcm2niix stores its sform as float32 (about 1e-5 mm at 100 mm) and, for classic series, extrapolates the slice
// axis from the first gap of 6-digit positions; 0.01 mm plus that rounding is the agreement asked for.
const CORNER_TOLERANCE_MM = 0.0101;

const VOLUME_SERIES = [
  'siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl',
  'siemens-xa30-t1-classic/6001_anat-T1w_acq-tfl',
  'siemens-xa30-t1-enhanced/5_anat-T1w_acq-tfl',
  'siemens-xa30-t1-enhanced/6_anat-T1w_acq-tfl',
  'siemens-t1-patient-positions/HFS/3_t1_fl2d_sag',
  'siemens-t1-patient-positions/HFP/2_t1_fl2d_sag',
  'siemens-t1-patient-positions/HFDL/2_t1_fl2d_sag',
  'siemens-t1-patient-positions/HFDR/2_t1_fl2d_sag',
  'canon-oblique-dwi/cl',
  'canon-oblique-dwi/enh',
  // A Siemens mosaic (35 EPI slices tiled in one image); dcm2niix here lacks JPEG-LS, so the explicit LE copy.
  'transfer-syntaxes/1.dcm',
];

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'dicom-reference-'));
  if (haveData && !fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
});

function dcm2niix(input: string, name: string): Volume<Float32Array> {
  const out = path.join(work, `ref-${name}`);
  fs.mkdirSync(out, { recursive: true });
  // dcm2niix converts whole folders: a single file gets a folder of its own.
  let folder = input;
  if (fs.statSync(input).isFile()) {
    folder = path.join(work, `in-${name}`);
    fs.mkdirSync(folder, { recursive: true });
    fs.copyFileSync(input, path.join(folder, path.basename(input)));
  }
  execFileSync('dcm2niix', ['-z', 'n', '-b', 'n', '-f', 'ref', '-o', out, folder], { stdio: 'pipe' });
  // 4D output (diffusion): volume 0 is the one compared, the loader's documented default.
  return readNifti(path.join(out, 'ref.nii'), { volumeIndex: 0 });
}

function convert(input: string, name: string): Volume<Float32Array> {
  const out = path.join(work, `ours-${name}.nii.gz`);
  const result = spawnSync(process.execPath, [CLI, 'convert', input, out], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return readNifti(out);
}

function maxCornerDistance(a: Volume, b: Volume): number {
  const cb = cornerPoints(b);
  return Math.max(...cornerPoints(a).map((p) => Math.min(...cb.map((q) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2])))));
}

/** Voxels of `ours` whose value differs from `ref` at the same patient position (reference found by rounding). */
function differingVoxels(ours: Volume<Float32Array>, ref: Volume<Float32Array>): number {
  const m = worldToIndex(ref);
  const toWorld = indexToWorld(ours);
  let differ = 0;
  const [nx, ny, nz] = ours.dims;
  for (let k = 0, o = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, o++) {
        const [x, y, z] = applyToPoint(m, applyToPoint(toWorld, [i, j, k])).map(Math.round);
        const inside = x >= 0 && y >= 0 && z >= 0 && x < ref.dims[0] && y < ref.dims[1] && z < ref.dims[2];
        if (!inside || ref.data[x + ref.dims[0] * (y + ref.dims[1] * z)] !== ours.data[o]) differ++;
      }
    }
  }
  return differ;
}

describe.skipIf(!haveData || !haveDcm2niix)('brainstrip convert agrees with dcm2niix on real scanner series', () => {
  for (const series of VOLUME_SERIES) {
    it(`${series}: same corner voxel positions (≤ 0.01 mm) and the same voxel values`, () => {
      const name = series.replace(/\//g, '_');
      const folder = path.join(DATA, series);
      const ref = dcm2niix(folder, name);
      const ours = convert(folder, name);
      expect(ours.dims.reduce((a, b) => a * b)).toBe(ref.dims.reduce((a, b) => a * b));
      expect(maxCornerDistance(ours, ref)).toBeLessThanOrEqual(CORNER_TOLERANCE_MM);
      expect(differingVoxels(ours, ref)).toBe(0);
    });
  }
});

/** The raw header values DCMTK reads from one file (an independent DICOM parser). */
function dcmdumpGeometry(file: string): { position: Vec3; orientation: number[]; spacing: number[]; patientPosition: string } {
  const text = execFileSync('dcmdump', ['-q', '+P', '0020,0032', '+P', '0020,0037', '+P', '0028,0030', '+P', '0018,5100', file], { encoding: 'utf8' });
  const value = (tag: string) => (text.split('\n').find((l) => l.startsWith(`(${tag})`)) ?? '').match(/\[(.*)\]/)?.[1] ?? '';
  const numbers = (tag: string) => value(tag).split('\\').map(Number);
  return { position: numbers('0020,0032') as Vec3, orientation: numbers('0020,0037'), spacing: numbers('0028,0030'), patientPosition: value('0018,5100') };
}

describe.skipIf(!haveData)('patient positions: the volume sits where the DICOM headers say', () => {
  for (const position of ['HFS', 'HFP', 'HFDL', 'HFDR']) {
    it(`${position}: every slice's first voxel is its ImagePositionPatient, axes follow ImageOrientationPatient and PixelSpacing`, async () => {
      const folder = path.join(DATA, 'siemens-t1-patient-positions', position);
      const files = fs.readdirSync(folder, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
      const { volume, source } = await loadSeries(files);
      expect(source.attributes.PatientPosition).toBe(position);
      const m = indexToWorld(volume);
      source.frames.forEach((frame, k) => {
        const header = dcmdumpGeometry(frame.path);
        expect(header.patientPosition).toBe(position);
        const p0 = applyToPoint(m, [0, 0, k]);
        const alongRow = applyToPoint(m, [1, 0, k]);
        const alongColumn = applyToPoint(m, [0, 1, k]);
        for (let a = 0; a < 3; a++) {
          expect(p0[a]).toBeCloseTo(header.position[a], 4);
          expect(alongRow[a] - p0[a]).toBeCloseTo(header.orientation[a] * header.spacing[1], 5);
          expect(alongColumn[a] - p0[a]).toBeCloseTo(header.orientation[3 + a] * header.spacing[0], 5);
        }
      });
    });
  }
});

describe.skipIf(!haveData)('classic and Enhanced MR of the Siemens XA30 T1', () => {
  it('give the same grid, slice for slice (the exports are separate acquisitions of one protocol)', async () => {
    const load = (dir: string) => loadSeries(fs.readdirSync(path.join(DATA, dir)).map((f) => path.join(DATA, dir, f)));
    for (const [classic, enhanced] of [
      ['siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl', 'siemens-xa30-t1-enhanced/5_anat-T1w_acq-tfl'],
      ['siemens-xa30-t1-classic/6001_anat-T1w_acq-tfl', 'siemens-xa30-t1-enhanced/6_anat-T1w_acq-tfl'],
    ]) {
      const c = await load(classic);
      const e = await load(enhanced);
      expect(c.source.enhanced).toBe(false);
      expect(e.source.enhanced).toBe(true);
      expect(e.source.frames.map((f) => f.frameNumber)).toHaveLength(96);
      expect(c.volume.dims).toEqual(e.volume.dims);
      expect(maxCornerDistance(c.volume, e.volume)).toBeLessThan(1e-4);
      for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) expect(c.volume.direction[a][b]).toBeCloseTo(e.volume.direction[a][b], 6);
      c.source.frames.forEach((f, k) => f.imagePositionPatient.forEach((x, a) => expect(x).toBeCloseTo(e.source.frames[k].imagePositionPatient[a], 4)));
    }
  });
});

describe.skipIf(!haveData)('Enhanced MR in compressed transfer syntaxes', () => {
  // The real XA30 Enhanced object, transcoded frame by frame by dcmjs-codecs (one fragment per frame, as PACS
  // send them), must give the volume of the uncompressed original.
  const source = path.join(DATA, 'siemens-xa30-t1-enhanced/5_anat-T1w_acq-tfl');
  for (const [name, uid] of [
    ['JPEG-LS Lossless', JPEG_LS_LOSSLESS],
    ['RLE Lossless', RLE_LOSSLESS],
    ['explicit big endian', EXPLICIT_VR_BIG_ENDIAN],
  ]) {
    it(`${name}: identical volume and frames`, async () => {
      await initializeCodecs();
      const codecs = createRequire(import.meta.url)('dcmjs-codecs') as typeof Codecs;
      const file = path.join(source, fs.readdirSync(source)[0]);
      const original = await loadSeries([file]);
      const bytes = fs.readFileSync(file);
      const transcoder = new codecs.Transcoder(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      transcoder.transcode(uid);
      const out = path.join(work, `enhanced-${uid}.dcm`);
      fs.writeFileSync(out, Buffer.from(transcoder.getDicomPart10()));
      const transcoded = await loadSeries([out]);
      expect(transcoded.source.frames.map((f) => f.frameNumber)).toEqual(original.source.frames.map((f) => f.frameNumber));
      expect(transcoded.volume.origin).toEqual(original.volume.origin);
      expect(Buffer.compare(Buffer.from(transcoded.volume.data.buffer), Buffer.from(original.volume.data.buffer))).toBe(0);
    });
  }
});
