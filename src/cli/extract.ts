// `brainstrip extract <dicom-folder|dicom-file|nifti> --out <dir> [--model <name>]`: the brain mask of one volume
// on its own grid (the grid `brainstrip convert` writes), the skull-stripped image, a QC picture and the
// registration transform; prints the brain volume. Registration and inference run in the worker pool, as in
// the node.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config/schema.js';
import { configureLogging } from '../log.js';
import { AmbiguousSeriesError, SeriesError } from '../pipeline/dicom/errors.js';
import { loadVolume } from '../pipeline/dicom/load-input.js';
import { extractBrain } from '../jobs/processing/extract-brain.js';
import { writeNifti } from '../pipeline/io/nifti.js';
import { oneShotPrecision, resolveModel } from '../pipeline/segmentation/model-files.js';
import { qcPng } from '../pipeline/io/qc-png.js';
import { fromJson, toJson } from '../pipeline/space/transform.js';
import { type Volume, withData } from '../pipeline/space/volume.js';
import { createWorkerPool } from '../pool/pool.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip extract <dicom-folder|dicom-file|nifti> --out <dir> [options]

writes <dir>/mask.nii.gz (uint8, on the input's own grid), <dir>/brain.nii.gz, <dir>/qc.png and
<dir>/transform.json (input → atlas), and prints the brain volume in mL

options:
  --out <dir>                  output folder (created)
  --model <name>               model from models/checksums.json (default: configuration model.name)
  --precision FP32|INT8        model precision (default: configuration model.precision; INT8 under auto)
  --series <SeriesInstanceUID> the series to use when the folder holds several
  --transform <file.json>      use this input → atlas transform instead of registering
  --config <file.json>         configuration file`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('extract', USAGE, argv, {
    out: { type: 'string' },
    model: { type: 'string' },
    precision: { type: 'string' },
    series: { type: 'string' },
    transform: { type: 'string' },
  });
  if (typeof args === 'number') return args;
  const { values, positionals } = args;
  if (positionals.length !== 1 || !values.out) {
    console.error(USAGE);
    return 2;
  }
  if (values.precision && values.precision !== 'FP32' && values.precision !== 'INT8') {
    console.error('brainstrip extract: --precision must be FP32 or INT8');
    return 2;
  }
  const config = loadConfig({ file: values.config });
  const model = { ...config.model, name: values.model ?? config.model.name, precision: oneShotPrecision((values.precision ?? config.model.precision) as 'FP32' | 'INT8' | 'auto') };
  configureLogging({ level: 'warn', stream: 'stderr' });

  const input = positionals[0];
  const out = values.out;
  let pool: ReturnType<typeof createWorkerPool> | undefined;
  try {
    const transform = values.transform ? fromJson(JSON.parse(fs.readFileSync(values.transform, 'utf8'))) : undefined;
    const loaded = await loadVolume(input, { ...config.pipeline, seriesInstanceUid: values.series });
    const context = loaded.source ? { studyInstanceUid: loaded.source.studyInstanceUid, seriesInstanceUid: loaded.source.seriesInstanceUid } : {};
    const resolved = resolveModel({ dir: model.dir || undefined, name: model.name, precision: model.precision, verify: model.verifyChecksums });
    pool = createWorkerPool(config);
    const result = await extractBrain(loaded.volume, { pool, model: resolved, config: { model, registration: config.registration }, transform, context });
    fs.mkdirSync(out, { recursive: true });
    writeNifti(path.join(out, 'mask.nii.gz'), result.mask, { description: `brainstrip mask ${result.model.name} ${result.model.version}` });
    writeNifti(path.join(out, 'brain.nii.gz'), compact(result.brain), { description: 'brainstrip skull-stripped' });
    fs.writeFileSync(path.join(out, 'qc.png'), qcPng(loaded.volume, result.mask));
    fs.writeFileSync(
      path.join(out, 'transform.json'),
      JSON.stringify(toJson(result.transform, { atlasAgreementDice: result.atlasAgreementDice, atlasScale: result.atlasScale, brainVolumeMl: result.brainVolumeMl, model: result.model }), null, 1),
    );
    const flag = result.flaggedForReview ? `, FLAGGED FOR REVIEW (threshold ${model.reviewDice})` : '';
    console.log(
      `brain volume ${result.brainVolumeMl.toFixed(1)} mL; atlas agreement Dice ${result.atlasAgreementDice.toFixed(3)} (head ${result.atlasScale.toFixed(2)}× the atlas)${flag}; ` +
        `model ${result.model.name} ${result.model.version} ${result.model.precision}; written to ${out}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof AmbiguousSeriesError) {
      console.error(`brainstrip extract: ${error.message}\nrun again with --series <SeriesInstanceUID>`);
      return 2;
    }
    if (error instanceof SeriesError) {
      console.error(`brainstrip extract: cannot read the input: ${error.message}`);
      return 1;
    }
    console.error(`brainstrip extract: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await pool?.close();
  }
}

/** Integer-valued images are written as 16-bit integers (as `brainstrip convert` and dcm2niix do). */
function compact(volume: Volume<Float32Array>): Volume {
  let min = Infinity;
  let max = -Infinity;
  for (const v of volume.data) {
    if (!Number.isInteger(v)) return volume;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min >= -32768 && max <= 32767) return withData(volume, Int16Array.from(volume.data));
  return volume;
}
