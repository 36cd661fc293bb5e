// What the derived series and the SEG share: the typed description of who made them (equipment, algorithm),
// the Patient / Study / Frame of Reference attributes taken from the source, and value checks per VR, so that
// a non-conformant source value is dropped or cut rather than copied into an object an archive may reject.
import type { SourceFrame, SourceSeries } from '../dicom/series.js';
import type { Volume } from '../space/volume.js';
import type { MrAcquisition } from './acquisition.js';
import type { Dataset } from '../dicom/dcmjs.js';
import { MANUFACTURER } from '../dicom/identity.js';
import { DicomError } from '../../dicom/errors.js';
import { ENHANCED_MR_IMAGE_STORAGE, MR_IMAGE_STORAGE, SEGMENTATION_STORAGE } from '../../dicom/uids.js';


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

/** ImageComments (LT) carrying the review note, if any. */
export function reviewComments(options: DerivedObjectOptions): Dataset {
  return options.reviewNote ? { ImageComments: [...options.reviewNote].slice(0, 10240).join('') } : {};
}

/** A created object, ready to be written as Part 10. */
export interface DicomObject {
  kind: 'derived' | 'seg';
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  dataset: Dataset;
}

export const SOP_CLASS = {
  mrImage: MR_IMAGE_STORAGE,
  enhancedMrImage: ENHANCED_MR_IMAGE_STORAGE,
  segmentation: SEGMENTATION_STORAGE,
} as const;

/** DerivationDescription (ST) naming the model and its precision; also how brainstrip recognises its outputs. */
export function derivationDescription(algorithm: AlgorithmIdentity): string {
  return `brainstrip skull stripping: brain mask by ${algorithm.name} ${algorithm.version} (${algorithm.precision}), background set to zero`;
}

export function code(value: string, scheme: string, meaning: string): Dataset {
  return { CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning };
}

// ---------------------------------------------------------------------------------------------------------
// Value checks per VR (PS3.5 6.2). Each returns undefined when the source value is not conformant.

function firstString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null) return undefined;
  return String(v);
}

/** LO / SH / CS / LT text, control characters and backslashes removed, cut to `max` characters. */
export function text(value: unknown, max: number): string | undefined {
  const s = firstString(value);
  if (s === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f\\]/g, ' ').trim();
  return clean === '' ? undefined : [...clean].slice(0, max).join('').trim();
}

export function codeString(value: unknown): string | undefined {
  const s = text(value, 16);
  return s !== undefined && /^[A-Z0-9 _]+$/.test(s) ? s : undefined;
}

export function date(value: unknown): string | undefined {
  const s = firstString(value)?.trim();
  return s !== undefined && /^\d{8}$/.test(s) ? s : undefined;
}

export function time(value: unknown): string | undefined {
  const s = firstString(value)?.trim();
  return s !== undefined && /^([01]\d|2[0-3])([0-5]\d([0-5]\d(\.\d{1,6})?)?)?$/.test(s) ? s : undefined;
}

/** DS: a decimal that fits in 16 characters. */
export function decimal(value: unknown): number | undefined {
  const s = firstString(value);
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

export function integer(value: unknown): number | undefined {
  const n = decimal(value);
  return n !== undefined && Number.isInteger(n) && Math.abs(n) < 2 ** 31 ? n : undefined;
}

/** DS values as dcmjs writes them: numbers are formatted to at most 16 characters. */
export function ds(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
  for (let digits = 10; digits > 0; digits--) {
    const s = String(Number(n.toPrecision(digits)));
    if (s.length <= 16) return s;
  }
  return n.toExponential(6);
}

/** PN, as dcmjs naturalizes it ({Alphabetic, Ideographic, Phonetic}) or as a plain string. */
export function personName(value: unknown): Array<{ Alphabetic?: string; Ideographic?: string; Phonetic?: string }> | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null) return undefined;
  const clean = (s: unknown) => {
    if (typeof s !== 'string') return undefined;
    // eslint-disable-next-line no-control-regex
    const c = s.replace(/[\u0000-\u001f\u007f\\=]/g, '').trim();
    return c === '' ? undefined : [...c].slice(0, 64).join('');
  };
  if (typeof v === 'string') {
    const [alphabetic, ideographic, phonetic] = v.split('=');
    const pn = { Alphabetic: clean(alphabetic), Ideographic: clean(ideographic), Phonetic: clean(phonetic) };
    return pn.Alphabetic || pn.Ideographic || pn.Phonetic ? [stripUndefined(pn)] : undefined;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const pn = { Alphabetic: clean(o.Alphabetic), Ideographic: clean(o.Ideographic), Phonetic: clean(o.Phonetic) };
    return pn.Alphabetic || pn.Ideographic || pn.Phonetic ? [stripUndefined(pn)] : undefined;
  }
  return undefined;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Type-2 attributes: present, empty when the source has no conformant value. */
function type2<T>(v: T | undefined): T | '' {
  return v === undefined ? '' : v;
}

// ---------------------------------------------------------------------------------------------------------
// Modules shared by both objects.

/** Patient, General Study and Patient Study modules: the same patient and study as the source (PS3.3 C.7.1.1, C.7.2.1, C.7.2.2). */
export function patientAndStudy(source: SourceSeries): Dataset {
  const a = source.attributes;
  const sex = codeString(a.PatientSex);
  const age = firstString(a.PatientAge)?.trim();
  const out: Dataset = {
    PatientName: personName(a.PatientName) ?? '',
    PatientID: type2(text(a.PatientID, 64)),
    IssuerOfPatientID: text(a.IssuerOfPatientID, 64),
    PatientBirthDate: type2(date(a.PatientBirthDate)),
    PatientSex: sex === 'M' || sex === 'F' || sex === 'O' ? sex : '',
    PatientAge: age !== undefined && /^\d{3}[DWMY]$/.test(age) ? age : undefined,
    PatientSize: optionalDs(a.PatientSize),
    PatientWeight: optionalDs(a.PatientWeight),
    StudyInstanceUID: source.studyInstanceUid,
    StudyDate: type2(date(a.StudyDate)),
    StudyTime: type2(time(a.StudyTime)),
    ReferringPhysicianName: personName(a.ReferringPhysicianName) ?? '',
    StudyID: type2(text(a.StudyID, 16)),
    AccessionNumber: type2(text(a.AccessionNumber, 16)),
    StudyDescription: text(a.StudyDescription, 64),
  };
  return stripUndefined(out);
}

function optionalDs(value: unknown): string | undefined {
  const n = decimal(value);
  return n === undefined || n <= 0 ? undefined : ds(n);
}

/** General Equipment and Enhanced General Equipment (PS3.3 C.7.5.1, C.7.5.2): brainstrip made these objects. */
export function equipment(options: DerivedObjectOptions): Dataset {
  return stripUndefined({
    Manufacturer: MANUFACTURER,
    InstitutionName: text(options.institutionName, 64),
    ManufacturerModelName: MANUFACTURER,
    DeviceSerialNumber: MANUFACTURER,
    SoftwareVersions: text(options.softwareVersion, 64) ?? 'unknown',
  });
}

export function frameOfReference(source: SourceSeries): Dataset {
  return {
    FrameOfReferenceUID: source.frameOfReferenceUid,
    PositionReferenceIndicator: type2(text(source.attributes.PositionReferenceIndicator, 64)),
  };
}

/** SeriesDescription of a derived series: the source's plus a suffix, LO (64 characters at most). */
export function seriesDescription(source: SourceSeries, suffix: string, review = false): string {
  const tail = [...`${suffix}${review ? REVIEW_MARK : ''}`].slice(0, 64);
  // Shorten the source's description, not the suffix: the suffix is what tells the two series apart.
  const base = [...(text(source.seriesDescription ?? source.attributes.SeriesDescription, 64) ?? '')].slice(0, 64 - tail.length);
  return `${base.join('').trimEnd()}${tail.join('')}`.trim();
}

export function seriesNumber(source: SourceSeries, offset: number, extra = 0): number {
  const n = (source.seriesNumber ?? integer(source.attributes.SeriesNumber) ?? 0) + offset + extra;
  return Math.min(n, 2 ** 31 - 1);
}

/** DA and TM of `now` in local time, as creation date/time. */
export function dicomDateTime(now: Date): { date: string; time: string } {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return {
    date: `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}`,
    time: `${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}.${p(now.getMilliseconds(), 3)}`,
  };
}

/** A stable key for "these exact source instances": changes when an instance is added, removed or replaced. */
export function sourceKey(source: SourceSeries): string {
  return source.frames.map((f) => `${f.sopInstanceUid}#${f.frameNumber ?? 0}`).join('|');
}

/** What generated UIDs are made from: the source instances and the model (its checksum too, where known). */
export function uidBasis(source: SourceSeries, algorithm: AlgorithmIdentity): string[] {
  const basis = [source.seriesInstanceUid, sourceKey(source), algorithm.name, algorithm.version, algorithm.precision];
  return algorithm.sha256 ? [...basis, algorithm.sha256] : basis;
}

export { stripUndefined };

// SCT 12738006 "Brain"; CID 7202 "Source Image Purposes of Reference" (PS3.16).
export const BRAIN = code('12738006', 'SCT', 'Brain');
export const SOURCE_IMAGE_FOR_PROCESSING = code('121322', 'DCM', 'Source image for image processing operation');

/** The SourceImageSequence item pointing at the source slice (and frame) an image or SEG frame was computed from. */
export function sourceImageItem(frame: SourceFrame): Dataset {
  return stripUndefined({
    ReferencedSOPClassUID: frame.sopClassUid,
    ReferencedSOPInstanceUID: frame.sopInstanceUid,
    ReferencedFrameNumber: frame.frameNumber !== undefined ? String(frame.frameNumber) : undefined,
    PurposeOfReferenceCodeSequence: [SOURCE_IMAGE_FOR_PROCESSING],
  });
}

/** Every source instance once, as ReferencedSOPClassUID / ReferencedSOPInstanceUID items. */
export function referencedInstances(source: SourceSeries): Dataset[] {
  const seen = new Map<string, string>();
  for (const f of source.frames) seen.set(f.sopInstanceUid, f.sopClassUid);
  return [...seen].map(([uid, cls]) => ({ ReferencedSOPClassUID: cls, ReferencedSOPInstanceUID: uid }));
}

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
