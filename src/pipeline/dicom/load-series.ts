// Spooled Part-10 files of one series → a Float32 volume on the source's native grid plus the SourceSeries that
// derived objects are written from. Geometry is decided from headers first (assemble.ts); pixels are decoded
// only for the frames that make the chosen volume.
import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../../log.js';
import type { LoadedSeries, SourceAttributes, SourceFrame, SourceSeries, StoredEncoding } from './series.js';
import { voxelCount } from '../space/volume.js';
import { type AssembleOptions, planVolume } from './assemble.js';
import { type Dataset, type ParsedPart10, parsePart10 } from './dcmjs.js';
import { AmbiguousSeriesError, type DicomIdentifiers, SeriesError } from './errors.js';
import { type FrameGeometry, type MosaicTile, frameGeometries, isMultiFrameMr } from './frames.js';
import { type PixelFormat, decodeFrames, initializeCodecs, isSupportedTransferSyntax } from './pixels.js';
import { MEDIA_STORAGE_DIRECTORY_STORAGE } from '../../dicom/uids.js';

export interface LoadSeriesOptions extends AssembleOptions {
  /** Load only this series when the paths hold several. */
  seriesInstanceUid?: string;
  /**
   * Where the volume's voxels live (default: a Float32Array of its own). A SharedArrayBuffer lets worker threads
   * read the volume without each receiving a copy.
   */
  allocate?: (voxels: number) => Float32Array;
}

interface Instance extends ParsedPart10 {
  path: string;
  bytes: Buffer;
  ids: DicomIdentifiers;
}

/** Patient, study, series, equipment and frame-of-reference attributes that derived objects carry over. */
const KEPT_ATTRIBUTES = [
  'SpecificCharacterSet',
  'PatientName', 'PatientID', 'IssuerOfPatientID', 'PatientBirthDate', 'PatientSex', 'PatientAge', 'PatientSize', 'PatientWeight', 'OtherPatientIDs',
  'StudyInstanceUID', 'StudyDate', 'StudyTime', 'StudyID', 'AccessionNumber', 'ReferringPhysicianName', 'StudyDescription',
  'SeriesInstanceUID', 'SeriesNumber', 'SeriesDescription', 'SeriesDate', 'SeriesTime', 'Modality', 'BodyPartExamined', 'PatientPosition', 'Laterality', 'ProtocolName', 'OperatorsName', 'PerformingPhysicianName',
  'FrameOfReferenceUID', 'PositionReferenceIndicator',
  'Manufacturer', 'ManufacturerModelName', 'InstitutionName', 'InstitutionAddress', 'InstitutionalDepartmentName', 'StationName', 'DeviceSerialNumber', 'SoftwareVersions',
  'AcquisitionDate', 'AcquisitionTime', 'ContentDate', 'ContentTime', 'ImageType', 'SliceThickness', 'MagneticFieldStrength', 'WindowCenter', 'WindowWidth',
];

/** Reads one series' files and builds its volume. Throws SeriesError (naming the series) for what is not one volume. */
export async function loadSeries(paths: string[], options: LoadSeriesOptions = {}): Promise<LoadedSeries> {
  await initializeCodecs();
  let instances = paths.map((p) => readInstance(p, false));
  const bySeries = groupBySeries(instances);
  if (options.seriesInstanceUid) {
    instances = bySeries.get(options.seriesInstanceUid) ?? [];
    if (instances.length === 0) throw new SeriesError(`no instance of series ${options.seriesInstanceUid} among the ${paths.length} file(s)`);
  } else if (bySeries.size > 1) {
    throw new AmbiguousSeriesError([...bySeries.values()].map((list) => ({ seriesInstanceUid: list[0].ids.seriesInstanceUid ?? '', description: describeSeries(list[0].dataset, list.length) })));
  }
  if (instances.length === 0) throw new SeriesError('no DICOM instances given');
  const first = instances[0];
  const seriesIds: DicomIdentifiers = { studyInstanceUid: first.ids.studyInstanceUid, seriesInstanceUid: first.ids.seriesInstanceUid };
  const log = logger('pipeline/dicom', { studyInstanceUid: seriesIds.studyInstanceUid, seriesInstanceUid: seriesIds.seriesInstanceUid });
  const textProblems = [...new Set(instances.flatMap((i) => i.textProblems))];
  if (textProblems.length) {
    const affected = instances.filter((i) => i.textProblems.length).length;
    log.warn(`text of ${affected} instance(s) not read as declared, the series is processed: ${textProblems.join(' | ')}`, { textProblems, instances: affected });
  }

  const rows = Number(first.dataset.Rows);
  const columns = Number(first.dataset.Columns);
  const frames: { geometry: FrameGeometry; instance: Instance }[] = [];
  const seen = new Set<string>();
  for (const instance of instances) {
    const missing = ['SOPInstanceUID', 'Rows', 'Columns', 'PixelData'].filter((k) => instance.dataset[k] === undefined || instance.dataset[k] === '');
    if (missing.length) throw new SeriesError(`required attribute(s) ${missing.join(', ')} missing: a truncated file, or not an image instance`, instance.ids);
    if (!isSupportedTransferSyntax(instance.transferSyntaxUid)) throw new SeriesError(`unsupported transfer syntax ${instance.transferSyntaxUid || '(none)'}`, instance.ids);
    if (Number(instance.dataset.Rows) !== rows || Number(instance.dataset.Columns) !== columns) {
      throw new SeriesError(`instances have different image sizes (${columns}×${rows} and ${instance.dataset.Columns}×${instance.dataset.Rows})`, instance.ids);
    }
    // The same instance received twice (a resent association) must not become two slices.
    const uid = instance.ids.sopInstanceUid ?? instance.path;
    if (seen.has(uid)) continue;
    seen.add(uid);
    for (const geometry of frameGeometries(instance.dataset, instance.ids)) frames.push({ geometry, instance });
  }

  // A mosaic's slices are its tiles: the volume's rows and columns are those of one tile.
  const tile = frames[0]?.geometry.tile;
  if (frames.some((f) => (f.geometry.tile?.rows ?? 0) !== (tile?.rows ?? 0) || (f.geometry.tile?.columns ?? 0) !== (tile?.columns ?? 0))) {
    throw new SeriesError('the series mixes mosaic images with other tilings or plain images', seriesIds);
  }
  const plan = planVolume(frames, tile ? tile.rows : rows, tile ? tile.columns : columns, seriesIds, options);
  if (plan.volumeCount > 1) log.info(`series holds ${plan.volumeCount} volumes at the same positions; using volume ${plan.volumeIndex}`, { volumeCount: plan.volumeCount, volumeIndex: plan.volumeIndex });

  // Decode only the frames of the chosen volume, instance by instance.
  const wanted = new Map<Instance, Set<number>>();
  for (const s of plan.slices) {
    if (!wanted.has(s.instance)) wanted.set(s.instance, new Set());
    wanted.get(s.instance)!.add(s.geometry.frameIndex);
  }
  const slicePixels = plan.grid.dims[0] * plan.grid.dims[1];
  const decoded = new Map<Instance, ReturnType<typeof decodeFrames>>();
  for (const [instance, frameSet] of wanted) {
    const result = decodeFrames(instance, instance.ids, instance.bytes, frameSet);
    if (result.format.numberOfFrames !== (isMultiFrameMr(instance.dataset) ? Number(instance.dataset.NumberOfFrames ?? 1) : 1)) {
      throw new SeriesError(`NumberOfFrames ${instance.dataset.NumberOfFrames} does not match the frame geometry`, instance.ids);
    }
    decoded.set(instance, result);
  }
  // Allocated only now that decoding has shown the pixel data to be as large as the headers claim.
  const data = options.allocate ? options.allocate(voxelCount(plan.grid)) : new Float32Array(voxelCount(plan.grid));
  plan.slices.forEach((s, k) => {
    const stored = decoded.get(s.instance)!.frames[s.geometry.frameIndex]!;
    const { rescaleSlope: slope, rescaleIntercept: intercept } = s.geometry;
    const offset = k * slicePixels;
    if (s.geometry.tile) {
      copyTile(stored, columns, s.geometry.tile, data, offset);
      if (slope !== 1 || intercept !== 0) for (let v = offset; v < offset + slicePixels; v++) data[v] = data[v] * slope + intercept;
      return;
    }
    // TypedArray.set converts integer types natively, far faster than an element loop over a union of array types.
    data.set(stored.subarray(0, slicePixels), offset);
    if (slope !== 1 || intercept !== 0) for (let v = offset; v < offset + slicePixels; v++) data[v] = data[v] * slope + intercept;
  });

  const source = sourceSeries(first, plan.slices, widestEncoding([...decoded.values()].map((d) => d.format)));
  log.info(`loaded ${plan.grid.dims.join('×')} volume`, { dims: plan.grid.dims, spacing: plan.grid.spacing, instances: instances.length });
  return { volume: { ...plan.grid, data }, source };
}

export interface SeriesSummary {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  seriesNumber?: number;
  seriesDescription?: string;
  modality?: string;
  sopClassUid: string;
  /** Number of instances (files) and of image frames in them. */
  instances: number;
  frames: number;
  paths: string[];
}

/** The DICOM series found under a folder (recursively); files that are not DICOM are ignored. */
export function listSeries(folder: string): SeriesSummary[] {
  const files = walk(folder);
  const instances: Instance[] = [];
  for (const file of files) {
    try {
      instances.push(readInstance(file, true));
    } catch {
      // Not DICOM (or unreadable): a folder may hold notes, DICOMDIR, NIfTI files; listing skips them.
    }
  }
  const bySeries = groupBySeries(instances.filter((i) => i.dataset.SOPClassUID !== MEDIA_STORAGE_DIRECTORY_STORAGE));
  return [...bySeries.values()]
    .map((list) => {
      const d = list[0].dataset;
      return {
        studyInstanceUid: String(d.StudyInstanceUID ?? ''),
        seriesInstanceUid: String(d.SeriesInstanceUID ?? ''),
        seriesNumber: d.SeriesNumber === undefined || d.SeriesNumber === '' ? undefined : Number(d.SeriesNumber),
        seriesDescription: d.SeriesDescription ? String(d.SeriesDescription) : undefined,
        modality: d.Modality ? String(d.Modality) : undefined,
        sopClassUid: String(d.SOPClassUID ?? ''),
        instances: list.length,
        frames: list.reduce((s, i) => s + (Number(i.dataset.NumberOfFrames ?? 1) || 1), 0),
        paths: list.map((i) => i.path).sort(),
      };
    })
    .sort((a, b) => (a.seriesNumber ?? 0) - (b.seriesNumber ?? 0) || a.seriesInstanceUid.localeCompare(b.seriesInstanceUid));
}

export function describeSeries(dataset: Dataset, instances: number): string {
  const parts = [`#${dataset.SeriesNumber ?? '?'}`, dataset.Modality ?? '', dataset.SeriesDescription ? `"${dataset.SeriesDescription}"` : '', `${instances} instance(s)`];
  return parts.filter(Boolean).join(' ');
}

function readInstance(file: string, headerOnly: boolean): Instance {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new SeriesError(`cannot read file: ${error instanceof Error ? error.message : String(error)}`, { path: file });
  }
  let parsed: ParsedPart10;
  try {
    parsed = parsePart10(bytes, headerOnly);
  } catch (error) {
    // Name the series if the header before the pixel data is intact (the usual case for a cut-off transfer).
    let ids: DicomIdentifiers = { path: file };
    if (!headerOnly) {
      try {
        const d = parsePart10(bytes, true).dataset;
        ids = { studyInstanceUid: str(d.StudyInstanceUID), seriesInstanceUid: str(d.SeriesInstanceUID), sopInstanceUid: str(d.SOPInstanceUID), path: file };
      } catch {
        // The header itself is damaged: the file path is all there is to name.
      }
    }
    throw new SeriesError(`not a readable DICOM Part-10 file (truncated or corrupt?): ${error instanceof Error ? error.message : String(error)}`, ids);
  }
  const d = parsed.dataset;
  const ids: DicomIdentifiers = { studyInstanceUid: str(d.StudyInstanceUID), seriesInstanceUid: str(d.SeriesInstanceUID), sopInstanceUid: str(d.SOPInstanceUID), path: file };
  if (!ids.seriesInstanceUid) throw new SeriesError('the instance has no SeriesInstanceUID (a truncated file, or not an image instance)', ids);
  return { ...parsed, path: file, bytes, ids };
}

function groupBySeries(instances: Instance[]): Map<string, Instance[]> {
  const out = new Map<string, Instance[]>();
  for (const i of instances) {
    const uid = i.ids.seriesInstanceUid ?? '';
    if (!out.has(uid)) out.set(uid, []);
    out.get(uid)!.push(i);
  }
  return out;
}

/** Copies tile `tile.index` (row-major in the mosaic grid) of a mosaic image into `out` at `offset`. */
function copyTile(mosaic: ArrayLike<number>, mosaicColumns: number, tile: MosaicTile, out: Float32Array, offset: number): void {
  const top = Math.floor(tile.index / tile.perRow) * tile.rows;
  const left = (tile.index % tile.perRow) * tile.columns;
  for (let j = 0, o = offset; j < tile.rows; j++) {
    const row = (top + j) * mosaicColumns + left;
    for (let i = 0; i < tile.columns; i++, o++) out[o] = mosaic[row + i];
  }
}

/** One encoding that holds every instance's values: signed if any is, as many bits as the widest. */
function widestEncoding(formats: PixelFormat[]): StoredEncoding {
  const signed = formats.some((f) => f.signed);
  // An unsigned instance among signed ones needs one more bit to keep its top values positive.
  const bits = (f: PixelFormat) => f.bitsStored + (signed && !f.signed ? 1 : 0);
  return { bitsAllocated: Math.max(...formats.map((f) => f.bitsAllocated)), bitsStored: Math.max(...formats.map(bits)), signed };
}

function sourceSeries(first: Instance, slices: { geometry: FrameGeometry; instance: Instance }[], storedEncoding: StoredEncoding): SourceSeries {
  const d = first.dataset;
  const g = slices[0].geometry;
  const attributes: SourceAttributes = {};
  for (const key of KEPT_ATTRIBUTES) if (d[key] !== undefined && d[key] !== null && d[key] !== '') attributes[key] = d[key];
  const frames: SourceFrame[] = slices.map((s) => ({
    sopClassUid: s.geometry.sopClassUid,
    sopInstanceUid: s.geometry.sopInstanceUid,
    frameNumber: s.geometry.frameNumber,
    imagePositionPatient: [...s.geometry.imagePositionPatient],
    path: s.instance.path,
    rescale: { slope: s.geometry.rescaleSlope, intercept: s.geometry.rescaleIntercept },
  }));
  return {
    studyInstanceUid: str(d.StudyInstanceUID) ?? '',
    seriesInstanceUid: str(d.SeriesInstanceUID) ?? '',
    frameOfReferenceUid: str(d.FrameOfReferenceUID) ?? '',
    sopClassUid: str(d.SOPClassUID) ?? '',
    enhanced: isMultiFrameMr(d),
    modality: str(d.Modality) ?? '',
    seriesDescription: str(d.SeriesDescription),
    seriesNumber: d.SeriesNumber === undefined || d.SeriesNumber === '' ? undefined : Number(d.SeriesNumber),
    rows: Number(d.Rows),
    columns: Number(d.Columns),
    pixelSpacing: [...g.pixelSpacing],
    imageOrientationPatient: [...g.imageOrientationPatient],
    frames,
    attributes,
    storedEncoding,
  };
}

function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const s = String(Array.isArray(value) ? value[0] : value).replace(/\0/g, '').trim();
  return s === '' ? undefined : s;
}

function walk(folder: string): string[] {
  const out: string[] = [];
  const stack = [folder];
  while (stack.length) {
    const dir = stack.pop()!;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile()) out.push(full);
    }
  }
  return out.sort();
}
