// The attributes that tell whether a series arrived whole, read from a stored Part 10 file without decoding it:
// identity, instance number and slice geometry, the counts a scanner declares (Images in Acquisition, Number of
// Frames) and the Siemens ASCII protocol (ASCCONV), which says how many slices and slab images were acquired.
// Reading stops before Pixel Data.
import fs from 'node:fs';
import { EXPLICIT_VR_BIG_ENDIAN } from '../../dicom/uids.js';
import { readFileMeta, scanElements } from './element-scan.js';
import type { Vec3 } from '../space/volume.js';

export interface CompletenessHeader {
  sopClassUid?: string;
  sopInstanceUid?: string;
  imageType: string[];
  instanceNumber?: number;
  imagePositionPatient?: Vec3;
  imageOrientationPatient?: number[];
  /** Row spacing, column spacing. */
  pixelSpacing?: [number, number];
  rows?: number;
  columns?: number;
  /** Images in Acquisition (0020,1002), as GE and others write it. */
  imagesInAcquisition?: number;
  numberOfFrames?: number;
  /** Siemens ASCII protocol values (ASCCONV), when the instance carries them. */
  protocol?: Map<string, string>;
}

/** The header bytes of a stored instance end long before this in every real file; its pixel data are not read. */
export const COMPLETENESS_HEADER_BYTES = 2 * 1024 * 1024;
const BEFORE_PIXEL_DATA = 0x7fdfffff;
/** Siemens keeps its protocol in private data of these groups: the CSA series header (VB/VE) or (0021,xx19) (XA). */
const PROTOCOL_GROUPS = new Set([0x0021, 0x0029]);
const ASCCONV_BEGIN = '### ASCCONV BEGIN';
const ASCCONV_END = '### ASCCONV END';

/** Reads the completeness attributes from the first bytes of a Part 10 file (at most COMPLETENESS_HEADER_BYTES). */
export function readCompletenessHeader(file: Buffer): CompletenessHeader {
  const meta = readFileMeta(file);
  const dataset = file.subarray(meta.datasetOffset);
  const header: CompletenessHeader = { imageType: [] };
  const text = (value: number, length: number) => dataset.toString('latin1', value, value + length).replace(/[\0 ]+$/, '').trim();
  const numbers = (value: number, length: number) => text(value, length).split('\\').map(Number);
  const u16 = (value: number) => (meta.transferSyntaxUid === EXPLICIT_VR_BIG_ENDIAN ? dataset.readUInt16BE(value) : dataset.readUInt16LE(value));
  scanElements(dataset, meta.transferSyntaxUid, BEFORE_PIXEL_DATA, (tag, value, length) => {
    switch (tag) {
      case 0x00080008:
        header.imageType = text(value, length).split('\\').map((v) => v.trim().toUpperCase());
        return;
      case 0x00080016:
        header.sopClassUid = text(value, length);
        return;
      case 0x00080018:
        header.sopInstanceUid = text(value, length);
        return;
      case 0x00200013:
        header.instanceNumber = integer(text(value, length));
        return;
      case 0x00200032:
        header.imagePositionPatient = triple(numbers(value, length));
        return;
      case 0x00200037: {
        const o = numbers(value, length);
        if (o.length === 6 && o.every(Number.isFinite)) header.imageOrientationPatient = o;
        return;
      }
      case 0x00201002:
        header.imagesInAcquisition = integer(text(value, length));
        return;
      case 0x00280008:
        header.numberOfFrames = integer(text(value, length));
        return;
      case 0x00280010:
        if (length === 2) header.rows = u16(value);
        return;
      case 0x00280011:
        if (length === 2) header.columns = u16(value);
        return;
      case 0x00280030: {
        const s = numbers(value, length);
        if (s.length === 2 && s.every((v) => v > 0)) header.pixelSpacing = [s[0], s[1]];
        return;
      }
    }
    if (!header.protocol && PROTOCOL_GROUPS.has(tag >>> 16) && (tag & 0xffff) >= 0x1000 && length > 1024) {
      header.protocol = parseAscconv(dataset.toString('latin1', value, value + length));
    }
  });
  return header;
}

/** The `name = value` lines of the ASCCONV block in `text`; undefined when it holds none. */
export function parseAscconv(text: string): Map<string, string> | undefined {
  const begin = text.indexOf(ASCCONV_BEGIN);
  if (begin < 0) return undefined;
  const end = text.indexOf(ASCCONV_END, begin);
  const block = text.slice(text.indexOf('\n', begin) + 1, end < 0 ? undefined : end);
  const values = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][\w.[\]]*)\s*=\s*([^#]*?)\s*(#.*)?$/.exec(line);
    if (match) values.set(match[1], match[2].replace(/^"+|"+$/g, ''));
  }
  return values.size > 0 ? values : undefined;
}

function integer(value: string): number | undefined {
  return /^[+-]?\d+$/.test(value) ? Number(value) : undefined;
}

function triple(values: number[]): Vec3 | undefined {
  return values.length === 3 && values.every(Number.isFinite) ? [values[0], values[1], values[2]] : undefined;
}

/** Reads the completeness attributes of a stored Part 10 file (its first COMPLETENESS_HEADER_BYTES at most). */
export async function readCompletenessHeaderFile(path: string): Promise<CompletenessHeader> {
  const file = await fs.promises.open(path, 'r');
  try {
    const { size } = await file.stat();
    const bytes = Buffer.alloc(Math.min(size, COMPLETENESS_HEADER_BYTES));
    const { bytesRead } = await file.read(bytes, 0, bytes.length, 0);
    return readCompletenessHeader(bytes.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}
