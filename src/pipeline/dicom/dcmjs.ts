// The one door to dcmjs, which ships no TypeScript types: reading Part-10 files (the loader, tests) and writing
// the objects brainstrip creates. Loading it through createRequire keeps the rest of the code typed against the
// small part of its API that we use, without an ambient module declaration that could clash with another area's.
import { createRequire } from 'node:module';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './identity.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../../dicom/uids.js';

/** A dcmjs "naturalized" dataset: keyword → value (sequences are arrays of datasets, binary values ArrayBuffers). */
export type Dataset = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface DicomDict {
  meta: Record<string, unknown>;
  dict: Record<string, unknown>;
}

interface DcmjsApi {
  data: {
    DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(options?: Record<string, unknown>): ArrayBuffer };
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean; untilTag?: string | null; noCopy?: boolean }): DicomDict;
    };
    DicomMetaDictionary: {
      naturalizeDataset(dict: Record<string, unknown>): Dataset;
      denaturalizeDataset(dataset: Dataset): Record<string, unknown>;
    };
    /** A naturalized dataset carrying its own file meta attributes, as a Part-10 file. */
    datasetToBuffer(dataset: Dataset): Buffer;
  };
  log: { setLevel(level: string): void; getLogger?(name: string): { setLevel(level: string): void } };
}

const require = createRequire(import.meta.url);
export const dcmjs = require('dcmjs') as DcmjsApi;
// dcmjs logs every unusual VR to the console; the loader reports problems itself, with the series' UIDs.
dcmjs.log.setLevel('error');
// Its validation logger reports the dictionary's ambiguous VRs (US or SS) of every implicit-VR file as errors.
dcmjs.log.getLogger?.('validation.dcmjs').setLevel('silent');


/** The dataset as a Part-10 file: preamble, file meta information, data set (explicit VR little endian). */
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

/** Reads a Part-10 file leniently (tests, and the sender's check of what it is about to send). */
export function fromPart10(bytes: Uint8Array, headerOnly = false): { meta: Dataset; dataset: Dataset } {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const message = dcmjs.data.DicomMessage.readFile(buffer, { ignoreErrors: true, untilTag: headerOnly ? '7FE00010' : null });
  return {
    meta: dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.meta),
    dataset: dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict),
  };
}

export interface ParsedPart10 {
  transferSyntaxUid: string;
  meta: Dataset;
  dataset: Dataset;
}

/** Parses a DICOM Part-10 byte stream; `headerOnly` stops before the pixel data (for listing series). */
export function parsePart10(bytes: Uint8Array, headerOnly = false): ParsedPart10 {
  try {
    return parseOnce(bytes, headerOnly);
  } catch (error) {
    // dcmjs refuses multi-valued SpecificCharacterSet (code extensions, e.g. '\ISO 2022 IR 87' for Japanese
    // names). The ISO 2022 escape sequences in the values say which set each run of bytes uses, so decoding
    // with the extension's own decoder (iso-2022-jp for IR 87/159) reads them correctly.
    if (!(error instanceof Error) || !/multiple character sets/.test(error.message)) throw error;
    const patched = withSingleCharacterSet(bytes);
    if (!patched) throw error;
    const parsed = parseOnce(patched, headerOnly);
    stripEscapes(parsed.dataset);
    return parsed;
  }
}

function parseOnce(bytes: Uint8Array, headerOnly: boolean): ParsedPart10 {
  // dcmjs wants a whole ArrayBuffer; a file read on its own already is one (small reads share Node's pool).
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  const buffer = whole ? (bytes.buffer as ArrayBuffer) : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const message = dcmjs.data.DicomMessage.readFile(buffer, { ignoreErrors: false, untilTag: headerOnly ? '7FE00010' : null });
  const meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.meta);
  keepUnparsedNumbers(message.dict);
  const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict);
  return { transferSyntaxUid: String(meta.TransferSyntaxUID ?? '').replace(/\0/g, '').trim(), meta, dataset };
}

interface DictElement {
  vr?: string;
  Value?: unknown[];
  _rawValue?: unknown;
}

/**
 * dcmjs reads a DS or IS value that is not a number as a guess (the characters that are not digits dropped: '-x25'
 * becomes −25) or as null ('abc'), and keeps the text only aside. Such a value is put back as its text, so that
 * whoever checks it refuses it by name instead of using a number nobody wrote.
 */
function keepUnparsedNumbers(dict: Record<string, unknown>): void {
  for (const element of Object.values(dict) as DictElement[]) {
    const values = element?.Value;
    if (!Array.isArray(values)) continue;
    if (element.vr === 'SQ') {
      for (const item of values) if (item && typeof item === 'object') keepUnparsedNumbers(item as Record<string, unknown>);
      continue;
    }
    if (element.vr !== 'DS' && element.vr !== 'IS') continue;
    const raw = Array.isArray(element._rawValue) ? element._rawValue : [element._rawValue];
    values.forEach((_, i) => {
      const text = typeof raw[i] === 'string' ? raw[i].replace(/\0/g, '').trim() : '';
      if (text !== '' && !Number.isFinite(Number(text))) values[i] = text;
    });
  }
}

/** A copy of `bytes` whose SpecificCharacterSet holds only its last (code-extension) term, padded to length. */
function withSingleCharacterSet(bytes: Uint8Array): Uint8Array | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const [tag, explicit, le] of [
    [[0x08, 0x00, 0x05, 0x00], true, true],
    [[0x08, 0x00, 0x05, 0x00], false, true],
    [[0x00, 0x08, 0x00, 0x05], true, false],
  ] as [number[], boolean, boolean][]) {
    let at = buf.indexOf(Buffer.from(explicit ? [...tag, 0x43, 0x53] : tag), 132);
    if (at < 0) continue;
    const length = explicit ? (le ? buf.readUInt16LE(at + 6) : buf.readUInt16BE(at + 6)) : buf.readUInt32LE(at + 4);
    at += 8;
    if (length === 0 || length > 128 || at + length > buf.length) continue;
    const terms = buf.toString('latin1', at, at + length).split('\\').map((t) => t.trim()).filter(Boolean);
    const term = terms[terms.length - 1];
    if (!term) return undefined;
    const copy = Buffer.from(buf);
    copy.write(term.padEnd(length, ' '), at, length, 'latin1');
    return copy;
  }
  return undefined;
}

/** Removes ISO 2022 escape sequences that a single-set decoder (e.g. euc-kr) leaves in decoded strings. */
function stripEscapes(value: unknown): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (typeof v === 'string') value[i] = v.replace(ESCAPE, '');
      else stripEscapes(v);
    });
  } else if (value && typeof value === 'object' && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (typeof record[key] === 'string') record[key] = (record[key] as string).replace(ESCAPE, '');
      else stripEscapes(record[key]);
    }
  }
}
// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b[$()*+\-./,][A-Za-z@]?[A-Za-z@]/g;
