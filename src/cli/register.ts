// `brainstrip register <dicom-folder|dicom-file|nifti> --out <dir>`: rigid registration of one volume to the
// atlas. Writes <dir>/transform.json (4×4 row-major, patient LPS mm, input → atlas) and
// <dir>/atlas-space.nii.gz (the input resampled onto the atlas grid, through geometry.resample). A one-shot
// command, so the registration runs on this thread; the node runs the same function in the worker pool.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config/schema.js';
import { configureLogging } from '../log.js';
import { loadAtlas } from '../pipeline/segmentation/atlas.js';
import { AmbiguousSeriesError, SeriesError } from '../pipeline/dicom/errors.js';
import { loadVolume } from '../pipeline/dicom/load-input.js';
import { resample } from '../pipeline/space/resample.js';
import { writeNifti } from '../pipeline/io/nifti.js';
import { registerToAtlasWithReport, registrationOptionsFromConfig } from '../pipeline/registration/index.js';
import { invertTransform, toJson } from '../pipeline/space/transform.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip register <dicom-folder|dicom-file|nifti> --out <dir> [options]

writes <dir>/transform.json (input patient LPS mm → atlas LPS mm, 4×4 row-major) and <dir>/atlas-space.nii.gz

options:
  --out <dir>                    output folder (created if needed)
  --series <SeriesInstanceUID>   the series to register when the folder holds several
  --models <dir>                 models folder holding atlas/ (default: configuration model.dir, else shipped)
  --config <file.json>           configuration file`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('register', USAGE, argv, {
    out: { type: 'string' },
    series: { type: 'string' },
    models: { type: 'string' },
  });
  if (typeof args === 'number') return args;
  const { values, positionals } = args;
  if (positionals.length !== 1 || !values.out) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig({ file: values.config });
  configureLogging({ level: 'warn', stream: 'stderr' });
  try {
    const multiVolume = config.pipeline.multiVolume;
    const loaded = await loadVolume(positionals[0], { ...config.pipeline, multiVolume, seriesInstanceUid: values.series });
    const context = loaded.source
      ? { studyInstanceUid: loaded.source.studyInstanceUid, seriesInstanceUid: loaded.source.seriesInstanceUid }
      : {};
    const atlas = loadAtlas(values.models || config.model.dir || undefined);
    const report = await registerToAtlasWithReport(loaded.volume, atlas, { ...registrationOptionsFromConfig(config.registration), context });
    fs.mkdirSync(values.out, { recursive: true });
    const json = toJson(report.transform, {
      input: path.resolve(positionals[0]),
      ...context,
      method: 'normalised mutual information, rigid, multi-resolution (brainstrip)',
      nmi: Number(report.nmi.toFixed(4)),
      startingRotation: report.candidate === 0 ? 'as in the DICOM header' : `candidate ${report.candidate} of ${report.candidates}`,
      milliseconds: Math.round(report.milliseconds),
    });
    fs.writeFileSync(path.join(values.out, 'transform.json'), `${JSON.stringify(json, null, 2)}\n`);
    // Each atlas voxel takes its value from the input position that the transform sends onto it.
    const atlasSpace = resample(loaded.volume, atlas.grid, { targetToSource: invertTransform(report.transform).matrix, fill: 0 });
    writeNifti(path.join(values.out, 'atlas-space.nii.gz'), atlasSpace, { description: 'brainstrip register: input on the atlas grid' });
    console.log(`${values.out}: transform.json, atlas-space.nii.gz (NMI ${report.nmi.toFixed(3)}, ${(report.milliseconds / 1000).toFixed(1)} s)`);
    return 0;
  } catch (error) {
    if (error instanceof AmbiguousSeriesError) {
      console.error(`brainstrip register: ${error.message}\nrun again with --series <SeriesInstanceUID>`);
      return 2;
    }
    if (error instanceof SeriesError) {
      console.error(`brainstrip register: cannot register: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
