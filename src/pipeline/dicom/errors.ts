// Errors that say which DICOM object they concern, so that an administrator can find the case in the PACS.

export interface DicomIdentifiers {
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
  /** 1-based frame number inside a multi-frame instance. */
  frame?: number;
  /** File the problem was found in, when there is one. */
  path?: string;
}

/** Input that cannot become a volume: malformed, unsupported, or not one 3D volume. Never a crash. */
export class SeriesError extends Error {
  readonly identifiers: DicomIdentifiers;

  constructor(reason: string, identifiers: DicomIdentifiers = {}) {
    super(`${reason}${describe(identifiers)}`);
    this.name = 'SeriesError';
    this.identifiers = identifiers;
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

function describe(ids: DicomIdentifiers): string {
  const parts: string[] = [];
  if (ids.seriesInstanceUid) parts.push(`series ${ids.seriesInstanceUid}`);
  if (ids.sopInstanceUid) parts.push(`instance ${ids.sopInstanceUid}${ids.frame ? ` frame ${ids.frame}` : ''}`);
  if (ids.studyInstanceUid) parts.push(`study ${ids.studyInstanceUid}`);
  if (ids.path) parts.push(`file ${ids.path}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
