// `brainstrip review <image> <mask>`: whether a person should look at a brain mask before trusting it — the check
// the node runs on every mask it makes (pipeline/segmentation/review-check.ts) — for a mask made anywhere. Prints
// the verdict as JSON: flagged or not, each reason in words, and the measures behind them. The image is
// registered to the atlas as the node does (or --transform gives the registration), and the configured network
// reads it mirrored as the node's check does; a mask on another grid is brought onto the image's grid through
// patient space.
import fs from 'node:fs';
import { loadConfig } from '../../config/schema.js';
import { configureLogging } from '../log.js';
import { AmbiguousSeriesError, SeriesError } from '../pipeline/dicom/errors.js';
import { loadVolume } from '../pipeline/dicom/load-input.js';
import { registerToAtlas, registrationOptionsFromConfig } from '../pipeline/registration/index.js';
import { loadAtlas } from '../pipeline/segmentation/atlas.js';
import { oneShotPrecision, resolveModel } from '../pipeline/segmentation/model-files.js';
import { createWorkerPool } from '../pool/pool.js';
import { withData } from '../pipeline/space/volume.js';
import { reviewLimits, reviewMask } from '../pipeline/segmentation/review-check.js';
import { fromJson } from '../pipeline/space/transform.js';
import { binary, onGridOf } from '../tools/reference-mask.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip review <image> <mask> [options]

prints the review verdict of the brain mask as JSON: {"flagged", "notAHead", "reasons", "evidence"};
<image> is a NIfTI file or a DICOM series (folder or file), <mask> a NIfTI or DICOM volume (above 0.5 is brain)

options:
  --series <SeriesInstanceUID>  the series of <image> to use when the folder holds several
  --transform <file.json>       the image → atlas transform (brainstrip register) instead of registering
  --models <dir>                models folder holding atlas/ (default: configuration model.dir, else shipped)
  --config <file.json>          configuration file (model.reviewDice, the model that reads the image)

exit status 0 with a verdict (flagged or not), 1 when the inputs cannot be read`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('review', USAGE, argv, {
    series: { type: 'string' },
    transform: { type: 'string' },
    models: { type: 'string' },
  });
  if (typeof args === 'number') return args;
  const { values, positionals } = args;
  if (positionals.length !== 2) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig({ file: values.config });
  configureLogging({ level: 'warn', stream: 'stderr' });
  let pool: ReturnType<typeof createWorkerPool> | undefined;
  try {
    const image = (await loadVolume(positionals[0], { ...config.pipeline, seriesInstanceUid: values.series })).volume;
    const mask = onGridOf(binary((await loadVolume(positionals[1], config.pipeline)).volume), image);
    const atlas = loadAtlas(values.models || config.model.dir || undefined);
    const transform = values.transform
      ? fromJson(JSON.parse(fs.readFileSync(values.transform, 'utf8')))
      : await registerToAtlas(image, atlas, registrationOptionsFromConfig(config.registration));
    const model = resolveModel({ dir: values.models || config.model.dir || undefined, name: config.model.name, precision: oneShotPrecision(config.model.precision), verify: config.model.verifyChecksums });
    const grid = model.grid ?? atlas.grid;
    pool = createWorkerPool({ pool: { ...config.pool, workers: 1 } });
    const reading = await pool.run('mirrored-reading', { modelPath: model.path, intraOpThreads: pool.intraOpThreads, volume: image, transform: transform.matrix, grid });
    const review = reviewMask(mask, atlas, transform, reviewLimits(config.model.reviewDice), { image, mirroredReading: withData(grid, reading) });
    console.log(JSON.stringify(review, (_key, value) => (typeof value === 'number' ? Number(value.toFixed(4)) : value), 2));
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof AmbiguousSeriesError) console.error(`brainstrip review: ${message}\nrun again with --series <SeriesInstanceUID>`);
    else console.error(`brainstrip review: ${error instanceof SeriesError ? 'cannot read the series: ' : ''}${message}`);
    return 1;
  } finally {
    await pool?.close();
  }
}
