// Shared by the derived-object, SEG, SCU and end-to-end tests: a small synthetic source series (with a
// non-ASCII patient name and an oblique orientation) and helpers to validate objects with real DICOM tools.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { MrAcquisition } from '../src/pipeline/derived/acquisition.js';
import type { AlgorithmIdentity, DerivedObjectOptions } from '../src/pipeline/derived/objects.js';
import type { SourceSeries } from '../src/pipeline/dicom/series.js';
import type { Vec3, Volume } from '../src/pipeline/space/volume.js';
import { ENHANCED_MR_IMAGE_STORAGE, MR_IMAGE_STORAGE } from '../src/dicom/uids.js';

const run = promisify(execFile);

export { hasTool } from './tools.js';

export const repoRoot = path.resolve(import.meta.dirname, '..');
export { sharedData } from './shared-data.js';

export const algorithm: AlgorithmIdentity = { name: 'brainstrip-unet', version: '1.0.0', precision: 'INT8' };

export const options: DerivedObjectOptions = {
  uidRoot: '1.2.826.0.1.3680043.10.999',
  seriesDescriptionSuffix: ' skull-stripped',
  segSeriesDescriptionSuffix: ' brain SEG',
  seriesNumberOffset: 1000,
  softwareVersion: '0.1.0',
  now: new Date(Date.UTC(2026, 10, 25, 12, 0, 0)),
};

export const acquisition: MrAcquisition = {
  scanningSequence: ['GR', 'IR'],
  sequenceVariant: ['SK', 'SP', 'MP'],
  scanOptions: ['IR'],
  mrAcquisitionType: '3D',
  repetitionTime: 2300,
  echoTime: 2.26,
  echoTrainLength: 1,
  inversionTime: 900,
  flipAngle: 8,
  sliceThickness: 2,
  magneticFieldStrength: 3,
  imagedNucleus: '1H',
  patientPosition: 'HFS',
};

/** A 20×16×12 series tilted about two axes, as classic (one file per slice) or Enhanced (one multi-frame file). */
export function syntheticSource(enhanced: boolean): SourceSeries {
  const rows = 16;
  const columns = 20;
  const c = Math.cos(0.3);
  const s = Math.sin(0.3);
  const rowDir: Vec3 = [c, s, 0];
  const colDir: Vec3 = [-s * c, c * c, s];
  const normal: Vec3 = [
    rowDir[1] * colDir[2] - rowDir[2] * colDir[1],
    rowDir[2] * colDir[0] - rowDir[0] * colDir[2],
    rowDir[0] * colDir[1] - rowDir[1] * colDir[0],
  ];
  const sopClassUid = enhanced ? ENHANCED_MR_IMAGE_STORAGE : MR_IMAGE_STORAGE;
  const frames = Array.from({ length: 12 }, (_, k) => ({
    sopClassUid,
    sopInstanceUid: enhanced ? '1.2.3.4.5.6.100' : `1.2.3.4.5.6.${200 + k}`,
    frameNumber: enhanced ? k + 1 : undefined,
    imagePositionPatient: [-20 + 2 * k * normal[0], -16 + 2 * k * normal[1], 30 + 2 * k * normal[2]] as Vec3,
    path: `/nonexistent/${k}.dcm`,
  }));
  return {
    studyInstanceUid: '1.2.3.4.5.1',
    seriesInstanceUid: '1.2.3.4.5.2',
    frameOfReferenceUid: '1.2.3.4.5.3',
    sopClassUid,
    enhanced,
    modality: 'MR',
    seriesDescription: 'T1 MPRAGE sagittal with a rather long description that goes on',
    seriesNumber: 5,
    rows,
    columns,
    pixelSpacing: [1.5, 1.25],
    imageOrientationPatient: [...rowDir, ...colDir],
    frames,
    attributes: {
      PatientName: [{ Alphabetic: 'Müller^Jürgen' }],
      PatientID: 'PAT-0042',
      PatientBirthDate: '19700101',
      PatientSex: 'M',
      PatientAge: '056Y',
      StudyDate: '20260101',
      StudyTime: '101010',
      StudyID: 'S1',
      AccessionNumber: 'ACC-1',
      ReferringPhysicianName: [{ Alphabetic: 'Dr^Ñoño' }],
      StudyDescription: 'Kopf – Übersicht',
      SeriesDescription: 'T1 MPRAGE sagittal with a rather long description that goes on',
      SeriesNumber: 5,
      Manufacturer: 'Siemens Healthineers',
      BodyPartExamined: 'BRAIN',
      // Not conformant (TM with colons): must not be copied.
      SeriesTime: '10:10:10',
    },
  };
}

/**
 * A sphere of "brain" (values 100–900) in the middle of the grid inside a "skull" of 40 (the image), the mask of the
 * sphere, and the image with everything outside the mask 0 (the brain).
 */
export function syntheticBrain(source: SourceSeries): { image: Volume<Float32Array>; brain: Volume<Float32Array>; mask: Volume<Uint8Array> } {
  const dims: Vec3 = [source.columns, source.rows, source.frames.length];
  const n = dims[0] * dims[1] * dims[2];
  const brain = new Float32Array(n);
  const image = new Float32Array(n).fill(40);
  const mask = new Uint8Array(n);
  let v = 0;
  for (let k = 0; k < dims[2]; k++)
    for (let j = 0; j < dims[1]; j++)
      for (let i = 0; i < dims[0]; i++, v++) {
        const r = Math.hypot((i - 10) / 7, (j - 8) / 6, (k - 6) / 4);
        if (r <= 1) {
          mask[v] = 1;
          brain[v] = image[v] = 100 + 800 * (1 - r);
        }
      }
  const grid = { dims, spacing: [source.pixelSpacing[1], source.pixelSpacing[0], 2] as Vec3, origin: source.frames[0].imagePositionPatient, direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] as [Vec3, Vec3, Vec3] };
  return { image: { ...grid, data: image }, brain: { ...grid, data: brain }, mask: { ...grid, data: mask } };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `brainstrip-${prefix}-`));
}

/** dciodvfy's findings; it exits 0 even with errors, so errors are counted from its output. */
export async function dciodvfy(file: string): Promise<{ output: string; errors: string[]; warnings: string[] }> {
  const { stdout, stderr } = await run('dciodvfy', ['-new', file], { maxBuffer: 64 * 1024 * 1024 }).catch((e: { stdout?: string; stderr?: string }) => ({
    stdout: e.stdout ?? '',
    stderr: e.stderr ?? '',
  }));
  const output = `${stdout}${stderr}`;
  const lines = output.split('\n');
  return { output, errors: lines.filter((l) => l.startsWith('Error')), warnings: lines.filter((l) => l.startsWith('Warning')) };
}

export async function dcmdump(file: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('dcmdump', [...args, file], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}


/** Builds the skull-stripped series and SEG of the synthetic source and writes them as Part-10 files. */
export async function writeSyntheticResults(dir: string, enhanced = false) {
  const { buildSkullStrippedSeries } = await import('../src/pipeline/derived/skull-stripped.js');
  const { buildSegmentation } = await import('../src/pipeline/derived/segmentation.js');
  const { toPart10 } = await import('../src/pipeline/dicom/dcmjs.js');
  const source = syntheticSource(enhanced);
  const { image, mask } = syntheticBrain(source);
  const objects = [...buildSkullStrippedSeries({ source, image, mask, algorithm, options, acquisition }), buildSegmentation({ source, mask, algorithm, options, acquisition })];
  fs.mkdirSync(dir, { recursive: true });
  return objects.map((o) => {
    const file = path.join(dir, `${o.kind}-${o.sopInstanceUid}.dcm`);
    fs.writeFileSync(file, toPart10(o.dataset));
    return { path: file, sopClassUid: o.sopClassUid, sopInstanceUid: o.sopInstanceUid, label: o.kind === 'seg' ? 'SEG' : 'skull-stripped image' };
  });
}
