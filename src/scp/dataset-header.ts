// Reads the few top-level attributes the receiver needs (identity, routing) from the start of a dataset as it
// arrived on the wire, without decoding the rest: the instance is stored exactly as received, and pixel data
// (possibly compressed) is the pipeline's business.
import { EXPLICIT_VR_BIG_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from '../dicom/uids.js';

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
const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;

class Truncated extends Error {}

/** Deeper nesting of sequences than any real dataset has is a hostile one; reading stops there. */
export const MAX_SEQUENCE_DEPTH = 32;
/** Elements read (nested ones included) before the wanted groups end; beyond this the dataset is refused. */
export const MAX_HEADER_ELEMENTS = 200_000;

export interface HeaderReadResult {
  header: InstanceHeader;
  /** true when reading stopped after the last wanted group; false when the bytes ran out first. */
  complete: boolean;
  /** Why the bytes are not a dataset (a malformed structure, too deep or too many elements), if they are not. */
  error?: string;
}

/**
 * Reads the wanted attributes from the first bytes of a dataset encoded in `transferSyntaxUid`. Every transfer
 * syntax the SCP accepts encodes the dataset itself as explicit or implicit VR little endian, or explicit big endian.
 */
export function readInstanceHeader(bytes: Buffer, transferSyntaxUid: string): HeaderReadResult {
  const implicit = transferSyntaxUid === IMPLICIT_VR_LITTLE_ENDIAN;
  const bigEndian = transferSyntaxUid === EXPLICIT_VR_BIG_ENDIAN;
  const u16 = (p: number) => (bigEndian ? bytes.readUInt16BE(p) : bytes.readUInt16LE(p));
  const u32 = (p: number) => (bigEndian ? bytes.readUInt32BE(p) : bytes.readUInt32LE(p));
  const raw: Partial<Record<keyof InstanceHeader, Buffer>> = {};

  const need = (p: number, n: number) => {
    if (p + n > bytes.length) throw new Truncated();
  };
  let elements = 0;
  const readTag = (p: number) => {
    if (++elements > MAX_HEADER_ELEMENTS) throw new Error(`more than ${MAX_HEADER_ELEMENTS} elements before group 0020 ends`);
    need(p, 4);
    return ((u16(p) << 16) | u16(p + 2)) >>> 0;
  };

  /** Skips the elements of an undefined-length item; returns the position after its delimiter. */
  const skipItemContent = (p: number, depth: number): number => {
    for (;;) {
      const tag = readTag(p);
      if (tag === ITEM_DELIMITER) return p + 8;
      p = skipElement(p, tag, depth);
    }
  };
  /** Skips the items of an undefined-length sequence (or encapsulated fragments); returns the position after it. */
  const skipUndefinedSequence = (p: number, depth: number): number => {
    if (depth > MAX_SEQUENCE_DEPTH) throw new Error(`sequences nested deeper than ${MAX_SEQUENCE_DEPTH}`);
    for (;;) {
      const tag = readTag(p);
      need(p, 8);
      const length = u32(p + 4);
      if (tag === SEQUENCE_DELIMITER) return p + 8;
      if (tag !== ITEM) throw new Error(`unexpected tag ${tag.toString(16)} inside a sequence`);
      p = length === UNDEFINED_LENGTH ? skipItemContent(p + 8, depth) : p + 8 + length;
    }
  };
  /** Position after the element at p, whose tag is `tag`; records wanted top-level values on the way. */
  const elementBounds = (p: number, tag: number): { value: number; length: number } => {
    if (implicit || tag >>> 16 === 0xfffe) {
      need(p, 8);
      return { value: p + 8, length: u32(p + 4) };
    }
    need(p, 8);
    const vr = bytes.toString('latin1', p + 4, p + 6);
    if (LONG_LENGTH_VRS.has(vr)) {
      need(p, 12);
      return { value: p + 12, length: u32(p + 8) };
    }
    return { value: p + 8, length: u16(p + 6) };
  };
  const skipElement = (p: number, tag: number, depth: number): number => {
    const { value, length } = elementBounds(p, tag);
    return length === UNDEFINED_LENGTH ? skipUndefinedSequence(value, depth + 1) : value + length;
  };

  let p = 0;
  let complete = false;
  let error: string | undefined;
  try {
    while (p < bytes.length) {
      const tag = readTag(p);
      if (tag > LAST_WANTED_TAG) {
        complete = true;
        break;
      }
      const { value, length } = elementBounds(p, tag);
      if (length === UNDEFINED_LENGTH) {
        p = skipUndefinedSequence(value, 1);
        continue;
      }
      const key = WANTED[tag];
      if (key) {
        need(value, length);
        raw[key] = bytes.subarray(value, value + length);
      }
      p = value + length;
    }
  } catch (e) {
    // Truncated bytes or a malformed structure: what was read before it still counts (complete stays false).
    if (!(e instanceof Truncated)) error = e instanceof RangeError ? 'structure too deep to read' : (e as Error).message;
  }
  return { header: decodeHeader(raw), complete, error };
}

function decodeHeader(raw: Partial<Record<keyof InstanceHeader, Buffer>>): InstanceHeader {
  const ascii = (b?: Buffer) => (b ? trimValue(b.toString('latin1')) : undefined);
  const charset = ascii(raw.specificCharacterSet);
  // Only descriptive text can hold non-ASCII characters; UTF-8 (ISO_IR 192) and Latin-1 cover what routing needs.
  const text = (b?: Buffer) => (b ? trimValue(b.toString(charset?.includes('ISO_IR 192') ? 'utf8' : 'latin1')) : undefined);
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
