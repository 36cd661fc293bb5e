// The source's grid as the multi-frame objects describe it: a volume must lie on it (frame k is source slice k),
// and its pixel measures and plane orientation are written once in the shared functional group.
import { DicomError } from '../../dicom/errors.js';
import type { Dataset } from '../dicom/dcmjs.js';
import type { SourceSeries } from '../dicom/series.js';
import type { Volume } from '../space/volume.js';
import type { MrAcquisition } from './acquisition.js';
import { ds, stripUndefined } from './values.js';

/** Checks that a volume lies on the source's native grid, so frame k of the volume is source slice k. */
export function assertOnSourceGrid(source: SourceSeries, volume: Volume, what: string): void {
  const [ni, nj, nk] = volume.dims;
  if (ni !== source.columns || nj !== source.rows || nk !== source.frames.length) {
    throw DicomError.withMessage(
      `${what} is ${ni}×${nj}×${nk} but series ${source.seriesInstanceUid} (study ${source.studyInstanceUid}) ` +
        `has ${source.columns}×${source.rows}×${source.frames.length} voxels: it is not on the source grid`,
      { seriesInstanceUid: source.seriesInstanceUid, studyInstanceUid: source.studyInstanceUid },
    );
  }
}

/** The source's nominal slice thickness; where it does not say, the spacing of its slices (contiguous 3D). */
export function sliceThickness(input: { acquisition?: Pick<MrAcquisition, 'sliceThickness'>; brain?: Volume; mask?: Volume }): number {
  return input.acquisition?.sliceThickness ?? (input.brain ?? input.mask)!.spacing[2];
}


/** Pixel Measures and Plane Orientation of a multi-frame object on the source's grid (shared functional group). */
export function sharedPlaneGeometry(input: { source: SourceSeries; acquisition?: Pick<MrAcquisition, 'sliceThickness'>; brain?: Volume; mask?: Volume }): Dataset {
  const { source } = input;
  return {
    PixelMeasuresSequence: [stripUndefined({ PixelSpacing: source.pixelSpacing.map(ds), SliceThickness: ds(sliceThickness(input)) })],
    PlaneOrientationSequence: [{ ImageOrientationPatient: source.imageOrientationPatient.map(ds) }],
  };
}
