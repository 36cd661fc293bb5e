// Synthetic classic MR series with known geometry and voxel values, written as real Part-10 files with dcmjs
// (optionally transcoded by dcmjs-codecs): the operations page's self-test sends one through the node, and tests
// and benchmarks use it as a known answer to check the loader against, in any size, orientation or transfer
// syntax, without shipping patient data.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Codecs from 'dcmjs-codecs';
import { sliceNormal } from '../pipeline/space/geometry.js';
import type { Vec3 } from '../pipeline/space/volume.js';
import { type Dataset, dcmjs } from '../pipeline/dicom/dcmjs.js';
import { initializeCodecs } from '../pipeline/dicom/pixels.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, MR_IMAGE_STORAGE } from '../dicom/uids.js';

const require = createRequire(import.meta.url);
const codecs = require('dcmjs-codecs') as typeof Codecs;

export interface SyntheticSeries {
  rows: number;
  columns: number;
  slices: number;
  /** Row spacing, column spacing (DICOM order). */
  pixelSpacing?: [number, number];
  sliceSpacing?: number;
  imageOrientationPatient?: [number, number, number, number, number, number];
  /** ImagePositionPatient of the first slice. */
  origin?: Vec3;
  /** ImagePositionPatient of slice k of volume v, when not a regular stack along the normal (sheared, jittered). */
  positionOf?: (k: number, v: number) => Vec3;
  /** Several volumes at the same positions (as diffusion series are). */
  volumes?: number;
  /** Stored value of column i, row j, slice k, volume v (unsigned 16-bit unless `signed`, `bitsAllocated`). */
  value?: (i: number, j: number, k: number, v: number) => number;
  signed?: boolean;
  /** 8 or 16 (default 16); BitsStored defaults to it. */
  bitsAllocated?: 8 | 16;
  bitsStored?: number;
  rescaleSlope?: number;
  rescaleIntercept?: number;
  transferSyntaxUid?: string;
  /** Extra or overriding attributes (naturalized keywords). */
  attributes?: Dataset;
}

export function newUid(): string {
  return `2.25.${BigInt(`0x${crypto.randomBytes(15).toString('hex')}`).toString()}`;
}

/** Part-10 files of one synthetic series, in a scrambled InstanceNumber order so that sorting is exercised. */
export async function synthesizeSeries(spec: SyntheticSeries): Promise<{ seriesInstanceUid: string; studyInstanceUid: string; files: Buffer[] }> {
  const pixelSpacing = spec.pixelSpacing ?? [1, 1];
  const sliceSpacing = spec.sliceSpacing ?? 1;
  const iop = spec.imageOrientationPatient ?? [1, 0, 0, 0, 1, 0];
  const origin = spec.origin ?? [0, 0, 0];
  const volumes = spec.volumes ?? 1;
  const value = spec.value ?? ((i, j, k) => (i + 2 * j + 3 * k) % 4096);
  const bitsAllocated = spec.bitsAllocated ?? 16;
  const bitsStored = spec.bitsStored ?? bitsAllocated;
  const normal = sliceNormal(iop);
  const studyInstanceUid = newUid();
  const seriesInstanceUid = newUid();
  const frameOfReferenceUid = newUid();
  const ts = spec.transferSyntaxUid ?? EXPLICIT_VR_LITTLE_ENDIAN;
  if (ts !== EXPLICIT_VR_LITTLE_ENDIAN) await initializeCodecs();
  const files: Buffer[] = [];
  const total = spec.slices * volumes;
  for (let v = 0; v < volumes; v++) {
    for (let k = 0; k < spec.slices; k++) {
      const n = spec.rows * spec.columns;
      const pixels = spec.bitsAllocated === 8 ? (spec.signed ? new Int8Array(n) : new Uint8Array(n)) : spec.signed ? new Int16Array(n) : new Uint16Array(n);
      for (let j = 0, o = 0; j < spec.rows; j++) for (let i = 0; i < spec.columns; i++, o++) pixels[o] = value(i, j, k, v);
      const position = spec.positionOf ? spec.positionOf(k, v) : [0, 1, 2].map((a) => origin[a] + normal[a] * sliceSpacing * k);
      const instanceNumber = ((v * spec.slices + k) * 7919) % total + 1; // scrambled: never the slice order
      const dataset: Dataset = {
        _meta: { TransferSyntaxUID: { Value: [EXPLICIT_VR_LITTLE_ENDIAN] } },
        _vrMap: { PixelData: bitsAllocated === 8 ? 'OB' : 'OW' },
        SpecificCharacterSet: 'ISO_IR 192',
        SOPClassUID: MR_IMAGE_STORAGE,
        SOPInstanceUID: newUid(),
        StudyInstanceUID: studyInstanceUid,
        SeriesInstanceUID: seriesInstanceUid,
        FrameOfReferenceUID: frameOfReferenceUid,
        Modality: 'MR',
        PatientName: [{ Alphabetic: 'Synthetic^Volume' }],
        PatientID: 'SYNTH-1',
        PatientBirthDate: '19700101',
        PatientSex: 'O',
        StudyDate: '20260101',
        StudyTime: '120000',
        StudyID: '1',
        AccessionNumber: 'SYNTH',
        ReferringPhysicianName: '',
        SeriesNumber: 1,
        SeriesDescription: 'synthetic volume',
        Manufacturer: 'brainstrip synthetic',
        InstanceNumber: instanceNumber,
        AcquisitionNumber: 1,
        TemporalPositionIdentifier: v + 1,
        ImageType: ['ORIGINAL', 'PRIMARY', 'M', 'ND'],
        PatientPosition: 'HFS',
        ImagePositionPatient: position,
        ImageOrientationPatient: iop,
        PixelSpacing: pixelSpacing,
        SliceThickness: sliceSpacing,
        Rows: spec.rows,
        Columns: spec.columns,
        SamplesPerPixel: 1,
        PhotometricInterpretation: 'MONOCHROME2',
        BitsAllocated: bitsAllocated,
        BitsStored: bitsStored,
        HighBit: bitsStored - 1,
        PixelRepresentation: spec.signed ? 1 : 0,
        RescaleSlope: spec.rescaleSlope ?? 1,
        RescaleIntercept: spec.rescaleIntercept ?? 0,
        ...spec.attributes,
        PixelData: [pixels.buffer],
      };
      let bytes: Buffer = dcmjs.data.datasetToBuffer(dataset);
      if (ts !== EXPLICIT_VR_LITTLE_ENDIAN) {
        const transcoder = new codecs.Transcoder(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
        transcoder.transcode(ts);
        bytes = Buffer.from(transcoder.getDicomPart10());
      }
      files.push(bytes);
    }
  }
  return { seriesInstanceUid, studyInstanceUid, files };
}


/** Writes a synthetic series into `dir` (one file per slice) and returns the paths. */
export async function writeSyntheticSeries(dir: string, spec: SyntheticSeries): Promise<{ seriesInstanceUid: string; studyInstanceUid: string; paths: string[] }> {
  const { files, ...uids } = await synthesizeSeries(spec);
  fs.mkdirSync(dir, { recursive: true });
  const paths = files.map((bytes, n) => {
    const file = path.join(dir, `${crypto.createHash('sha1').update(String(n)).digest('hex').slice(0, 12)}.dcm`);
    fs.writeFileSync(file, bytes);
    return file;
  });
  return { ...uids, paths };
}
