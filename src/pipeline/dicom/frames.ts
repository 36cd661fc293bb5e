// Where each 2D frame of an instance lies in the patient: classic single-frame MR (Image Plane module at top
// level) or Enhanced MR (Plane Position / Plane Orientation / Pixel Measures / Pixel Value Transformation in the
// per-frame functional groups, falling back to the shared ones).
import { mosaicTileOrigin, pointAlong, sliceNormal } from '../space/geometry.js';
import type { Vec3 } from '../space/volume.js';
import type { Dataset } from './dcmjs.js';
import { type DicomIdentifiers, SeriesError } from './errors.js';
import { privateBlock, readCsaImageHeader } from './siemens-csa.js';
import { ENHANCED_MR_IMAGE_STORAGE, LEGACY_CONVERTED_ENHANCED_MR_IMAGE_STORAGE } from '../../dicom/uids.js';

export type Orientation = [number, number, number, number, number, number];

export interface FrameGeometry {
  sopClassUid: string;
  sopInstanceUid: string;
  /** 0-based index of the frame inside its instance. */
  frameIndex: number;
  /** 1-based frame number for multi-frame instances; undefined for single-frame instances. */
  frameNumber?: number;
  imagePositionPatient: Vec3;
  imageOrientationPatient: Orientation;
  /** Row spacing, column spacing (DICOM PixelSpacing order). */
  pixelSpacing: [number, number];
  rescaleSlope: number;
  rescaleIntercept: number;
  /** Keys that order several frames at the same position into volumes (acquisition order). */
  order: number[];
  /** For a slice tiled in a Siemens mosaic: which tile of the (single) frame holds it. */
  tile?: MosaicTile;
}

export interface MosaicTile {
  index: number;
  /** Tiles per mosaic row, and the size of one tile. */
  perRow: number;
  rows: number;
  columns: number;
}

export const MULTIFRAME_CLASSES = new Set([ENHANCED_MR_IMAGE_STORAGE, LEGACY_CONVERTED_ENHANCED_MR_IMAGE_STORAGE]);

export function isMultiFrameMr(dataset: Dataset): boolean {
  return MULTIFRAME_CLASSES.has(String(dataset.SOPClassUID)) || Array.isArray(dataset.PerFrameFunctionalGroupsSequence);
}

/** Geometry of every frame of one instance, in frame order. */
export function frameGeometries(dataset: Dataset, ids: DicomIdentifiers): FrameGeometry[] {
  const sopClassUid = String(dataset.SOPClassUID ?? '');
  const sopInstanceUid = String(dataset.SOPInstanceUID ?? '');
  if (!isMultiFrameMr(dataset)) {
    if (isMosaic(dataset)) return mosaicGeometries(dataset, ids);
    const position = vector(dataset.ImagePositionPatient, 3, 'ImagePositionPatient', ids) as Vec3;
    const orientation = vector(dataset.ImageOrientationPatient, 6, 'ImageOrientationPatient', ids) as Orientation;
    const spacing = vector(dataset.PixelSpacing, 2, 'PixelSpacing', ids) as [number, number];
    return [
      {
        sopClassUid,
        sopInstanceUid,
        frameIndex: 0,
        imagePositionPatient: position,
        imageOrientationPatient: checkOrientation(orientation, ids),
        pixelSpacing: checkSpacing(spacing, ids),
        ...rescale(dataset, ids),
        // Classic series: echoes first, then temporal position, then the order the scanner numbered them.
        order: [num(dataset.EchoNumbers), num(dataset.TemporalPositionIdentifier), num(dataset.AcquisitionNumber), num(dataset.InstanceNumber)],
      },
    ];
  }
  const perFrame = (dataset.PerFrameFunctionalGroupsSequence ?? []) as Dataset[];
  const shared = ((dataset.SharedFunctionalGroupsSequence ?? []) as Dataset[])[0] ?? {};
  const count = Number(dataset.NumberOfFrames ?? perFrame.length);
  if (perFrame.length !== count) throw new SeriesError(`NumberOfFrames is ${dataset.NumberOfFrames} but there are ${perFrame.length} per-frame functional groups`, ids);
  const out: FrameGeometry[] = [];
  for (let f = 0; f < count; f++) {
    const groups = perFrame[f] ?? {};
    const frameIds = { ...ids, frame: f + 1 };
    const pick = (sequence: string): Dataset | undefined => first(groups[sequence]) ?? first(shared[sequence]);
    const where = `frame ${f + 1}`;
    const position = vector(pick('PlanePositionSequence')?.ImagePositionPatient, 3, `ImagePositionPatient of ${where}`, frameIds) as Vec3;
    const orientation = vector(pick('PlaneOrientationSequence')?.ImageOrientationPatient, 6, `ImageOrientationPatient of ${where}`, frameIds) as Orientation;
    const spacing = vector(pick('PixelMeasuresSequence')?.PixelSpacing, 2, `PixelSpacing of ${where}`, frameIds) as [number, number];
    const content = pick('FrameContentSequence') ?? {};
    out.push({
      sopClassUid,
      sopInstanceUid,
      frameIndex: f,
      frameNumber: f + 1,
      imagePositionPatient: position,
      imageOrientationPatient: checkOrientation(orientation, frameIds),
      pixelSpacing: checkSpacing(spacing, frameIds),
      ...rescale(pick('PixelValueTransformationSequence') ?? dataset, frameIds),
      // Enhanced: the scanner's temporal position and stack position, then the frame's place in the object.
      order: [num(first(groups.MREchoSequence)?.EffectiveEchoTime), num(content.TemporalPositionIndex), f],
    });
  }
  return out;
}

function first(value: unknown): Dataset | undefined {
  return Array.isArray(value) && value.length > 0 ? (value[0] as Dataset) : undefined;
}

function num(value: unknown): number {
  const v = Array.isArray(value) ? value[0] : value;
  const n = typeof v === 'number' ? v : Number.parseFloat(String(v ?? ''));
  return Number.isFinite(n) ? n : 0;
}

function vector(value: unknown, length: number, name: string, ids: DicomIdentifiers): number[] {
  // Strict: a value with anything but a number in it ('1.5mm') is malformed, not read as its leading digits.
  const values = Array.isArray(value) ? value.map((v) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN)) : [];
  if (values.length < length || values.slice(0, length).some((v) => !Number.isFinite(v))) {
    throw new SeriesError(`${name} is missing or malformed (${JSON.stringify(value ?? null)})`, ids);
  }
  return values.slice(0, length);
}

function checkOrientation(o: Orientation, ids: DicomIdentifiers): Orientation {
  const nr = Math.hypot(o[0], o[1], o[2]);
  const nc = Math.hypot(o[3], o[4], o[5]);
  const dot = o[0] * o[3] + o[1] * o[4] + o[2] * o[5];
  if (Math.abs(nr - 1) > 1e-3 || Math.abs(nc - 1) > 1e-3 || Math.abs(dot) > 1e-3) {
    throw new SeriesError(`ImageOrientationPatient ${o.join('\\')} is not two orthonormal direction cosines`, ids);
  }
  return o;
}

function checkSpacing(s: [number, number], ids: DicomIdentifiers): [number, number] {
  if (!(s[0] > 0 && s[1] > 0)) throw new SeriesError(`PixelSpacing ${s.join('\\')} is not positive`, ids);
  return s;
}

function rescale(source: Dataset, ids: DicomIdentifiers): { rescaleSlope: number; rescaleIntercept: number } {
  const slope = rescaleValue(source, 'RescaleSlope', 1, ids);
  const intercept = rescaleValue(source, 'RescaleIntercept', 0, ids);
  if (slope === 0) throw new SeriesError(`RescaleSlope '${String(source.RescaleSlope)}' is 0: stored values would all mean the same`, ids);
  return { rescaleSlope: slope, rescaleIntercept: intercept };
}

/** A Rescale attribute as a number (absent or empty: `absent`); a value that is not a finite number is refused by name. */
function rescaleValue(source: Dataset, name: 'RescaleSlope' | 'RescaleIntercept', absent: number, ids: DicomIdentifiers): number {
  const raw = source[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value === null || value === '') return absent;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isFinite(n) || String(value).trim() === '') throw new SeriesError(`${name} '${String(raw)}' is not a number`, ids);
  return n;
}

export function isMosaic(dataset: Dataset): boolean {
  const imageType = Array.isArray(dataset.ImageType) ? dataset.ImageType.map(String) : String(dataset.ImageType ?? '').split('\\');
  return imageType.includes('MOSAIC');
}

/**
 * The slices of a Siemens mosaic (one 2D image tiling N slices). N and the slice normal come from the CSA image
 * header; slices follow each other along that normal by SpacingBetweenSlices (SliceThickness without it).
 */
function mosaicGeometries(dataset: Dataset, ids: DicomIdentifiers): FrameGeometry[] {
  const csa = readCsaImageHeader(dataset);
  const fromCsa = Number(csa?.get('NumberOfImagesInMosaic')?.[0]);
  const mrBlock = privateBlock(dataset, '0019', 'SIEMENS MR HEADER');
  const fromPrivate = mrBlock ? num(dataset[`0019${mrBlock}0A`]) : 0;
  const count = fromCsa > 0 ? fromCsa : fromPrivate;
  if (!(count > 0)) throw new SeriesError('the series is a single 2D image (a Siemens mosaic whose number of slices is not recorded), not a volume', ids);
  const perRow = Math.ceil(Math.sqrt(count));
  const bigRows = Number(dataset.Rows);
  const bigColumns = Number(dataset.Columns);
  if (bigRows % perRow !== 0 || bigColumns % perRow !== 0) throw new SeriesError(`a ${bigColumns}×${bigRows} mosaic cannot hold ${count} tiles in a ${perRow}×${perRow} grid`, ids);
  const tile = { perRow, rows: bigRows / perRow, columns: bigColumns / perRow };
  const orientation = checkOrientation(vector(dataset.ImageOrientationPatient, 6, 'ImageOrientationPatient', ids) as Orientation, ids);
  const spacing = checkSpacing(vector(dataset.PixelSpacing, 2, 'PixelSpacing', ids) as [number, number], ids);
  const position = vector(dataset.ImagePositionPatient, 3, 'ImagePositionPatient', ids) as Vec3;
  const csaNormal = (csa?.get('SliceNormalVector') ?? []).map(Number);
  const normal: Vec3 = csaNormal.length === 3 && csaNormal.every(Number.isFinite) ? (csaNormal as Vec3) : sliceNormal(orientation);
  const sliceSpacing = num(dataset.SpacingBetweenSlices) || num(dataset.SliceThickness);
  if (!(sliceSpacing > 0)) throw new SeriesError('the mosaic has neither SpacingBetweenSlices nor SliceThickness to place its slices', ids);
  const origin = mosaicTileOrigin(position, orientation, spacing, { rows: bigRows, columns: bigColumns, tileRows: tile.rows, tileColumns: tile.columns });
  const base = { sopClassUid: String(dataset.SOPClassUID ?? ''), sopInstanceUid: String(dataset.SOPInstanceUID ?? ''), imageOrientationPatient: orientation, pixelSpacing: spacing, ...rescale(dataset, ids) };
  return Array.from({ length: count }, (_, k) => ({
    ...base,
    frameIndex: 0,
    imagePositionPatient: pointAlong(origin, normal, k * sliceSpacing),
    order: [num(dataset.EchoNumbers), num(dataset.TemporalPositionIdentifier), num(dataset.AcquisitionNumber), num(dataset.InstanceNumber)],
    tile: { index: k, ...tile },
  }));
}
