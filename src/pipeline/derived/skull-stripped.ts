// The skull-stripped series: the brain image on the source's own grid and in the source's own SOP class — one
// classic MR instance per source instance, or one Enhanced MR instance for an Enhanced source — built attribute
// by attribute from typed inputs, never by editing a copy of the source dataset.
import type { SourceSeries } from '../dicom/series.js';
import { type Volume } from '../space/volume.js';
import type { MrAcquisition } from './acquisition.js';
import type { AlgorithmIdentity, DerivedObjectOptions, DicomObject } from './objects.js';
import {
  BRAIN,
  code,
  derivationDescription,
  dicomDateTime,
  equipment,
  frameOfReference,
  patientAndStudy,
  referencedInstances,
  reviewComments,
  seriesDescription,
  seriesNumber,
  sourceImageItem,
  uidBasis,
} from './source-attributes.js';
import { assertOnSourceGrid, sharedPlaneGeometry, sliceThickness } from './source-grid.js';
import { ds, stripUndefined } from './values.js';
import type { Dataset } from '../dicom/dcmjs.js';
import { ENHANCED_MR_IMAGE_STORAGE, MR_IMAGE_STORAGE } from '../../dicom/uids.js';
import { makeUid } from './uid.js';

export interface SkullStrippedInput {
  source: SourceSeries;
  /** The stripped image on the source's native grid (i = column, j = row, k = source.frames[k]); background 0. */
  brain: Volume<Float32Array>;
  algorithm: AlgorithmIdentity;
  options: DerivedObjectOptions;
  /** Acquisition attributes of the source (required by the classic MR Image module). */
  acquisition: MrAcquisition;
}

// CID 7203 "Image Derivation" (PS3.16).
export const PIXEL_BY_PIXEL_MASK = code('113047', 'DCM', 'Pixel by pixel mask');

/** A stored pixel value (unsigned 16 bit, no rescale) of a brain intensity. */
function storedValue(x: number): number {
  return Number.isFinite(x) ? Math.min(65535, Math.max(0, Math.round(x))) : 0;
}

/** Stored values of voxels [from, to) of the brain, as the pixels of one or more frames. */
function storedPixels(brain: Float32Array, from = 0, to = brain.length): Uint16Array {
  const pixels = new Uint16Array(to - from);
  for (let v = from; v < to; v++) pixels[v - from] = storedValue(brain[v]);
  return pixels;
}

/** A window that fits the brain's stored intensities. */
function brainWindow(brain: Float32Array): { center: number; width: number } {
  const histogram = new Uint32Array(65536);
  let nonZero = 0;
  for (let v = 0; v < brain.length; v++) {
    const s = storedValue(brain[v]);
    if (s > 0) {
      histogram[s]++;
      nonZero++;
    }
  }
  // Window from the 1st to the 99.5th percentile of the brain (background excluded): the skull that set the
  // source's window is gone, and bright vessels should not wash out the parenchyma.
  const percentile = (p: number) => {
    const target = Math.max(1, Math.ceil(nonZero * p));
    let seen = 0;
    for (let s = 1; s < 65536; s++) {
      seen += histogram[s];
      if (seen >= target) return s;
    }
    return 0;
  };
  if (nonZero === 0) return { center: 0.5, width: 1 };
  const lo = percentile(0.01);
  const hi = Math.max(percentile(0.995), lo + 1);
  return { center: (lo + hi) / 2, width: hi - lo };
}

function acquisitionAttributes(acq: MrAcquisition): Dataset {
  return stripUndefined({
    // Type 1 in the MR Image module; a source without conformant values gets research-mode / none (PS3.3 C.8.3.1).
    ScanningSequence: acq.scanningSequence.length > 0 ? acq.scanningSequence : ['RM'],
    SequenceVariant: acq.sequenceVariant.length > 0 ? acq.sequenceVariant : ['NONE'],
    ScanOptions: acq.scanOptions.length > 0 ? acq.scanOptions : '',
    MRAcquisitionType: acq.mrAcquisitionType ?? '',
    RepetitionTime: acq.repetitionTime !== undefined ? ds(acq.repetitionTime) : '',
    EchoTime: acq.echoTime !== undefined ? ds(acq.echoTime) : '',
    EchoTrainLength: acq.echoTrainLength !== undefined ? String(acq.echoTrainLength) : '',
    // Type 2C: only for inversion-recovery sequences.
    InversionTime: acq.scanningSequence.includes('IR') ? (acq.inversionTime !== undefined ? ds(acq.inversionTime) : '') : undefined,
    SequenceName: acq.sequenceName,
    MagneticFieldStrength: acq.magneticFieldStrength !== undefined ? ds(acq.magneticFieldStrength) : undefined,
    ImagedNucleus: acq.imagedNucleus,
    FlipAngle: acq.flipAngle !== undefined ? ds(acq.flipAngle) : undefined,
  });
}

/** UIDs of the derived series: the same source instances and model give the same UIDs (idempotent re-runs). */
function derivedUids(input: SkullStrippedInput) {
  const { source, algorithm, options } = input;
  const basis = uidBasis(source, algorithm);
  return {
    series: makeUid(options.uidRoot, 'skull-stripped series', ...basis),
    instance: (k: number) => makeUid(options.uidRoot, 'skull-stripped instance', String(k), ...basis),
  };
}

function commonSeriesAttributes(input: SkullStrippedInput, seriesUid: string, created: { date: string; time: string }): Dataset {
  const { source, options, acquisition } = input;
  return stripUndefined({
    SpecificCharacterSet: 'ISO_IR 192',
    InstanceCreationDate: created.date,
    InstanceCreationTime: created.time,
    ...patientAndStudy(source),
    Modality: 'MR',
    SeriesInstanceUID: seriesUid,
    SeriesNumber: String(seriesNumber(source, options.seriesNumberOffset)),
    SeriesDate: created.date,
    SeriesTime: created.time,
    SeriesDescription: seriesDescription(source, options.seriesDescriptionSuffix, options.reviewNote !== undefined),
    // What the image shows; a brain is not a paired structure, so Laterality (Type 2C) is left out.
    BodyPartExamined: acquisition.bodyPartExamined ?? 'BRAIN',
    PatientPosition: acquisition.patientPosition,
    ...equipment(options),
    ...frameOfReference(source),
    ContentDate: created.date,
    ContentTime: created.time,
    BurnedInAnnotation: 'NO',
    ...reviewComments(options),
  });
}

/** The skull-stripped series for `input.source`: classic MR → one object per slice; Enhanced MR → one object. */
export function buildSkullStrippedSeries(input: SkullStrippedInput): DicomObject[] {
  return [...skullStrippedObjects(input)];
}

/** The same objects one at a time: a writer that encodes each as it comes holds one frame's dataset, not all. */
export function skullStrippedObjects(input: SkullStrippedInput): Iterable<DicomObject> {
  assertOnSourceGrid(input.source, input.brain, 'the skull-stripped image');
  return input.source.enhanced ? [buildEnhanced(input)] : classicObjects(input);
}

function* classicObjects(input: SkullStrippedInput): Generator<DicomObject> {
  const { source, brain, acquisition } = input;
  const created = dicomDateTime(input.options.now ?? new Date());
  const uids = derivedUids(input);
  // Each frame's pixels made on their own: a whole-volume copy of a large series is not needed.
  const { center, width } = brainWindow(brain.data);
  const frameLength = source.rows * source.columns;
  const series = commonSeriesAttributes(input, uids.series, created);
  const acq = acquisitionAttributes(acquisition);
  for (const [k, frame] of source.frames.entries()) {
    const sopInstanceUid = uids.instance(k);
    const framePixels = storedPixels(brain.data, k * frameLength, (k + 1) * frameLength);
    const dataset: Dataset = {
      ...series,
      ImageType: ['DERIVED', 'SECONDARY', 'OTHER'],
      SOPClassUID: MR_IMAGE_STORAGE,
      DerivationDescription: derivationDescription(input.algorithm),
      DerivationCodeSequence: [PIXEL_BY_PIXEL_MASK],
      SOPInstanceUID: sopInstanceUid,
      InstanceNumber: String(k + 1),
      SourceImageSequence: [sourceImageItem(frame)],
      ...acq,
      SliceThickness: ds(sliceThickness(input)),
      ImagePositionPatient: frame.imagePositionPatient.map(ds),
      ImageOrientationPatient: source.imageOrientationPatient.map(ds),
      PixelSpacing: source.pixelSpacing.map(ds),
      ...imagePixelModule(source),
      WindowCenter: ds(center),
      WindowWidth: ds(width),
      WindowCenterWidthExplanation: 'BRAIN',
      PixelData: [framePixels.buffer],
      _vrMap: { PixelData: 'OW' },
    };
    yield { kind: 'derived', sopClassUid: MR_IMAGE_STORAGE, sopInstanceUid, seriesInstanceUid: uids.series, dataset };
  }
}

/** Image Pixel module of every skull-stripped image: unsigned 16-bit monochrome on the source's own matrix. */
function imagePixelModule(source: SourceSeries): Dataset {
  return { SamplesPerPixel: 1, PhotometricInterpretation: 'MONOCHROME2', Rows: source.rows, Columns: source.columns, BitsAllocated: 16, BitsStored: 16, HighBit: 15, PixelRepresentation: 0 };
}

/** The Enhanced MR skull-stripped instance, one DICOM module (PS3.3 A.36.2) per function below. */
function buildEnhanced(input: SkullStrippedInput): DicomObject {
  const { source, brain, options } = input;
  const created = dicomDateTime(options.now ?? new Date());
  const uids = derivedUids(input);
  const sopInstanceUid = uids.instance(0);
  const stored = { pixels: storedPixels(brain.data), ...brainWindow(brain.data) };
  const dataset: Dataset = {
    ...commonSeriesAttributes(input, uids.series, created),
    ImageType: ENHANCED_IMAGE_TYPE,
    SOPClassUID: ENHANCED_MR_IMAGE_STORAGE,
    SOPInstanceUID: sopInstanceUid,
    InstanceNumber: '1',
    ...enhancedMrImageModule(input),
    ...enhancedDimensionModule(makeUid(options.uidRoot, 'dimension organization', sopInstanceUid)),
    ...enhancedFunctionalGroups(input, stored),
    ...imagePixelModule(source),
    LossyImageCompression: '00',
    PixelData: [stored.pixels.buffer],
    _vrMap: { PixelData: 'OW' },
  };
  return { kind: 'derived', sopClassUid: ENHANCED_MR_IMAGE_STORAGE, sopInstanceUid, seriesInstanceUid: uids.series, dataset: stripUndefined(dataset) };
}

// The Enhanced MR IOD enumerates value 2 as PRIMARY only (PS3.3 C.8.16.1.1); DERIVED + MASKED say what it is.
const ENHANCED_IMAGE_TYPE = ['DERIVED', 'PRIMARY', 'VOLUME', 'MASKED'];

/** The image-level values the Enhanced MR Image module and the MR Image Frame Type macro share. */
function enhancedImageCharacteristics(input: SkullStrippedInput): Dataset {
  return {
    PixelPresentation: 'MONOCHROME',
    VolumetricProperties: 'VOLUME',
    VolumeBasedCalculationTechnique: 'NONE',
    ComplexImageComponent: 'MAGNITUDE',
    AcquisitionContrast: input.acquisition.acquisitionContrast ?? 'UNKNOWN',
  };
}

/** Enhanced MR Image module (C.8.13.1); the MR acquisition macros are only required for ORIGINAL frames. */
function enhancedMrImageModule(input: SkullStrippedInput): Dataset {
  const { source, acquisition } = input;
  return {
    ...enhancedImageCharacteristics(input),
    ContentQualification: 'RESEARCH',
    MagneticFieldStrength: acquisition.magneticFieldStrength !== undefined ? ds(acquisition.magneticFieldStrength) : undefined,
    // The safety standard the source was acquired under; IEC 60601-2-33 is what MR scanners follow when unstated.
    ApplicableSafetyStandardAgency: acquisition.applicableSafetyStandardAgency ?? 'IEC',
    PresentationLUTShape: 'IDENTITY',
    SourceImageEvidenceSequence: hierarchicalReferences(source),
    AcquisitionContextSequence: [],
  };
}

/** Multi-frame Dimension module (C.7.6.17): one stack, frames by in-stack position. */
function enhancedDimensionModule(dimensionOrganizationUid: string): Dataset {
  return {
    DimensionOrganizationType: '3D',
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: [
      { DimensionOrganizationUID: dimensionOrganizationUid, DimensionIndexPointer: 0x00209056, FunctionalGroupPointer: 0x00209111, DimensionDescriptionLabel: 'Stack ID' },
      { DimensionOrganizationUID: dimensionOrganizationUid, DimensionIndexPointer: 0x00209057, FunctionalGroupPointer: 0x00209111, DimensionDescriptionLabel: 'In-Stack Position Number' },
    ],
  };
}

/** Multi-frame Functional Groups module (C.7.6.16): shared geometry, window and frame type; per frame its position and source. */
function enhancedFunctionalGroups(input: SkullStrippedInput, stored: { center: number; width: number }): Dataset {
  const { source, algorithm } = input;
  return {
    SharedFunctionalGroupsSequence: [
      {
        ...sharedPlaneGeometry(input),
        FrameAnatomySequence: [{ AnatomicRegionSequence: [BRAIN], FrameLaterality: 'U' }],
        FrameVOILUTSequence: [{ WindowCenter: ds(stored.center), WindowWidth: ds(stored.width), WindowCenterWidthExplanation: 'BRAIN' }],
        PixelValueTransformationSequence: [{ RescaleIntercept: '0', RescaleSlope: '1', RescaleType: 'US' }],
        MRImageFrameTypeSequence: [{ FrameType: ENHANCED_IMAGE_TYPE, ...enhancedImageCharacteristics(input) }],
      },
    ],
    PerFrameFunctionalGroupsSequence: source.frames.map((frame, k) => ({
      FrameContentSequence: [{ StackID: '1', InStackPositionNumber: k + 1, DimensionIndexValues: [1, k + 1] }],
      PlanePositionSequence: [{ ImagePositionPatient: frame.imagePositionPatient.map(ds) }],
      DerivationImageSequence: [
        {
          DerivationDescription: derivationDescription(algorithm),
          DerivationCodeSequence: [PIXEL_BY_PIXEL_MASK],
          SourceImageSequence: [sourceImageItem(frame)],
        },
      ],
    })),
    NumberOfFrames: String(source.frames.length),
  };
}

/** Hierarchical SOP Instance Reference macro (PS3.3 C.17.2.1) listing every source instance once. */
export function hierarchicalReferences(source: SourceSeries): Dataset[] {
  return [
    {
      StudyInstanceUID: source.studyInstanceUid,
      ReferencedSeriesSequence: [
        {
          SeriesInstanceUID: source.seriesInstanceUid,
          ReferencedSOPSequence: referencedInstances(source),
        },
      ],
    },
  ];
}
