// `brainstrip evaluate <predicted> <reference>`: how close a brain mask is to a reference mask, as JSON (Dice,
// HD95 in mm on the surfaces, both volumes in mL). Either may be NIfTI or a DICOM folder the node reads; a
// prediction on another grid is brought onto the reference's grid through patient space (nearest neighbour, so a
// mask stays a mask).
import { loadConfig } from '../../config/schema.js';
import { loadVolume } from '../pipeline/dicom/load-input.js';
import { resample } from '../pipeline/space/geometry.js';
import { compareMasks } from '../pipeline/segmentation/mask-metrics.js';
import { type Grid, type Volume, withData } from '../pipeline/space/volume.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip evaluate <predicted-mask> <reference-mask>

prints {"dice", "hd95Mm", "predictedMl", "referenceMl"} as JSON; voxels above 0.5 are inside a mask.
A predicted mask on another grid is resampled onto the reference's grid (nearest neighbour, patient space).`;

export function binary(volume: Volume<Float32Array>): Volume<Uint8Array> {
  const data = new Uint8Array(volume.data.length);
  for (let v = 0; v < data.length; v++) data[v] = volume.data[v] > 0.5 ? 1 : 0;
  return withData(volume, data);
}

function sameGrid(a: Grid, b: Grid): boolean {
  const close = (x: readonly number[], y: readonly number[]) => x.every((v, i) => Math.abs(v - y[i]) < 1e-4);
  return close(a.dims, b.dims) && close(a.spacing, b.spacing) && close(a.origin, b.origin) && a.direction.every((d, i) => close(d, b.direction[i]));
}

/** `predicted` on `reference`'s grid. */
export function onGridOf(predicted: Volume<Uint8Array>, reference: Grid): Volume<Uint8Array> {
  if (sameGrid(predicted, reference)) return predicted;
  return resample(predicted, reference, { interpolation: 'nearest', fill: 0 }) as Volume<Uint8Array>;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('evaluate', USAGE, argv, {});
  if (typeof args === 'number') return args;
  if (args.positionals.length !== 2) {
    console.error(USAGE);
    return 2;
  }
  try {
    const config = loadConfig({ file: args.values.config });
    const pipeline = config.pipeline;
    const [predicted, reference] = await Promise.all(args.positionals.map(async (p) => binary((await loadVolume(p, pipeline)).volume)));
    const result = compareMasks(onGridOf(predicted, reference), reference);
    console.log(JSON.stringify(result));
    return 0;
  } catch (error) {
    console.error(`brainstrip evaluate: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
