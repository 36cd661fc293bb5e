// The model's evaluation (`brainstrip evaluate-model`, `npm run evaluate:model`): the shipped model, through the node's own pipeline
// (registration, model grid, network, back to the native grid, clean-up, review check), on heads it never
// learned from: every open-ms clinical image with its expert mask, and the held-out SynthSeg label maps rendered
// as T1-, T2- and FLAIR-like images. Writes the table (per image, per contrast: mean and worst), a contact sheet
// (one row per image: mask in red, reference in green, three planes) and how much the mask moves when the
// registration is wrong by 10° and 15 mm, or missing altogether. And the review flag, both ways: on every correct
// mask of the validation sets (the open-ms heads without patient03's defective references, the label maps, the
// real heads of the scanner series beside the training data) and on the same masks damaged (review-evaluation.ts).
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config/schema.js';
import { configureLogging } from '../log.js';
import { loadAtlas } from '../pipeline/segmentation/atlas.js';
import { extractBrain } from '../jobs/processing/extract-brain.js';
import { applyToPoint, indexToWorld } from '../pipeline/space/geometry.js';
import { type MaskDisagreement, compareMasks, dice, maskDisagreement } from '../pipeline/segmentation/mask-metrics.js';
import { readNifti } from '../pipeline/io/nifti.js';
import { oneShotPrecision, resolveModel } from '../pipeline/segmentation/model-files.js';
import { fillHoles } from '../pipeline/segmentation/postprocess.js';
import { seededRandom } from '../pipeline/registration/similarity.js';
import { type Contrast, renderLabelMap as renderLabelImage } from './quantize/label-images.js';
import { encodePng, qcViews, stackRows } from '../pipeline/io/qc-png.js';
import { type RigidTransform, composeTransforms, rigidAboutCentre, translation } from '../pipeline/space/transform.js';
import { type Vec3, type Volume, withData } from '../pipeline/space/volume.js';
import { createWorkerPool } from '../pool/pool.js';
import { binary } from './reference-mask.js';
import { type CorrectMask, type ReviewedMask, reviewDamaged, reviewTable } from './review-evaluation.js';
import { reviewLimits } from '../pipeline/segmentation/review-check.js';
import { loadVolume } from '../pipeline/dicom/load-input.js';

/** SynthSeg label maps kept out of training (training/heads.py VALIDATION_MAPS). */
export const HELD_OUT_LABEL_MAPS = [18, 19, 20];

export interface EvaluationCase {
  name: string;
  source: 'open-ms' | 'label-map';
  contrast: string;
  load(): { image: Volume<Float32Array>; reference: Volume<Uint8Array> };
}

export function openMsCases(dir: string): EvaluationCase[] {
  const cases: EvaluationCase[] = [];
  if (!fs.existsSync(dir)) return cases;
  for (const patient of fs.readdirSync(dir).filter((p) => p.startsWith('patient')).sort()) {
    for (const file of fs.readdirSync(path.join(dir, patient)).sort()) {
      const m = /^(study\d+)_(T1W|T2W|FLAIR)\.nii\.gz$/.exec(file);
      if (!m) continue;
      const reference = path.join(dir, patient, `${m[1]}_${m[2]}_brainmask.nii.gz`);
      if (!fs.existsSync(reference)) continue;
      cases.push({
        name: `${patient}/${m[1]}_${m[2]}`,
        source: 'open-ms',
        contrast: m[2],
        load: () => ({ image: readNifti(path.join(dir, patient, file)), reference: binary(readNifti(reference)) }),
      });
    }
  }
  return cases;
}

/**
 * A label map rendered as an image of one contrast (tools/quantize/label-images.ts), and its brain mask in
 * the model's convention: labels 1–499 with the holes filled, as the node fills its own masks (a few unlabelled
 * voxels lie inside the brain), and nothing below the foramen magnum, taken as the lowest point of the cerebellum
 * (the brain stem label runs on down the cervical canal).
 */
export function renderLabelMap(labels: Volume<Float32Array>, contrast: Contrast, seed: number): { image: Volume<Float32Array>; reference: Volume<Uint8Array> } {
  const { image, mask } = renderLabelImage(labels, contrast, seed);
  cutBelowCerebellum(labels, mask.data);
  return { image, reference: fillHoles(mask) };
}

const CEREBELLUM = new Set([7, 8, 46, 47]);

/** Clears the mask below the lowest cerebellar voxel (patient superior coordinate), in place. */
function cutBelowCerebellum(labels: Volume<Float32Array>, mask: Uint8Array): void {
  const toWorld = indexToWorld(labels);
  const [nx, ny, nz] = labels.dims;
  const superior = (i: number, j: number, k: number): number => applyToPoint(toWorld, [i, j, k])[2];
  let lowest = Infinity;
  for (let k = 0, v = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++, v++) {
    if (CEREBELLUM.has(Math.round(labels.data[v]))) lowest = Math.min(lowest, superior(i, j, k));
  }
  if (!Number.isFinite(lowest)) return;
  for (let k = 0, v = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++, v++) {
    if (mask[v] && superior(i, j, k) < lowest) mask[v] = 0;
  }
}

export function labelMapCases(dir: string): EvaluationCase[] {
  const cases: EvaluationCase[] = [];
  for (const index of HELD_OUT_LABEL_MAPS) {
    const file = path.join(dir, `training_seg_${String(index).padStart(2, '0')}.nii.gz`);
    if (!fs.existsSync(file)) continue;
    for (const contrast of ['T1', 'T2', 'FLAIR'] as const) {
      cases.push({
        name: `label-map-${index}/${contrast}`,
        source: 'label-map',
        contrast: `synthetic ${contrast}`,
        load: () => renderLabelMap(readNifti(file), contrast, index * 10 + contrast.length),
      });
    }
  }
  return cases;
}

/** Real heads among the scanner series (relative to the DICOM folder): positions, 2D and 3D, oblique EPI. */
export const DICOM_HEADS = [
  ...['HFS', 'HFP', 'HFDL', 'HFDR'].map((p) => `siemens-t1-patient-positions/${p}`),
  'siemens-xa30-t1-enhanced/5_anat-T1w_acq-tfl',
  'siemens-xa30-t1-enhanced/6_anat-T1w_acq-tfl',
  'canon-oblique-dwi/enh',
  'transfer-syntaxes/1.dcm',
];

/** patient03's references leave out brain (models/evaluation.md): its masks are shown, not counted for the review flag. */
const DEFECTIVE_REFERENCES = 'patient03/';

/** A rigid registration error of exactly `degrees` (about a random axis) and `mm` (random direction), in atlas space about `centre`. */
export function registrationError(random: () => number, degrees: number, mm: number, centre: Vec3): RigidTransform {
  const unit = (): Vec3 => {
    const z = 2 * random() - 1;
    const phi = 2 * Math.PI * random();
    const r = Math.sqrt(1 - z * z);
    return [r * Math.cos(phi), r * Math.sin(phi), z];
  };
  const axis = unit();
  const angle = (degrees * Math.PI) / 180;
  // Rodrigues' rotation about the unit axis
  const [x, y, z] = axis;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  const rotation = [t * x * x + c, t * x * y - s * z, t * x * z + s * y, 0, t * x * y + s * z, t * y * y + c, t * y * z - s * x, 0, t * x * z - s * y, t * y * z + s * x, t * z * z + c, 0, 0, 0, 0, 1];
  const d = unit();
  return rigidAboutCentre(rotation, centre, [d[0] * mm, d[1] * mm, d[2] * mm]);
}

/** Intensity-weighted centre of the voxels above a fifth of the 99th percentile (the head), in LPS mm. */
export function headCentre(image: Volume<Float32Array>): Vec3 {
  const step = Math.max(1, Math.floor(image.data.length / 100_000));
  const sample: number[] = [];
  for (let v = 0; v < image.data.length; v += step) sample.push(image.data[v]);
  sample.sort((a, b) => a - b);
  const threshold = 0.2 * sample[Math.floor(0.99 * (sample.length - 1))];
  const [nx, ny] = image.dims;
  let si = 0, sj = 0, sk = 0, n = 0;
  for (let v = 0; v < image.data.length; v++) {
    if (!(image.data[v] > threshold)) continue;
    si += v % nx;
    sj += Math.floor(v / nx) % ny;
    sk += Math.floor(v / (nx * ny));
    n++;
  }
  return applyToPoint(indexToWorld(image), n ? [si / n, sj / n, sk / n] : [(image.dims[0] - 1) / 2, (image.dims[1] - 1) / 2, (image.dims[2] - 1) / 2]);
}

interface CaseResult {
  name: string;
  source: string;
  contrast: string;
  dice: number;
  hd95Mm: number | null;
  predictedMl: number;
  referenceMl: number;
  flaggedForReview: boolean;
  reviewReason?: string;
  disagreement: MaskDisagreement;
  /** Dice of the mask made under each registration error (and with the header orientation only) against the
   * registered result, and against the reference: whether an error changes the mask, and whether it makes it worse. */
  robustness?: { perturbedDice: number[]; headerOnlyDice: number; perturbedDiceVsReference: number[]; headerOnlyDiceVsReference: number };
  seconds: number;
}

function summarise(rows: CaseResult[]) {
  const hd = rows.map((r) => r.hd95Mm ?? Infinity);
  return {
    images: rows.length,
    meanDice: rows.reduce((s, r) => s + r.dice, 0) / rows.length,
    worstDice: Math.min(...rows.map((r) => r.dice)),
    worstImage: rows.reduce((w, r) => (r.dice < w.dice ? r : w)).name,
    meanHd95Mm: hd.reduce((s, h) => s + h, 0) / rows.length,
    worstHd95Mm: Math.max(...hd),
  };
}

const f3 = (x: number) => x.toFixed(3);
const f1 = (x: number | null) => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(1));

function markdown(report: { model: string; groups: Record<string, ReturnType<typeof summarise>>; cases: CaseResult[]; robustness: Record<string, number> }): string {
  const lines = [`# Evaluation of ${report.model}`, '', '| set | images | mean Dice | worst Dice (image) | mean HD95 mm | worst HD95 mm |', '|---|---|---|---|---|---|'];
  for (const [name, g] of Object.entries(report.groups)) lines.push(`| ${name} | ${g.images} | ${f3(g.meanDice)} | ${f3(g.worstDice)} (${g.worstImage}) | ${f1(g.meanHd95Mm)} | ${f1(g.worstHd95Mm)} |`);
  lines.push('', '| image | contrast | Dice | HD95 mm | mask mL | reference mL | mask beyond reference mL, ≤ 3 mm / farther | reference missed mL, ≤ 3 mm / deeper | review flag | Dice under registration errors (min) | header only |', '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of report.cases) {
    const rob = c.robustness ? `${f3(Math.min(...c.robustness.perturbedDice))}` : '';
    const hdr = c.robustness ? f3(c.robustness.headerOnlyDice) : '';
    const d = c.disagreement;
    const where = `${d.extraNearMl.toFixed(0)} / ${d.extraFarMl.toFixed(0)} | ${d.missedNearMl.toFixed(0)} / ${d.missedFarMl.toFixed(0)}`;
    lines.push(`| ${c.name} | ${c.contrast} | ${f3(c.dice)} | ${f1(c.hd95Mm)} | ${c.predictedMl.toFixed(0)} | ${c.referenceMl.toFixed(0)} | ${where} | ${c.flaggedForReview ? `flagged: ${c.reviewReason ?? ''}` : 'no'} | ${rob} | ${hdr} |`);
  }
  if (Object.keys(report.robustness).length) {
    lines.push('', `Registration errors of 10° and 15 mm (random axis and direction, ${report.robustness.perturbations} per open-ms image): mask Dice against the registered result mean ${f3(report.robustness.meanDice)}, worst ${f3(report.robustness.worstDice)}; header orientation only (no registration): mean ${f3(report.robustness.headerOnlyMeanDice)}, worst ${f3(report.robustness.headerOnlyWorstDice)}. Against the expert masks: registered ${f3(report.robustness.registeredMeanDiceVsReference)}, under the errors ${f3(report.robustness.perturbedMeanDiceVsReference)}, header orientation only ${f3(report.robustness.headerOnlyMeanDiceVsReference)} (mean Dice).`);
  }
  return `${lines.join('\n')}\n`;
}

/** What to evaluate and where to write the table and the contact sheet. */
export interface EvaluationOptions {
  /** The training/validation data: open-ms/ and synthseg-label-maps/ below it. */
  data: string;
  out: string;
  /** Configuration file of the node whose pipeline runs (default configuration when undefined). */
  configFile?: string;
  /** Model name and precision; the configuration's where undefined. */
  model?: string;
  precision?: string;
  /** Registration errors tried per open-ms image. */
  perturbations: number;
  /** Only the cases whose name contains this (or one of several separated by |). */
  only?: string;
  /** Scanner series with real heads (DICOM_HEADS below it), for the review flag; absent: none. */
  dicom?: string;
}

/** Whether a case is among `only` (substrings separated by |; all cases when undefined). */
function selected(name: string, only: string | undefined): boolean {
  return !only || only.split('|').some((part) => name.includes(part));
}

/** Runs the evaluation and writes evaluation.json, evaluation.md and the contact sheet; 1 when there is nothing to evaluate. */
export async function evaluateModel(options: EvaluationOptions): Promise<number> {
  const { data, out, perturbations } = options;
  const config = loadConfig({ file: options.configFile });
  const model = { ...config.model, name: options.model ?? config.model.name, precision: oneShotPrecision((options.precision ?? config.model.precision) as 'FP32' | 'INT8' | 'auto') };
  configureLogging({ level: 'error', stream: 'stderr' });
  const cases = [...openMsCases(path.join(data, 'open-ms')), ...labelMapCases(path.join(data, 'synthseg-label-maps'))].filter((c) => selected(c.name, options.only));
  const dicomHeads = DICOM_HEADS.filter((h) => options.dicom && fs.existsSync(path.join(options.dicom, h)) && selected(h, options.only));
  if (cases.length === 0 && dicomHeads.length === 0) {
    console.error(`brainstrip evaluate-model: no open-ms images or label maps under ${data}`);
    return 1;
  }
  const atlas = loadAtlas(model.dir || undefined);
  const atlasCentre = headCentre(atlas.template);
  const pool = createWorkerPool(config);
  const resolved = resolveModel({ dir: model.dir || undefined, name: model.name, precision: model.precision, verify: model.verifyChecksums });
  const deps = { pool, atlas, model: resolved, config: { model, registration: config.registration } };
  const results: CaseResult[] = [];
  const rows = [];
  const random = seededRandom(20261130);
  const limits = reviewLimits(model.reviewDice);
  const reviewed: ReviewedMask[] = [];
  const modelGrid = resolved.grid ?? atlas.grid;
  const review = async (correct: Omit<CorrectMask, 'verdict' | 'mirroredReading'>, result: { flaggedForReview: boolean; reviewReason?: string }) => {
    const reading = await pool.run('mirrored-reading', { modelPath: resolved.path, intraOpThreads: pool.intraOpThreads, volume: correct.image, transform: correct.transform.matrix, grid: modelGrid });
    const verdict = { flagged: result.flaggedForReview, reasons: result.reviewReason ? [result.reviewReason] : [] };
    reviewed.push(...reviewDamaged({ ...correct, mirroredReading: withData(modelGrid, reading), verdict }, atlas, limits, reviewed.filter((r) => r.damage === 'none').length));
  };
  let modelName = '';
  try {
    for (const c of cases) {
      const t0 = performance.now();
      const { image, reference } = c.load();
      const result = await extractBrain(image, deps);
      modelName = `${result.model.name} ${result.model.version} ${result.model.precision}`;
      const metrics = compareMasks(result.mask, reference);
      const row: CaseResult = {
        name: c.name, source: c.source, contrast: c.contrast, ...metrics, flaggedForReview: result.flaggedForReview,
        disagreement: maskDisagreement(result.mask, reference), seconds: 0,
      };
      if (result.reviewReason) row.reviewReason = result.reviewReason;
      if (!c.name.startsWith(DEFECTIVE_REFERENCES))
        await review({ set: c.source === 'open-ms' ? 'open-ms without patient03' : 'held-out label maps', name: c.name, contrast: c.contrast, image, mask: result.mask, transform: result.transform }, result);
      if (c.source === 'open-ms' && perturbations > 0) {
        const perturbedDice: number[] = [];
        const perturbedDiceVsReference: number[] = [];
        for (let p = 0; p < perturbations; p++) {
          const error = registrationError(random, 10, 15, atlasCentre);
          const moved = await extractBrain(image, { ...deps, transform: composeTransforms(result.transform, error) });
          perturbedDice.push(dice(moved.mask.data, result.mask.data));
          perturbedDiceVsReference.push(dice(moved.mask.data, reference.data));
        }
        const c0 = headCentre(image);
        const headerOnly: RigidTransform = { matrix: translation([atlasCentre[0] - c0[0], atlasCentre[1] - c0[1], atlasCentre[2] - c0[2]]) };
        const header = await extractBrain(image, { ...deps, transform: headerOnly });
        row.robustness = {
          perturbedDice, headerOnlyDice: dice(header.mask.data, result.mask.data),
          perturbedDiceVsReference, headerOnlyDiceVsReference: dice(header.mask.data, reference.data),
        };
      }
      row.seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
      results.push(row);
      rows.push(qcViews(image, [result.mask, reference], { viewSize: 150 }));
      console.error(`${c.name}: Dice ${f3(row.dice)}, HD95 ${f1(row.hd95Mm)} mm, ${row.predictedMl.toFixed(0)}/${row.referenceMl.toFixed(0)} mL${row.flaggedForReview ? ', flagged' : ''}${row.robustness ? `, perturbed min ${f3(Math.min(...row.robustness.perturbedDice))}, header ${f3(row.robustness.headerOnlyDice)}` : ''}`);
    }
    for (const head of dicomHeads) {
      const image = (await loadVolume(path.join(options.dicom!, head))).volume;
      const result = await extractBrain(image, deps);
      await review({ set: 'scanner series (real heads)', name: head, contrast: head.includes('dwi') || head.includes('transfer') ? 'EPI' : 'T1 (DICOM)', image, mask: result.mask, transform: result.transform }, result);
      console.error(`${head}: ${result.flaggedForReview ? `flagged: ${result.reviewReason}` : 'not flagged'}`);
    }
  } finally {
    await pool.close();
  }
  const groups: Record<string, ReturnType<typeof summarise>> = {};
  const add = (name: string, sel: CaseResult[]) => {
    if (sel.length) groups[name] = summarise(sel);
  };
  add('open-ms, all', results.filter((r) => r.source === 'open-ms'));
  for (const contrast of ['T1W', 'T2W', 'FLAIR']) add(`open-ms ${contrast}`, results.filter((r) => r.source === 'open-ms' && r.contrast === contrast));
  add('held-out label maps, all', results.filter((r) => r.source === 'label-map'));
  for (const contrast of ['T1', 'T2', 'FLAIR']) add(`label maps ${contrast}`, results.filter((r) => r.contrast === `synthetic ${contrast}`));
  const robust = results.filter((r) => r.robustness);
  const all = robust.flatMap((r) => r.robustness!.perturbedDice);
  const headers = robust.map((r) => r.robustness!.headerOnlyDice);
  const mean = (xs: number[]) => xs.reduce((s, d) => s + d, 0) / xs.length;
  const robustness: Record<string, number> = all.length
    ? {
        perturbations, meanDice: mean(all), worstDice: Math.min(...all), headerOnlyMeanDice: mean(headers), headerOnlyWorstDice: Math.min(...headers),
        registeredMeanDiceVsReference: mean(robust.map((r) => r.dice)),
        perturbedMeanDiceVsReference: mean(robust.flatMap((r) => r.robustness!.perturbedDiceVsReference)),
        headerOnlyMeanDiceVsReference: mean(robust.map((r) => r.robustness!.headerOnlyDiceVsReference)),
      }
    : {};
  const report = { model: modelName, date: new Date().toISOString(), data, groups, robustness, cases: results, review: { limits, masks: reviewed } };
  const text = `${markdown(report)}\n${reviewTable(reviewed, limits)}`;
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'evaluation.json'), `${JSON.stringify(report, null, 1)}\n`);
  fs.writeFileSync(path.join(out, 'evaluation.md'), text);
  if (rows.length) {
    const sheet = stackRows(rows);
    fs.writeFileSync(path.join(out, 'evaluation-contact-sheet.png'), encodePng(sheet.width, sheet.height, sheet.rgb));
  }
  console.log(text);
  return 0;
}
