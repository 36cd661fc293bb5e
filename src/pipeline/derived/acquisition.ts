// The MR acquisition attributes a classic MR Image (PS3.3 C.8.3.1) must carry even when derived: taken from the
// source's first instance, each value checked against its VR and enumerated values rather than copied blindly.
import fs from 'node:fs/promises';
import { codeString, decimal, integer, text } from './values.js';
import { type Dataset, fromPart10 } from '../dicom/dcmjs.js';

export interface MrAcquisition {
  scanningSequence: string[];
  sequenceVariant: string[];
  scanOptions: string[];
  mrAcquisitionType?: '2D' | '3D';
  repetitionTime?: number;
  echoTime?: number;
  echoTrainLength?: number;
  inversionTime?: number;
  flipAngle?: number;
  sliceThickness?: number;
  magneticFieldStrength?: number;
  imagedNucleus?: string;
  sequenceName?: string;
  patientPosition?: string;
  acquisitionContrast?: string;
  bodyPartExamined?: string;
  applicableSafetyStandardAgency?: string;
}

const SCANNING_SEQUENCES = new Set(['SE', 'IR', 'GR', 'EP', 'RM']);
const SEQUENCE_VARIANTS = new Set(['SK', 'MTC', 'SS', 'TRSS', 'SP', 'MP', 'OSP', 'NONE']);
const PATIENT_POSITIONS = new Set(['HFP', 'HFS', 'HFDR', 'HFDL', 'FFDR', 'FFDL', 'FFP', 'FFS', 'LFP', 'LFS', 'RFP', 'RFS', 'AFDR', 'AFDL', 'PFDR', 'PFDL']);

function codeStrings(value: unknown, allowed?: Set<string>): string[] {
  const values = (Array.isArray(value) ? value : typeof value === 'string' ? value.split('\\') : [])
    .map((v) => codeString(v))
    .filter((v): v is string => v !== undefined);
  return allowed ? values.filter((v) => allowed.has(v)) : values;
}

function positive(value: unknown): number | undefined {
  const n = decimal(value);
  return n !== undefined && n >= 0 ? n : undefined;
}

/** The acquisition attributes found in a naturalized dataset (top level, as classic MR carries them). */
export function mrAcquisitionFrom(a: Dataset): MrAcquisition {
  // Enhanced MR keeps the slice thickness in the shared Pixel Measures functional group.
  const shared = (a.SharedFunctionalGroupsSequence as Dataset[] | undefined)?.[0];
  const firstFrame = (a.PerFrameFunctionalGroupsSequence as Dataset[] | undefined)?.[0];
  const pixelMeasures = ((shared?.PixelMeasuresSequence ?? firstFrame?.PixelMeasuresSequence) as Dataset[] | undefined)?.[0];
  const acqType = codeString(a.MRAcquisitionType);
  const position = codeString(a.PatientPosition);
  return {
    scanningSequence: codeStrings(a.ScanningSequence, SCANNING_SEQUENCES),
    sequenceVariant: codeStrings(a.SequenceVariant, SEQUENCE_VARIANTS),
    scanOptions: codeStrings(a.ScanOptions),
    mrAcquisitionType: acqType === '2D' || acqType === '3D' ? acqType : undefined,
    repetitionTime: positive(a.RepetitionTime),
    echoTime: positive(a.EchoTime),
    echoTrainLength: integer(a.EchoTrainLength),
    inversionTime: positive(a.InversionTime),
    flipAngle: positive(a.FlipAngle),
    sliceThickness: positive(a.SliceThickness) ?? positive(pixelMeasures?.SliceThickness),
    magneticFieldStrength: positive(a.MagneticFieldStrength),
    imagedNucleus: text(a.ImagedNucleus, 16),
    sequenceName: text(a.SequenceName, 16),
    patientPosition: position && PATIENT_POSITIONS.has(position) ? position : undefined,
    acquisitionContrast: codeString(a.AcquisitionContrast),
    bodyPartExamined: codeString(a.BodyPartExamined),
    applicableSafetyStandardAgency: codeString(a.ApplicableSafetyStandardAgency),
  };
}

/** Reads the acquisition attributes from a source file's header (pixel data is not read). */
export async function readMrAcquisition(path: string): Promise<MrAcquisition> {
  const bytes = await fs.readFile(path);
  return mrAcquisitionFrom(fromPart10(bytes, true).dataset);
}
