// Walks the elements of an encoded dataset without decoding their values: the receiver reads its few header
// attributes this way, and the reader finds the Specific Character Set before dcmjs decodes any text.

import { EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from '../../dicom/uids.js';

/** Deeper nesting of sequences than any real dataset has is a hostile one; reading stops there. */
export const MAX_SEQUENCE_DEPTH = 32;
/** Elements read (nested ones included) before the last wanted tag; beyond this the dataset is refused. */
export const MAX_HEADER_ELEMENTS = 200_000;

const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;

class Truncated extends Error {}

/** One element met on the walk: its tag, where its value starts and how long it is, and its sequence depth. */
export type ElementVisitor = (tag: number, value: number, length: number, depth: number) => void;

export interface ElementScan {
  /** true when the walk reached a top-level tag above `lastTag`; false when the bytes ran out first. */
  complete: boolean;
  /** Why the bytes are not a dataset (a malformed structure, too deep or too many elements), if they are not. */
  error?: string;
}

/**
 * Visits the top-level elements of `bytes` (a dataset encoded in `transferSyntaxUid`) up to `lastTag`; with
 * `nested`, also the elements inside undefined-length sequence items. Every transfer syntax brainstrip accepts
 * encodes the dataset itself as explicit or implicit VR little endian, or explicit big endian.
 */
export function scanElements(bytes: Buffer, transferSyntaxUid: string, lastTag: number, visit: ElementVisitor, nested = false): ElementScan {
  const implicit = transferSyntaxUid === IMPLICIT_VR_LITTLE_ENDIAN;
  const bigEndian = transferSyntaxUid === EXPLICIT_VR_BIG_ENDIAN;
  const u16 = (p: number) => (bigEndian ? bytes.readUInt16BE(p) : bytes.readUInt16LE(p));
  const u32 = (p: number) => (bigEndian ? bytes.readUInt32BE(p) : bytes.readUInt32LE(p));
  const need = (p: number, n: number) => {
    if (p + n > bytes.length) throw new Truncated();
  };
  let elements = 0;
  const readTag = (p: number) => {
    if (++elements > MAX_HEADER_ELEMENTS) throw new Error(`more than ${MAX_HEADER_ELEMENTS} elements before tag ${lastTag.toString(16).padStart(8, '0')}`);
    need(p, 4);
    return ((u16(p) << 16) | u16(p + 2)) >>> 0;
  };
  const elementBounds = (p: number, tag: number): { value: number; length: number } => {
    need(p, 8);
    if (implicit || tag >>> 16 === 0xfffe) return { value: p + 8, length: u32(p + 4) };
    if (LONG_LENGTH_VRS.has(bytes.toString('latin1', p + 4, p + 6))) {
      need(p, 12);
      return { value: p + 12, length: u32(p + 8) };
    }
    return { value: p + 8, length: u16(p + 6) };
  };
  /** Walks the elements of an undefined-length item; returns the position after its delimiter. */
  const itemContent = (p: number, depth: number): number => {
    for (;;) {
      const tag = readTag(p);
      if (tag === ITEM_DELIMITER) return p + 8;
      const { value, length } = elementBounds(p, tag);
      if (length === UNDEFINED_LENGTH) {
        p = undefinedSequence(value, depth + 1);
        continue;
      }
      if (nested) {
        need(value, length);
        visit(tag, value, length, depth);
      }
      p = value + length;
    }
  };
  /** Walks the items of an undefined-length sequence (or encapsulated fragments); returns the position after it. */
  const undefinedSequence = (p: number, depth: number): number => {
    if (depth > MAX_SEQUENCE_DEPTH) throw new Error(`sequences nested deeper than ${MAX_SEQUENCE_DEPTH}`);
    for (;;) {
      const tag = readTag(p);
      need(p, 8);
      const length = u32(p + 4);
      if (tag === SEQUENCE_DELIMITER) return p + 8;
      if (tag !== ITEM) throw new Error(`unexpected tag ${tag.toString(16)} inside a sequence`);
      p = length === UNDEFINED_LENGTH ? itemContent(p + 8, depth) : p + 8 + length;
    }
  };

  let p = 0;
  try {
    while (p < bytes.length) {
      const tag = readTag(p);
      if (tag > lastTag) return { complete: true };
      const { value, length } = elementBounds(p, tag);
      if (length === UNDEFINED_LENGTH) {
        p = undefinedSequence(value, 1);
        continue;
      }
      need(value, length);
      visit(tag, value, length, 0);
      p = value + length;
    }
  } catch (e) {
    // Truncated bytes or a malformed structure: what was visited before it still counts.
    if (!(e instanceof Truncated)) return { complete: false, error: e instanceof RangeError ? 'structure too deep to read' : (e as Error).message };
  }
  return { complete: false };
}

/** Length of the preamble and File Meta Information of a Part 10 file (to find where its dataset starts). */
export function datasetOffset(file: Buffer): number {
  if (file.length < 144 || file.toString('latin1', 128, 132) !== 'DICM') throw new Error('not a DICOM Part 10 file');
  // (0002,0000) UL is the first element: 132 + 8 bytes of header, then its 4-byte value.
  return 132 + 12 + file.readUInt32LE(140);
}

/** Transfer syntax and dataset start of a Part 10 file (its File Meta Information is explicit VR little endian). */
export function readFileMeta(file: Buffer): { transferSyntaxUid: string; sopInstanceUid: string; datasetOffset: number } {
  const offset = datasetOffset(file);
  let transferSyntaxUid = '';
  let sopInstanceUid = '';
  const text = (value: number, length: number) => file.toString('latin1', value, value + length).replace(/[\0 ]+$/, '');
  scanElements(file.subarray(132, offset), EXPLICIT_VR_LITTLE_ENDIAN, 0x0002ffff, (tag, value, length) => {
    if (tag === 0x00020010) transferSyntaxUid = text(132 + value, length);
    if (tag === 0x00020003) sopInstanceUid = text(132 + value, length);
  });
  return { transferSyntaxUid, sopInstanceUid, datasetOffset: offset };
}
