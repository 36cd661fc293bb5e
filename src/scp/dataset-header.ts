// Reads the few top-level attributes the receiver needs (identity, routing) from the start of a dataset as it
// arrived on the wire, without decoding the rest: the instance is stored exactly as received, and pixel data
// (possibly compressed) is the pipeline's business.

import { decodeText, interpretCharacterSet } from '../pipeline/dicom/character-set.js';
import { scanElements } from '../pipeline/dicom/element-scan.js';

/** Attributes of groups 0008–0020 that routing, the spool layout and the logs use. */
export interface InstanceHeader {
  specificCharacterSet?: string;
  imageType: string[];
  sopClassUid?: string;
  sopInstanceUid?: string;
  modality?: string;
  manufacturer?: string;
  seriesDescription?: string;
  derivationDescription?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  seriesNumber?: string;
}

const WANTED: Record<number, keyof InstanceHeader> = {
  0x00080005: 'specificCharacterSet',
  0x00080008: 'imageType',
  0x00080016: 'sopClassUid',
  0x00080018: 'sopInstanceUid',
  0x00080060: 'modality',
  0x00080070: 'manufacturer',
  0x0008103e: 'seriesDescription',
  0x00082111: 'derivationDescription',
  0x0020000d: 'studyInstanceUid',
  0x0020000e: 'seriesInstanceUid',
  0x00200011: 'seriesNumber',
};
/** Nothing after this tag is needed; reading stops there so that pixel data is never touched. */
const LAST_WANTED_TAG = 0x0020ffff;

export interface HeaderReadResult {
  header: InstanceHeader;
  /** true when reading stopped after the last wanted group; false when the bytes ran out first. */
  complete: boolean;
  /** Why the bytes are not a dataset (a malformed structure, too deep or too many elements), if they are not. */
  error?: string;
}

/** Reads the wanted attributes from the first bytes of a dataset encoded in `transferSyntaxUid`. */
export function readInstanceHeader(bytes: Buffer, transferSyntaxUid: string): HeaderReadResult {
  const raw: Partial<Record<keyof InstanceHeader, Buffer>> = {};
  const { complete, error } = scanElements(bytes, transferSyntaxUid, LAST_WANTED_TAG, (tag, value, length) => {
    const key = WANTED[tag];
    if (key) raw[key] = bytes.subarray(value, value + length);
  });
  return { header: decodeHeader(raw), complete, error };
}

function decodeHeader(raw: Partial<Record<keyof InstanceHeader, Buffer>>): InstanceHeader {
  const ascii = (b?: Buffer) => (b ? trimValue(b.toString('latin1')) : undefined);
  const charset = ascii(raw.specificCharacterSet);
  // Only descriptive text can hold characters beyond ASCII; an unknown set reads as ISO 8859-1 (the pipeline
  // reports it, with the series).
  const characterSet = interpretCharacterSet(charset ?? '');
  const text = (b?: Buffer) => (b ? trimValue(decodeText(b, characterSet)) : undefined);
  const imageType = ascii(raw.imageType);
  return {
    specificCharacterSet: charset,
    imageType: imageType ? imageType.split('\\').map((v) => v.trim().toUpperCase()) : [],
    sopClassUid: ascii(raw.sopClassUid),
    sopInstanceUid: ascii(raw.sopInstanceUid),
    modality: ascii(raw.modality),
    manufacturer: text(raw.manufacturer),
    seriesDescription: text(raw.seriesDescription),
    derivationDescription: text(raw.derivationDescription),
    studyInstanceUid: ascii(raw.studyInstanceUid),
    seriesInstanceUid: ascii(raw.seriesInstanceUid),
    seriesNumber: ascii(raw.seriesNumber),
  };
}

function trimValue(value: string): string {
  return value.replace(/[\0 ]+$/, '').replace(/^ +/, '');
}
