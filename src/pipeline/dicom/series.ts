// What the pipeline keeps of a source series so that derived objects (skull-stripped series, SEG) can be
// written on the source's own grid and reference the source's own instances.
import type { Vec3, Volume } from '../space/volume.js';

/** One source slice: a classic single-frame instance, or one frame of an Enhanced MR multi-frame instance. */
export interface SourceFrame {
  sopClassUid: string;
  sopInstanceUid: string;
  /** 1-based frame number inside a multi-frame instance; undefined for single-frame instances. */
  frameNumber?: number;
  /** ImagePositionPatient of this slice (LPS mm, centre of its first voxel). */
  imagePositionPatient: Vec3;
  /** Spooled file this slice came from. */
  path: string;
  /** Rescale Slope/Intercept of this slice's stored values (absent: identity). */
  rescale?: { slope: number; intercept: number };
}

/** How the source stores its pixel values (Image Pixel module), for derived images that hold the same ones. */
export interface StoredEncoding {
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
}

/** Patient, study and series attributes of the source, decoded to Unicode (dcmjs naturalized keywords). */
export type SourceAttributes = Record<string, unknown>;

export interface SourceSeries {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  sopClassUid: string;
  /** true for Enhanced MR Image Storage (one multi-frame instance). */
  enhanced: boolean;
  modality: string;
  seriesDescription?: string;
  seriesNumber?: number;
  rows: number;
  columns: number;
  /** Row spacing then column spacing, as DICOM PixelSpacing. */
  pixelSpacing: [number, number];
  /** Row direction cosines then column direction cosines, as DICOM ImageOrientationPatient. */
  imageOrientationPatient: [number, number, number, number, number, number];
  /**
   * frames[k] is slice k of the volume built from this series: the volume's i axis is the DICOM column index,
   * j the row index, k this list's order (sorted along the slice normal, not by InstanceNumber).
   */
  frames: SourceFrame[];
  /** Patient/study/general-series/equipment attributes of the first instance (Unicode strings). */
  attributes: SourceAttributes;
  /** The widest encoding among the slices' instances (absent: unsigned 16-bit). */
  storedEncoding?: StoredEncoding;
}

/** A series read for processing: the volume on the source's native grid plus what derived objects need. */
export interface LoadedSeries {
  volume: Volume<Float32Array>;
  source: SourceSeries;
}
