// `brainstrip evaluate <predicted> <reference>`: how close a brain mask is to a reference mask, as JSON (Dice,
// HD95 in mm on the surfaces, both volumes in mL). Either may be NIfTI or a DICOM folder the node reads; a
// prediction on another grid is brought onto the reference's grid through patient space (nearest neighbour, so a
// mask stays a mask).
import { loadConfig } from '../../config/schema.js';
import { loadVolume } from '../pipeline/dicom/load-input.js';
import { compareMasks } from '../pipeline/segmentation/mask-metrics.js';
import { binary, onGridOf } from '../tools/reference-mask.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip evaluate <predicted-mask> <reference-mask>

prints {"dice", "hd95Mm", "predictedMl", "referenceMl"} as JSON; voxels above 0.5 are inside a mask.
A predicted mask on another grid is resampled onto the reference's grid (nearest neighbour, patient space).`;

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
