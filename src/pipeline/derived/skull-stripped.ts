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
import { type DerivedPixelEncoding, derivedPixelEncoding, storedFrame } from './stored-values.js';

export interface SkullStrippedInput {
  source: SourceSeries;
  /** The source image (real-world values) on its native grid (i = column, j = row, k = source.frames[k]). */
  image: Volume<Float32Array>;
  /** The brain, 0/1, on the same grid. */
  mask: Volume<Uint8Array>;
  algorithm: AlgorithmIdentity;
  options: DerivedObjectOptions;
  /** Acquisition attributes of the source (required by the classic MR Image module). */
  acquisition: MrAcquisition;
}

// CID 7203 "Image Derivation" (PS3.16).
export const PIXEL_BY_PIXEL_MASK = code('113047', 'DCM', 'Pixel by pixel mask');

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
  assertOnSourceGrid(input.source, input.image, 'the skull-stripped image');
  assertOnSourceGrid(input.source, input.mask, 'the brain mask');
  return input.source.enhanced ? [buildEnhanced(input)] : classicObjects(input);
}

function* classicObjects(input: SkullStrippedInput): Generator<DicomObject> {
  const { source, image, mask, acquisition } = input;
  const created = dicomDateTime(input.options.now ?? new Date());
  const uids = derivedUids(input);
  // Each frame's pixels made on their own: a whole-volume copy of a large series is not needed.
  const encoding = derivedPixelEncoding(source, image, mask);
  const series = commonSeriesAttributes(input, uids.series, created);
  const acq = acquisitionAttributes(acquisition);
  for (const [k, frame] of source.frames.entries()) {
    const sopInstanceUid = uids.instance(k);
    const framePixels = storedFrame(encoding, image, mask, k);
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
      ...imagePixelModule(source, encoding),
      ...classicRescale(encoding.rescale(k)),
      WindowCenter: ds(encoding.window.center),
      WindowWidth: ds(encoding.window.width),
      WindowCenterWidthExplanation: 'BRAIN',
      PixelData: [framePixels.buffer],
      _vrMap: { PixelData: 'OW' },
    };
    yield { kind: 'derived', sopClassUid: MR_IMAGE_STORAGE, sopInstanceUid, seriesInstanceUid: uids.series, dataset };
  }
}

/** Image Pixel module of every skull-stripped image: monochrome on the source's own matrix, in its encoding. */
function imagePixelModule(source: SourceSeries, encoding: DerivedPixelEncoding): Dataset {
  return {
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: source.rows,
    Columns: source.columns,
    BitsAllocated: encoding.bitsAllocated,
    BitsStored: encoding.bitsStored,
    HighBit: encoding.bitsStored - 1,
    PixelRepresentation: encoding.signed ? 1 : 0,
  };
}

/** A classic image's Rescale Slope/Intercept: stated where they are not the identity, as the source states them. */
function classicRescale({ slope, intercept }: { slope: number; intercept: number }): Dataset {
  return slope === 1 && intercept === 0 ? {} : { RescaleIntercept: ds(intercept), RescaleSlope: ds(slope), RescaleType: 'US' };
}

/** Pixel Value Transformation items (Enhanced MR): the rescale of frame k, unspecified units as the source's. */
function pixelValueTransformation({ slope, intercept }: { slope: number; intercept: number }): Dataset[] {
  return [{ RescaleIntercept: ds(intercept), RescaleSlope: ds(slope), RescaleType: 'US' }];
}

/** The Enhanced MR skull-stripped instance, one DICOM module (PS3.3 A.36.2) per function below. */
function buildEnhanced(input: SkullStrippedInput): DicomObject {
  const { source, image, mask, options } = input;
  const created = dicomDateTime(options.now ?? new Date());
  const uids = derivedUids(input);
  const sopInstanceUid = uids.instance(0);
  const encoding = derivedPixelEncoding(source, image, mask);
  const pixels = concatFrames(source.frames.map((_, k) => storedFrame(encoding, image, mask, k)));
  const dataset: Dataset = {
    ...commonSeriesAttributes(input, uids.series, created),
    ImageType: ENHANCED_IMAGE_TYPE,
    SOPClassUID: ENHANCED_MR_IMAGE_STORAGE,
    SOPInstanceUID: sopInstanceUid,
    InstanceNumber: '1',
    ...enhancedMrImageModule(input),
    ...enhancedDimensionModule(makeUid(options.uidRoot, 'dimension organization', sopInstanceUid)),
    ...enhancedFunctionalGroups(input, encoding),
    ...imagePixelModule(source, encoding),
    LossyImageCompression: '00',
    PixelData: [pixels.buffer],
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
function enhancedFunctionalGroups(input: SkullStrippedInput, encoding: DerivedPixelEncoding): Dataset {
  const { source, algorithm } = input;
  const { window, uniformRescale } = encoding;
  return {
    SharedFunctionalGroupsSequence: [
      {
        ...sharedPlaneGeometry(input),
        FrameAnatomySequence: [{ AnatomicRegionSequence: [BRAIN], FrameLaterality: 'U' }],
        FrameVOILUTSequence: [{ WindowCenter: ds(window.center), WindowWidth: ds(window.width), WindowCenterWidthExplanation: 'BRAIN' }],
        PixelValueTransformationSequence: uniformRescale ? pixelValueTransformation(encoding.rescale(0)) : undefined,
        MRImageFrameTypeSequence: [{ FrameType: ENHANCED_IMAGE_TYPE, ...enhancedImageCharacteristics(input) }],
      },
    ],
    PerFrameFunctionalGroupsSequence: source.frames.map((frame, k) => ({
      FrameContentSequence: [{ StackID: '1', InStackPositionNumber: k + 1, DimensionIndexValues: [1, k + 1] }],
      PlanePositionSequence: [{ ImagePositionPatient: frame.imagePositionPatient.map(ds) }],
      PixelValueTransformationSequence: uniformRescale ? undefined : pixelValueTransformation(encoding.rescale(k)),
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

/** The frames' stored values one after another, as one multi-frame Pixel Data value. */
function concatFrames<T extends Int16Array | Uint16Array>(frames: T[]): T {
  const length = frames.reduce((n, f) => n + f.length, 0);
  const out = (frames[0] instanceof Int16Array ? new Int16Array(length) : new Uint16Array(length)) as T;
  let o = 0;
  for (const f of frames) {
    out.set(f, o);
    o += f.length;
  }
  return out;
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
