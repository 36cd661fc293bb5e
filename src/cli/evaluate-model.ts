// `brainstrip evaluate-model` (`npm run evaluate:model`): the model on every validation head, through the node's own
// pipeline (tools/evaluate-model.ts); this is its command line.
import path from 'node:path';
import { evaluateModel } from '../tools/evaluate-model.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip evaluate-model [options]

runs the model on every open-ms image and every held-out label map of <data> and writes
<out>/evaluation.json, <out>/evaluation.md and <out>/evaluation-contact-sheet.png

options:
  --data <dir>            the training/validation data (default ../shared/data/train)
  --dicom <dir>           scanner series with real heads, for the review flag (default: dicom/ beside <data>)
  --out <dir>             where to write (default models/)
  --model <name>          model from models/checksums.json (default: configuration)
  --precision FP32|INT8   (default: configuration; INT8 under auto)
  --perturbations <n>     registration errors tried per open-ms image (default 3)
  --only <substring>      only the cases whose name contains this (several: a|b)`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('evaluate-model', USAGE, argv, {
    data: { type: 'string' },
    dicom: { type: 'string' },
    out: { type: 'string' },
    model: { type: 'string' },
    precision: { type: 'string' },
    perturbations: { type: 'string' },
    only: { type: 'string' },
  });
  if (typeof args === 'number') return args;
  const { values } = args;
  const data = path.resolve(values.data ?? path.join('..', 'shared', 'data', 'train'));
  return evaluateModel({
    data,
    dicom: path.resolve(values.dicom ?? path.join(data, '..', 'dicom')),
    out: path.resolve(values.out ?? 'models'),
    configFile: values.config,
    model: values.model,
    precision: values.precision,
    perturbations: Number(values.perturbations ?? 3),
    only: values.only,
  });
}
