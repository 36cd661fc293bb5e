// A 1 mm sagittal 3D T1 series of a real head, as a scanner sends it: Colin27 (Debian's mricron-data) resampled
// onto a sagittal grid and written as classic MR instances, one per slice. Size and pixel spacing are the
// caller's, so the same head serves as a typical MPRAGE (256×256×176) and as a large series (512×512×200).
import fs from 'node:fs';
import { readNifti } from '../../src/pipeline/io/nifti.js';
import { resample } from '../../src/pipeline/space/resample.js';
import type { Grid, Vec3 } from '../../src/pipeline/space/volume.js';
import { writeSyntheticSeries } from '../../src/ops/synthetic-series.js';

export const colin27Path = '/usr/share/mricron/templates/ch2.nii.gz';

export interface HeadSeriesSpec {
  rows?: number;
  columns?: number;
  slices?: number;
  /** In-plane pixel spacing (mm); slices are 1 mm apart. */
  pixelSpacing?: number;
  seriesDescription?: string;
}

export function colin27Available(): boolean {
  return fs.existsSync(colin27Path);
}

/** Writes the series into `dir`; returns its UIDs and files. */
export async function writeHeadSeries(dir: string, spec: HeadSeriesSpec = {}) {
  const rows = spec.rows ?? 256;
  const columns = spec.columns ?? 256;
  const slices = spec.slices ?? 176;
  const ps = spec.pixelSpacing ?? 1;
  // Centred on the brain (LPS), the field of view reaching further down than up, as a sagittal MPRAGE does.
  const centre: Vec3 = [0, 18, 0];
  const origin: Vec3 = [(slices - 1) / 2, centre[1] - ((columns - 1) * ps) / 2, centre[2] + ((rows - 1) * ps) / 2 + 10];
  // Columns run anterior → posterior, rows superior → inferior, slices left → right.
  const grid: Grid = {
    dims: [columns, rows, slices],
    spacing: [ps, ps, 1],
    origin,
    direction: [
      [0, 1, 0],
      [0, 0, -1],
      [-1, 0, 0],
    ],
  };
  const head = resample(readNifti(colin27Path), grid);
  const data = head.data;
  let max = 0;
  for (const v of data) if (v > max) max = v;
  const scale = 3000 / (max || 1);
  return writeSyntheticSeries(dir, {
    rows,
    columns,
    slices,
    pixelSpacing: [ps, ps],
    sliceSpacing: 1,
    imageOrientationPatient: [0, 1, 0, 0, 0, -1],
    origin,
    value: (i, j, k) => Math.round(data[i + columns * (j + rows * k)] * scale),
    attributes: {
      SeriesDescription: spec.seriesDescription ?? 't1_mprage_sag 1mm',
      // As GE writes it: the count that lets a receiver know the series arrived whole.
      ImagesInAcquisition: slices,
      ImageType: ['ORIGINAL', 'PRIMARY', 'M', 'NORM', 'DIS3D'],
      MRAcquisitionType: '3D',
      ScanningSequence: ['GR', 'IR'],
      SequenceVariant: ['SP', 'MP'],
      RepetitionTime: 2300,
      EchoTime: 2.98,
      InversionTime: 900,
      FlipAngle: 9,
      MagneticFieldStrength: 3,
    },
  });
}
