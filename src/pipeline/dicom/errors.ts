// Errors that say which DICOM object they concern, so that an administrator can find the case in the PACS.
import { DicomError, type DicomIdentifiers } from '../../dicom/errors.js';

export type { DicomIdentifiers };

/** Input that cannot become a volume: malformed, unsupported, or not one 3D volume. Never a crash. */
export class SeriesError extends DicomError {
  constructor(reason: string, identifiers: DicomIdentifiers = {}) {
    super(reason, identifiers);
    this.name = 'SeriesError';
  }
}

/** A folder holds several series and the caller did not say which one. */
export class AmbiguousSeriesError extends Error {
  readonly series: { seriesInstanceUid: string; description: string }[];

  constructor(series: { seriesInstanceUid: string; description: string }[]) {
    super(`the input holds ${series.length} series; choose one with its SeriesInstanceUID:\n${series.map((s) => `  ${s.seriesInstanceUid}  ${s.description}`).join('\n')}`);
    this.name = 'AmbiguousSeriesError';
    this.series = series;
  }
}
