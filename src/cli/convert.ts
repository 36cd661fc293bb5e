// `brainstrip convert <dicom-folder|dicom-file|nifti> <out.nii[.gz]> [--series UID]`: one series (or NIfTI) → a
// NIfTI volume in patient space, on the source's own grid (no resampling). A folder with several series
// lists them and asks for --series.
import { loadConfig } from '../../config/schema.js';
import { AmbiguousSeriesError, SeriesError } from '../pipeline/dicom/errors.js';
import { loadVolume } from '../pipeline/dicom/load-input.js';
import { listSeries } from '../pipeline/dicom/load-series.js';
import { configureLogging } from '../log.js';
import { writeNifti } from '../pipeline/io/nifti.js';
import { type Volume, withData } from '../pipeline/space/volume.js';
import { parseCommand } from './args.js';

const USAGE = `usage: brainstrip convert <dicom-folder|dicom-file|nifti> <out.nii.gz> [options]

options:
  --series <SeriesInstanceUID>   the series to convert when the folder holds several
  --list                         list the series found in the input folder and exit
  --volume <n>                   0-based volume of a multi-volume series (diffusion, multi-echo)
  --multi-volume first|last|refuse   otherwise which volume to take (default: configuration pipeline.multiVolume)
  --config <file.json>           configuration file`;

export async function run(argv: string[]): Promise<number> {
  const args = parseCommand('convert', USAGE, argv, {
    series: { type: 'string' },
    list: { type: 'boolean' },
    volume: { type: 'string' },
    'multi-volume': { type: 'string' },
  });
  if (typeof args === 'number') return args;
  const { values, positionals } = args;
  const [input, output] = positionals;
  if (values.list && input) {
    for (const s of listSeries(input)) console.log(`${s.seriesInstanceUid}  #${s.seriesNumber ?? '?'} ${s.modality ?? ''} "${s.seriesDescription ?? ''}" ${s.instances} instance(s), ${s.frames} frame(s)`);
    return 0;
  }
  if (!input || !output || positionals.length > 2) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig({ file: values.config });
  // A one-shot tool: progress lines would drown the answer; problems still reach stderr.
  configureLogging({ level: 'warn', stream: 'stderr' });
  const multiVolume = (values['multi-volume'] ?? config.pipeline.multiVolume) as 'first' | 'last' | 'refuse';
  if (!['first', 'last', 'refuse'].includes(multiVolume)) {
    console.error(`brainstrip convert: --multi-volume must be first, last or refuse`);
    return 2;
  }
  const volumeIndex = values.volume === undefined ? undefined : Number(values.volume);
  if (volumeIndex !== undefined && !(Number.isInteger(volumeIndex) && volumeIndex >= 0)) {
    console.error('brainstrip convert: --volume must be a whole number ≥ 0');
    return 2;
  }
  try {
    const loaded = await loadVolume(input, { ...config.pipeline, multiVolume, volumeIndex, seriesInstanceUid: values.series });
    writeNifti(output, compact(loaded.volume), { description: loaded.source ? `brainstrip ${loaded.source.seriesDescription ?? ''}`.trim() : 'brainstrip' });
    const v = loaded.volume;
    console.log(`${output}: ${v.dims.join('×')} voxels of ${v.spacing.map((s) => s.toFixed(3)).join('×')} mm${loaded.source ? ` from series ${loaded.source.seriesInstanceUid}` : ''}`);
    return 0;
  } catch (error) {
    if (error instanceof AmbiguousSeriesError) {
      console.error(`brainstrip convert: ${error.message}\nrun again with --series <SeriesInstanceUID>`);
      return 2;
    }
    if (error instanceof SeriesError) {
      console.error(`brainstrip convert: cannot convert: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** Stores integer-valued volumes (most MR after rescale) as 16-bit integers, as dcm2niix does; else float32. */
function compact(volume: Volume<Float32Array>): Volume {
  const data = volume.data;
  let min = Infinity;
  let max = -Infinity;
  for (let v = 0; v < data.length; v++) {
    const x = data[v];
    if (x !== Math.round(x)) return volume;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (min >= -32768 && max <= 32767) return withData(volume, new Int16Array(data));
  if (min >= 0 && max <= 65535) return withData(volume, new Uint16Array(data));
  return volume;
}
