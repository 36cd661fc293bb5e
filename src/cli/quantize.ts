// `brainstrip quantize --model <fp32.onnx> --calibration <folder> --out <int8.onnx>`: post-training INT8
// quantization with the accuracy-aware fallback. Calibration and validation images go through the node's own
// preprocessing (registration to the atlas, model grid, normalisation). Writes the INT8 model and, beside it,
// <out>.json: the FP32 model's sidecar fields, the exact command, and the quantization report (which layers stayed
// FP32 and why, calibration method, Dice drop).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config/schema.js';
import { configureLogging } from '../log.js';
import { loadAtlas } from '../pipeline/segmentation/atlas.js';
import { registrationOptionsFromConfig } from '../pipeline/registration/index.js';
import { quantize } from '../tools/quantize/index.js';
import { listInputs, prepareInputs } from '../tools/quantize/inputs.js';
import { modelGrid } from '../tools/quantize/model-grid.js';
import { decodeModel, inputShape } from '../tools/quantize/onnx-model.js';
import type { CalibrationMethod } from '../tools/quantize/calibrate.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip quantize --model <fp32.onnx> --calibration <folder> --out <int8.onnx> [options]

folders hold NIfTI images (a <name>_mask.nii.gz beside an image is its reference brain mask) or DICOM series folders

options:
  --model <fp32.onnx>          the FP32 model
  --calibration <folder>       images whose activations set the INT8 ranges
  --validation <folder>        images (ideally with reference masks) on which the Dice drop is measured
                               (default: the calibration images, against the FP32 masks)
  --out <int8.onnx>            the INT8 model; <out>.json beside it gets the report
  --max-dice-drop <d>          largest accepted Dice drop against FP32 (default 0.001)
  --method <m>                 minmax, percentile or both (default both: the one that keeps accuracy wins)
  --percentile <p>             share of values kept by the percentile method (default 0.9999)
  --threads <n>                ONNX Runtime threads (default 1)
  --speed-check                afterwards, return to FP32 the convolutions this CPU runs slower in INT8
                               (when the whole model then runs faster; the result is tuned to this CPU)
  --models <dir>               models folder holding atlas/ (default: configuration model.dir, else shipped)
  --config <file.json>         configuration file`;

function sha256(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('quantize', USAGE, argv, {
    model: { type: 'string' },
    calibration: { type: 'string' },
    validation: { type: 'string' },
    out: { type: 'string' },
    'max-dice-drop': { type: 'string' },
    method: { type: 'string' },
    percentile: { type: 'string' },
    threads: { type: 'string' },
    'speed-check': { type: 'boolean' },
    models: { type: 'string' },
  });
  if (typeof args === 'number') return args;
  const { values, positionals } = args;
  if (positionals.length || !values.model || !values.calibration || !values.out) {
    console.error(USAGE);
    return 2;
  }
  const maxDiceDrop = Number(values['max-dice-drop'] ?? 0.001);
  const percentile = Number(values.percentile ?? 0.9999);
  const threads = Number(values.threads ?? 1);
  const method = values.method ?? 'both';
  if (!(maxDiceDrop >= 0) || !(percentile > 0 && percentile <= 1) || !(threads >= 1) || !['minmax', 'percentile', 'both'].includes(method)) {
    console.error(`brainstrip quantize: bad --max-dice-drop, --percentile, --threads or --method\n\n${USAGE}`);
    return 2;
  }
  const config = loadConfig({ file: values.config });
  configureLogging({ level: 'warn', stream: 'stderr' });
  const log = (message: string) => console.error(`quantize: ${message}`);

  const fp32Bytes = new Uint8Array(fs.readFileSync(values.model));
  const atlas = loadAtlas(values.models || config.model.dir || undefined);
  const grid = modelGrid(path.resolve(values.model), atlas, inputShape(decodeModel(fp32Bytes)));
  const registration = registrationOptionsFromConfig(config.registration);
  const prepare = (folder: string) => prepareInputs(listInputs(folder), { atlas, grid, registration, onProgress: log });

  log(`preparing calibration images from ${values.calibration}`);
  const calibration = await prepare(values.calibration);
  const validation = values.validation ? (log(`preparing validation images from ${values.validation}`), await prepare(values.validation)) : calibration.map(({ name, input }) => ({ name, input }));

  const { model, report } = await quantize(fp32Bytes, {
    calibration: calibration.map((s) => s.input),
    validation,
    maxDiceDrop,
    methods: method === 'both' ? ['minmax', 'percentile'] : [method as CalibrationMethod],
    percentile,
    threads,
    speedCheck: Boolean(values['speed-check']),
    onProgress: log,
  });
  fs.mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
  fs.writeFileSync(values.out, model);

  const fp32Sidecar = values.model.replace(/\.onnx$/, '.json');
  const inherited = fs.existsSync(fp32Sidecar) ? (JSON.parse(fs.readFileSync(fp32Sidecar, 'utf8')) as Record<string, unknown>) : {};
  const sidecar = {
    ...inherited,
    file: path.basename(values.out),
    sha256: sha256(model),
    precision: 'INT8',
    source: { file: path.basename(values.model), sha256: sha256(fp32Bytes) },
    command: ['brainstrip', 'quantize', ...argv].join(' '),
    calibrationImages: calibration.map((s) => s.name),
    validationImages: validation.map((s) => s.name),
    quantization: report,
  };
  fs.writeFileSync(values.out.replace(/\.onnx$/, '') + '.json', `${JSON.stringify(sidecar, null, 1)}\n`);
  const verdict = report.withinLimit ? 'within' : 'NOT within';
  console.log(
    `${values.out}: ${report.quantized.length} of ${report.layers} convolutions INT8 (${report.fp32.map((f) => f.layer).join(', ') || 'none'} FP32); ` +
      `calibration ${report.calibration.method}; Dice drop ${report.fp32VsInt8.diceDrop.toFixed(5)} (${verdict} ${maxDiceDrop}), ` +
      `Dice INT8 vs FP32 masks ${report.fp32VsInt8.agreement.toFixed(5)}`,
  );
  return report.withinLimit ? 0 : 1;
}
