// What the derived series and the SEG take from their source and share: the Patient / Study / Frame of Reference
// attributes, the equipment (brainstrip), series description and number, references to the source instances, and
// the basis of the UIDs generated for them.
import type { SourceSeries, SourceFrame } from '../dicom/series.js';
import type { Dataset } from '../dicom/dcmjs.js';
import { MANUFACTURER } from '../dicom/identity.js';
import { type AlgorithmIdentity, type DerivedObjectOptions, REVIEW_MARK } from './objects.js';
import { codeString, date, firstString, integer, optionalDs, personName, stripUndefined, text, time, type2 } from './values.js';

/** ImageComments (LT) carrying the review note, if any. */
export function reviewComments(options: DerivedObjectOptions): Dataset {
  return options.reviewNote ? { ImageComments: [...options.reviewNote].slice(0, 10240).join('') } : {};
}

/** DerivationDescription (ST) naming the model and its precision; also how brainstrip recognises its outputs. */
export function derivationDescription(algorithm: AlgorithmIdentity): string {
  return `brainstrip skull stripping: brain mask by ${algorithm.name} ${algorithm.version} (${algorithm.precision}), background set to zero`;
}

/** A coded concept (Code Sequence item). */
export function code(value: string, scheme: string, meaning: string): Dataset {
  return { CodeValue: value, CodingSchemeDesignator: scheme, CodeMeaning: meaning };
}

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
