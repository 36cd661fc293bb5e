// Writing the objects brainstrip creates as DICOM Part-10 files (explicit VR little endian), through dcmjs.
// dcmjs ships no TypeScript types; this file types the small part of its writing API the builders use.
import { createRequire } from 'node:module';

/** A dcmjs "naturalized" dataset: keyword → value; sequences are arrays of datasets, binary values ArrayBuffers. */
export type Dataset = Record<string, unknown>;

interface DcmjsWriteApi {
  data: {
    DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(options?: Record<string, unknown>): ArrayBuffer };
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean; untilTag?: string | null }): { meta: Record<string, unknown>; dict: Record<string, unknown> };
    };
    DicomMetaDictionary: {
      denaturalizeDataset(dataset: Dataset): Record<string, unknown>;
      naturalizeDataset(dict: Record<string, unknown>): Dataset;
    };
  };
  log: { setLevel(level: string): void };
}

const require = createRequire(import.meta.url);
const dcmjs = require('dcmjs') as DcmjsWriteApi;
dcmjs.log.setLevel('error');

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** brainstrip's implementation class UID (PS3.7 D.3.3.2), a fixed UUID-derived UID. */
export const IMPLEMENTATION_CLASS_UID = '2.25.53716988225638326896631341756211899713';
export const IMPLEMENTATION_VERSION_NAME = 'BRAINSTRIP_01';

/** The dataset as a Part-10 file: preamble, file meta information, data set. */
export function toPart10(dataset: Dataset): Buffer {
  const sopClassUid = dataset.SOPClassUID;
  const sopInstanceUid = dataset.SOPInstanceUID;
  if (typeof sopClassUid !== 'string' || typeof sopInstanceUid !== 'string') {
    throw new Error('a dataset needs SOPClassUID and SOPInstanceUID to be written as a file');
  }
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
  const dict = new dcmjs.data.DicomDict(dcmjs.data.DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write());
}

/** Reads a Part-10 file back (tests, and the sender's check of what it is about to send). */
export function fromPart10(bytes: Uint8Array, headerOnly = false): { meta: Dataset; dataset: Dataset } {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const message = dcmjs.data.DicomMessage.readFile(buffer, { ignoreErrors: true, untilTag: headerOnly ? '7FE00010' : null });
  return {
    meta: dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.meta),
    dataset: dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict),
  };
}
