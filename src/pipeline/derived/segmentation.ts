// The DICOM Segmentation (PS3.3 A.51) of the brain: BINARY, one segment, one frame per source slice (empty
// frames kept), each frame carrying its plane position and a reference to the source instance (and frame) it
// was computed from, in the per-frame functional group where viewers look for it.
import type { SourceSeries } from '../dicom/series.js';
import type { Volume } from '../space/volume.js';
import type { AlgorithmIdentity, DerivedObjectOptions, DicomObject } from './objects.js';
import {
  BRAIN,
  code,
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
import { assertOnSourceGrid, sharedPlaneGeometry } from './source-grid.js';
import { ds, stripUndefined } from './values.js';
import type { MrAcquisition } from './acquisition.js';
import type { Dataset } from '../dicom/dcmjs.js';
import { SEGMENTATION_STORAGE } from '../../dicom/uids.js';
import { makeUid } from './uid.js';

export interface SegmentationInput {
  source: SourceSeries;
  /** 0/1 brain mask on the source's native grid (i = column, j = row, k = source.frames[k]). */
  mask: Volume<Uint8Array>;
  algorithm: AlgorithmIdentity;
  options: DerivedObjectOptions;
  acquisition?: Pick<MrAcquisition, 'sliceThickness' | 'bodyPartExamined'>;
}

export const ANATOMICAL_STRUCTURE = code('91723000', 'SCT', 'Anatomical Structure');
// CID 7162 Surface Processing Algorithm Families; CID 7203 Image Derivation.
export const ARTIFICIAL_INTELLIGENCE = code('123110', 'DCM', 'Artificial Intelligence');
export const SEGMENTATION_DERIVATION = code('113076', 'DCM', 'Segmentation');

/** Frames bit-packed one after the other, first pixel in the least significant bit (PS3.5 8.1.1). */
export function packBits(mask: Uint8Array): Uint8Array {
  const packed = new Uint8Array(Math.ceil(mask.length / 8));
  for (let v = 0; v < mask.length; v++) if (mask[v]) packed[v >> 3] |= 1 << (v & 7);
  return packed;
}

export function segmentationUid(input: Pick<SegmentationInput, 'source' | 'algorithm' | 'options'>): { series: string; instance: string } {
  const { source, algorithm, options } = input;
  const basis = uidBasis(source, algorithm);
  return { series: makeUid(options.uidRoot, 'seg series', ...basis), instance: makeUid(options.uidRoot, 'seg instance', ...basis) };
}

/** The SEG, one DICOM module (PS3.3 A.51) per function below; the values are unchanged by how they are grouped. */
export function buildSegmentation(input: SegmentationInput): DicomObject {
  const { source, mask, options } = input;
  assertOnSourceGrid(source, mask, 'the brain mask');
  const created = dicomDateTime(options.now ?? new Date());
  const uids = segmentationUid(input);
  const dataset: Dataset = stripUndefined({
    ...sopCommonModule(uids.instance, created),
    ...patientAndStudy(source),
    ...segmentationSeriesModule(input, uids.series, created),
    ...equipment(options),
    ...frameOfReference(source),
    ...segmentationImageModule(input, created),
    ...multiFrameDimensionModule(makeUid(options.uidRoot, 'dimension organization', uids.instance)),
    ...functionalGroups(input),
    ...imagePixelModule(input),
  });
  return { kind: 'seg', sopClassUid: SEGMENTATION_STORAGE, sopInstanceUid: uids.instance, seriesInstanceUid: uids.series, dataset };
}

function algorithmName(algorithm: AlgorithmIdentity): string {
  return `${algorithm.name} ${algorithm.version} (${algorithm.precision})`;
}

/** SOP Common (C.12.1). */
function sopCommonModule(sopInstanceUid: string, created: { date: string; time: string }): Dataset {
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    InstanceCreationDate: created.date,
    InstanceCreationTime: created.time,
    SOPClassUID: SEGMENTATION_STORAGE,
    SOPInstanceUID: sopInstanceUid,
  };
}

/** Segmentation Series (C.8.20.1) and General Series (C.7.3.1). */
function segmentationSeriesModule(input: SegmentationInput, seriesInstanceUid: string, created: { date: string; time: string }): Dataset {
  const { source, options } = input;
  return {
    Modality: 'SEG',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: String(seriesNumber(source, options.seriesNumberOffset, 1)),
    SeriesDate: created.date,
    SeriesTime: created.time,
    SeriesDescription: seriesDescription(source, options.segSeriesDescriptionSuffix, options.reviewNote !== undefined),
    BodyPartExamined: input.acquisition?.bodyPartExamined ?? 'BRAIN',
    ReferencedSeriesSequence: [{ SeriesInstanceUID: source.seriesInstanceUid, ReferencedInstanceSequence: referencedInstances(source) }],
  };
}

/** Segmentation Image (C.8.20.2), General Image and the one segment: Brain, AUTOMATIC, by the model. */
function segmentationImageModule(input: SegmentationInput, created: { date: string; time: string }): Dataset {
  const { algorithm, options } = input;
  const name = algorithmName(algorithm);
  return {
    ImageType: ['DERIVED', 'PRIMARY'],
    InstanceNumber: '1',
    ContentDate: created.date,
    ContentTime: created.time,
    ...reviewComments(options),
    ContentLabel: 'BRAIN',
    ContentDescription: `Brain mask by ${name}`.slice(0, 64),
    ContentCreatorName: '',
    SegmentationType: 'BINARY',
    LossyImageCompression: '00',
    SegmentSequence: [
      {
        SegmentNumber: 1,
        SegmentLabel: 'Brain',
        SegmentedPropertyCategoryCodeSequence: [ANATOMICAL_STRUCTURE],
        SegmentedPropertyTypeCodeSequence: [BRAIN],
        SegmentAlgorithmType: 'AUTOMATIC',
        SegmentAlgorithmName: name.slice(0, 64),
        SegmentationAlgorithmIdentificationSequence: [
          {
            AlgorithmFamilyCodeSequence: [ARTIFICIAL_INTELLIGENCE],
            AlgorithmName: algorithm.name.slice(0, 64),
            AlgorithmVersion: `${algorithm.version} ${algorithm.precision}`.slice(0, 64),
          },
        ],
      },
    ],
  };
}

/** Multi-frame Dimension (C.7.6.17): frames indexed by segment number, then position. */
function multiFrameDimensionModule(dimensionOrganizationUid: string): Dataset {
  return {
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: dimensionOrganizationUid,
        DimensionIndexPointer: 0x0062000b,
        FunctionalGroupPointer: 0x0062000a,
        DimensionDescriptionLabel: 'Segment Number',
      },
      {
        DimensionOrganizationUID: dimensionOrganizationUid,
        DimensionIndexPointer: 0x00200032,
        FunctionalGroupPointer: 0x00209113,
        DimensionDescriptionLabel: 'Image Position Patient',
      },
    ],
  };
}

/** Multi-frame Functional Groups (C.7.6.16): shared geometry, and per frame its position and source slice. */
function functionalGroups(input: SegmentationInput): Dataset {
  const { source } = input;
  return {
    SharedFunctionalGroupsSequence: [
      sharedPlaneGeometry(input),
    ],
    PerFrameFunctionalGroupsSequence: source.frames.map((frame, k) => ({
      FrameContentSequence: [{ DimensionIndexValues: [1, k + 1] }],
      PlanePositionSequence: [{ ImagePositionPatient: frame.imagePositionPatient.map(ds) }],
      DerivationImageSequence: [{ DerivationCodeSequence: [SEGMENTATION_DERIVATION], SourceImageSequence: [sourceImageItem(frame)] }],
      SegmentIdentificationSequence: [{ ReferencedSegmentNumber: 1 }],
    })),
    NumberOfFrames: String(source.frames.length),
  };
}

/** Image Pixel (C.7.6.3) of a BINARY segmentation: one bit per pixel, frames bit-packed. */
function imagePixelModule(input: SegmentationInput): Dataset {
  const { source, mask } = input;
  return {
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: source.rows,
    Columns: source.columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    PixelData: [packBits(mask.data).buffer],
    _vrMap: { PixelData: 'OB' },
  };
}
