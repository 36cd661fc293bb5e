// What the derived series and the SEG are and who made them: the typed description of the model (algorithm) and
// of the results settings that shape the objects, and a created object as it is handed on to be written.
import type { Dataset } from '../dicom/dcmjs.js';

/** The model that produced the mask (from BrainExtraction.model). */
export interface AlgorithmIdentity {
  name: string;
  version: string;
  precision: 'FP32' | 'INT8';
  /** SHA-256 of the model file: other weights under the same name and version make other objects (other UIDs). */
  sha256?: string;
}

/** Settings of the results area that shape the objects (config `results`). */
export interface DerivedObjectOptions {
  uidRoot: string;
  seriesDescriptionSuffix: string;
  segSeriesDescriptionSuffix: string;
  seriesNumberOffset: number;
  institutionName?: string;
  /** brainstrip's own version, written as SoftwareVersions. */
  softwareVersion: string;
  /** Creation time written into the objects; fixed in tests. */
  now?: Date;
  /**
   * Set when the result failed the automatic quality check: written as ImageComments of every object and marked
   * in the SeriesDescription, so a reader sees it in the viewer and not only in brainstrip's logs.
   */
  reviewNote?: string;
}

export const REVIEW_MARK = ' [review]';

/** A created object, ready to be written as Part 10. */
export interface DicomObject {
  kind: 'derived' | 'seg';
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  dataset: Dataset;
}
