// What the CLI commands accept as an input volume: a DICOM folder, a single DICOM file (one Enhanced MR object
// or one slice of a series in a folder), or a NIfTI file.
import fs from 'node:fs';
import path from 'node:path';
import { isNiftiPath, readNifti } from '../io/nifti.js';
import type { LoadedSeries } from './series.js';
import type { Volume } from '../space/volume.js';
import { AmbiguousSeriesError, SeriesError } from './errors.js';
import { type LoadSeriesOptions, describeSeries, listSeries, loadSeries } from './load-series.js';

export type LoadedInput = LoadedSeries | { volume: Volume<Float32Array>; source?: undefined };

/**
 * Loads `input` as one volume. A folder with several series needs `seriesInstanceUid` (AmbiguousSeriesError lists
 * them otherwise). A single DICOM file is loaded on its own (an Enhanced MR object is a whole series).
 */
export async function loadVolume(input: string, options: LoadSeriesOptions = {}): Promise<LoadedInput> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(input);
  } catch {
    throw new Error(`input ${input} does not exist`);
  }
  if (stat.isFile() && isNiftiPath(input)) return { volume: readNifti(input) };
  if (stat.isFile()) return loadSeries([input], options);
  if (!stat.isDirectory()) throw new Error(`input ${input} is neither a file nor a folder`);
  const series = listSeries(input);
  if (series.length === 0) throw new SeriesError(`no DICOM files found under ${path.resolve(input)}`);
  let chosen = series[0];
  if (options.seriesInstanceUid) {
    const match = series.find((s) => s.seriesInstanceUid === options.seriesInstanceUid);
    if (!match) throw new SeriesError(`series ${options.seriesInstanceUid} is not under ${input}; found: ${series.map((s) => s.seriesInstanceUid).join(', ')}`);
    chosen = match;
  } else if (series.length > 1) {
    throw new AmbiguousSeriesError(series.map((s) => ({ seriesInstanceUid: s.seriesInstanceUid, description: describeSeries({ SeriesNumber: s.seriesNumber, Modality: s.modality, SeriesDescription: s.seriesDescription }, s.instances) })));
  }
  return loadSeries(chosen.paths, { ...options, seriesInstanceUid: chosen.seriesInstanceUid });
}
