// Calibration and validation inputs prepared exactly as the node prepares a series: load the volume (DICOM
// series or NIfTI), register it rigidly to the atlas, resample onto the model grid and normalise
// (pipeline/segmentation/model-input.ts). Reference masks, where a folder has them, go onto the same grid by the same
// transform (nearest neighbour).
import fs from 'node:fs';
import path from 'node:path';
import { type Atlas } from '../../pipeline/segmentation/atlas.js';
import { loadVolume } from '../../pipeline/dicom/load-input.js';
import { invert } from '../../pipeline/space/geometry.js';
import { resample } from '../../pipeline/space/resample.js';
import { modelInput } from '../../pipeline/segmentation/model-input.js';
import { isNiftiPath, readNifti } from '../../pipeline/io/nifti.js';
import { type RegistrationOptions, registerToAtlasWithReport } from '../../pipeline/registration/index.js';
import type { Grid } from '../../pipeline/space/volume.js';
import type { ValidationSample } from './validate.js';

const MASK_SUFFIX = /_mask\.nii(\.gz)?$/;

export interface InputItem {
  name: string;
  path: string;
  /** Reference brain mask (NIfTI on the image's grid). */
  mask?: string;
}

/** The images of a folder: NIfTI files (a `<stem>_mask.nii[.gz]` beside one is its reference) and DICOM series folders. */
export function listInputs(folder: string): InputItem[] {
  const entries = fs.readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  const items: InputItem[] = [];
  for (const e of entries) {
    const full = path.join(folder, e.name);
    if (e.isDirectory()) {
      const mask = ['_mask.nii.gz', '_mask.nii'].map((s) => path.join(folder, e.name + s)).find((m) => fs.existsSync(m));
      items.push({ name: e.name, path: full, ...(mask ? { mask } : {}) });
    } else if (isNiftiPath(e.name) && !MASK_SUFFIX.test(e.name)) {
      const stem = e.name.replace(/\.nii(\.gz)?$/, '');
      const mask = ['_mask.nii.gz', '_mask.nii'].map((s) => path.join(folder, stem + s)).find((m) => fs.existsSync(m));
      items.push({ name: stem, path: full, ...(mask ? { mask } : {}) });
    }
  }
  if (items.length === 0) throw new Error(`no NIfTI images or DICOM series folders in ${folder}`);
  return items;
}

export interface PrepareOptions {
  atlas: Atlas;
  grid: Grid;
  registration?: RegistrationOptions;
  onProgress?(message: string): void;
}

/** Each item as the network's input tensor on `grid`, with its reference mask on that grid when it has one. */
export async function prepareInputs(items: InputItem[], options: PrepareOptions): Promise<ValidationSample[]> {
  const samples: ValidationSample[] = [];
  for (const item of items) {
    const loaded = await loadVolume(item.path);
    const report = await registerToAtlasWithReport(loaded.volume, options.atlas, options.registration ?? {});
    const input = modelInput(loaded.volume, report.transform, options.grid);
    let reference: Uint8Array | undefined;
    if (item.mask) {
      const mask = readNifti(item.mask);
      const onGrid = resample(mask, options.grid, { targetToSource: invert(report.transform.matrix), interpolation: 'nearest', fill: 0 });
      reference = Uint8Array.from(onGrid.data, (v) => (v >= 0.5 ? 1 : 0));
    }
    options.onProgress?.(`${item.name}: registered (NMI ${report.nmi.toFixed(3)}, ${Math.round(report.milliseconds)} ms)${reference ? ', with reference mask' : ''}`);
    samples.push({ name: item.name, input, ...(reference ? { reference } : {}) });
  }
  return samples;
}
