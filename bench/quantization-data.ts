// Calibration and validation images for `brainstrip quantize`, rendered from SynthSeg's whole-head label maps
// 01–17 (../shared/data/train/synthseg-label-maps): 01–09 calibrate, 10–17 validate (with their exact brain
// masks). Label maps 18–20 and the open-ms patients are what the model's accuracy is reported on, so they are
// never used here. Contrasts cycle T1, T2, FLAIR. Deterministic: the same files every run.
//
//   node dist/bench/quantization-data.js [--labels <dir>] [--out var/quantization-data] [--quick]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readNifti, writeNifti } from '../src/pipeline/io/nifti.js';
import { type Contrast, renderLabelMap } from '../src/tools/quantize/label-images.js';

export const CALIBRATION_MAPS = [1, 2, 3, 4, 5, 6, 7, 8, 9];
export const VALIDATION_MAPS = [10, 11, 12, 13, 14, 15, 16, 17];
/** The model's evaluation set: never used by the quantizer, only to report accuracy. */
export const EVALUATION_MAPS = [18, 19, 20];
const CONTRASTS: Contrast[] = ['t1', 't2', 'flair'];

export function defaultLabelsDir(): string {
  return path.resolve('..', 'shared', 'data', 'train', 'synthseg-label-maps');
}

function render(labelsDir: string, index: number, folder: string, withMask: boolean): void {
  const id = String(index).padStart(2, '0');
  const contrast = CONTRASTS[index % CONTRASTS.length];
  const stem = path.join(folder, `seg_${id}_${contrast}`);
  if (fs.existsSync(`${stem}.nii.gz`) && (!withMask || fs.existsSync(`${stem}_mask.nii.gz`))) return;
  const labels = readNifti(path.join(labelsDir, `training_seg_${id}.nii.gz`));
  const { image, mask } = renderLabelMap(labels, contrast, 1000 + index);
  writeNifti(`${stem}.nii.gz`, image);
  if (withMask) writeNifti(`${stem}_mask.nii.gz`, mask);
  console.error(`wrote ${stem}.nii.gz`);
}

/** Writes <out>/calibration and <out>/validation (skipping files already there); returns the two folders. */
export function writeQuantizationData(options: { labelsDir?: string; out: string; quick?: boolean }): { calibration: string; validation: string } {
  const labelsDir = options.labelsDir ?? defaultLabelsDir();
  if (!fs.existsSync(labelsDir)) throw new Error(`SynthSeg label maps not found at ${labelsDir}`);
  const calibration = path.join(options.out, options.quick ? 'calibration-quick' : 'calibration');
  const validation = path.join(options.out, options.quick ? 'validation-quick' : 'validation');
  fs.mkdirSync(calibration, { recursive: true });
  fs.mkdirSync(validation, { recursive: true });
  for (const i of options.quick ? CALIBRATION_MAPS.slice(0, 3) : CALIBRATION_MAPS) render(labelsDir, i, calibration, false);
  for (const i of options.quick ? VALIDATION_MAPS.slice(0, 3) : VALIDATION_MAPS) render(labelsDir, i, validation, true);
  return { calibration, validation };
}

/** Label maps 18–20 rendered with their masks into <out>/evaluation (for the report only). */
export function writeEvaluationData(options: { labelsDir?: string; out: string; quick?: boolean }): string {
  const labelsDir = options.labelsDir ?? defaultLabelsDir();
  const folder = path.join(options.out, 'evaluation');
  fs.mkdirSync(folder, { recursive: true });
  for (const i of options.quick ? EVALUATION_MAPS.slice(0, 1) : EVALUATION_MAPS) render(labelsDir, i, folder, true);
  return folder;
}

/** The open-ms patients' images with their brain masks on the image's own grid (real clinical heads). */
export function openMsItems(root = path.resolve('..', 'shared', 'data', 'train', 'open-ms'), quick = false): Array<{ name: string; path: string; mask: string }> {
  if (!fs.existsSync(root)) return [];
  const items = fs
    .readdirSync(root)
    .filter((p) => p.startsWith('patient'))
    .sort()
    .flatMap((patient) =>
      fs
        .readdirSync(path.join(root, patient))
        .filter((f) => /^study\d+_(T1W|T2W|FLAIR)\.nii\.gz$/.test(f))
        .sort()
        .map((f) => ({ name: `${patient}/${f.replace('.nii.gz', '')}`, path: path.join(root, patient, f), mask: path.join(root, patient, f.replace('.nii.gz', '_brainmask.nii.gz')) }))
        .filter((item) => fs.existsSync(item.mask)),
    );
  return quick ? items.filter((_, i) => i % 6 === 0) : items;
}

const isMain = process.argv[1] && path.resolve(process.argv[1]).endsWith(path.join('bench', 'quantization-data.js'));
if (isMain) {
  const { values } = parseArgs({ options: { labels: { type: 'string' }, out: { type: 'string' }, quick: { type: 'boolean' } } });
  const folders = writeQuantizationData({ labelsDir: values.labels, out: values.out ?? path.join('var', 'quantization-data'), quick: values.quick });
  console.log(JSON.stringify(folders));
}
