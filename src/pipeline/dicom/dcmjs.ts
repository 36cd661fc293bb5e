// The one door to dcmjs, which ships no TypeScript types: reading Part-10 files (the loader, tests) and writing
// the objects brainstrip creates. Loading it through createRequire keeps the rest of the code typed against the
// small part of its API that we use, without an ambient module declaration that could clash with another area's.
import { createRequire } from 'node:module';
import { type LibraryLog, captureLibraryLog } from '../../log.js';
import { type CharacterSet, CHARACTER_SETS, interpretCharacterSet, holdsReplacedBytes, stripEscapes } from './character-set.js';
import { readFileMeta, scanElements } from './element-scan.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './identity.js';
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN } from '../../dicom/uids.js';

/** A dcmjs "naturalized" dataset: keyword → value (sequences are arrays of datasets, binary values ArrayBuffers). */
export type Dataset = Record<string, any>;

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
  log: LibraryLog & { getLogger(name: string): LibraryLog };
  constants: { encodingMapping: Record<string, string> };
}

const require = createRequire(import.meta.url);
export const dcmjs = require('dcmjs') as DcmjsApi;
// dcmjs logs every unusual VR as a warning; the loader reports problems itself, with the series' UIDs. Its errors
// go into the node's log.
captureLibraryLog('dcmjs', dcmjs.log, 'error');
// Its validation logger reports the dictionary's ambiguous VRs (US or SS) of every implicit-VR file as errors.
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent', false);
// dcmjs decodes text with the decoder its table names for the Specific Character Set term (normalized as below);
// its table lacks some defined terms (ISO_IR 203), so ours is written into it.
for (const [term, label] of Object.entries(CHARACTER_SETS)) dcmjs.constants.encodingMapping[term.replace(/[_ ]/g, '-').toLowerCase()] = label;

const SPECIFIC_CHARACTER_SET = 0x00080005;


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

export interface ParsedPart10 {
  transferSyntaxUid: string;
  meta: Dataset;
  dataset: Dataset;
  /** What was wrong with the instance's text (its Specific Character Set, undecodable bytes), for the log. */
  textProblems: string[];
}

/** Parses a DICOM Part-10 byte stream; `headerOnly` stops before the pixel data (for listing series). */
export function parsePart10(bytes: Uint8Array, headerOnly = false): ParsedPart10 {
  const { input, characterSet } = withReadableCharacterSet(bytes);
  const parsed = readPart10(input, { ignoreErrors: false, untilTag: headerOnly ? '7FE00010' : null }, keepUnparsedNumbers);
  return { ...parsed, transferSyntaxUid: String(parsed.meta.TransferSyntaxUID ?? '').replace(/\0/g, '').trim(), textProblems: textProblems(parsed.dataset, characterSet) };
}

/** Reads a Part-10 file leniently (tests, and the sender's check of what it is about to send). */
export function fromPart10(bytes: Uint8Array, headerOnly = false): { meta: Dataset; dataset: Dataset } {
  return readPart10(withReadableCharacterSet(bytes).input, { ignoreErrors: true, untilTag: headerOnly ? '7FE00010' : null });
}

function readPart10(
  bytes: Uint8Array,
  options: { ignoreErrors: boolean; untilTag: string | null },
  prepare?: (dict: Record<string, unknown>) => void,
): { meta: Dataset; dataset: Dataset } {
  // dcmjs wants a whole ArrayBuffer; a file read on its own already is one (small reads share Node's pool).
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  const buffer = whole ? (bytes.buffer as ArrayBuffer) : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const message = dcmjs.data.DicomMessage.readFile(buffer, options);
  prepare?.(message.dict);
  return {
    meta: dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.meta),
    dataset: dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict),
  };
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

/**
 * The bytes with every Specific Character Set that dcmjs would refuse (an unknown term, several terms) replaced by
 * the one term that reads the text (blank for ISO 8859-1), padded to the same length; and how the top-level one
 * was interpreted. dcmjs reports the set as ISO_IR 192 afterwards, which is what its decoded strings are.
 */
function withReadableCharacterSet(bytes: Uint8Array): { input: Uint8Array; characterSet?: CharacterSet } {
  const file = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset: number;
  let transferSyntaxUid: string;
  try {
    ({ datasetOffset: offset, transferSyntaxUid } = readFileMeta(file));
  } catch {
    return { input: bytes }; // not Part 10: dcmjs says so itself
  }
  if (transferSyntaxUid === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) return { input: bytes };
  const dataset = file.subarray(offset);
  const found: { value: number; length: number; depth: number; characterSet: CharacterSet }[] = [];
  // Items may carry their own Specific Character Set: those of undefined-length items are found too.
  scanElements(dataset, transferSyntaxUid, 0x7fdfffff, (tag, value, length, depth) => {
    if (tag === SPECIFIC_CHARACTER_SET) found.push({ value, length, depth, characterSet: interpretCharacterSet(dataset.toString('latin1', value, value + length)) });
  }, true);
  const top = found.find((f) => f.depth === 0);
  const rewrite = found.filter((f) => f.characterSet.term !== f.characterSet.declared.replace(/[\0 ]+$/, '').trim());
  if (rewrite.length === 0) return { input: bytes, characterSet: top?.characterSet };
  const copy = Buffer.from(file);
  for (const f of rewrite) copy.write(f.characterSet.term.padEnd(f.length, ' '), offset + f.value, f.length, 'latin1');
  return { input: copy, characterSet: top?.characterSet };
}

function textProblems(dataset: Dataset, characterSet: CharacterSet | undefined): string[] {
  if (characterSet?.escapes) stripEscapes(dataset);
  const problems = [...(characterSet?.problems ?? [])];
  if (holdsReplacedBytes(dataset)) {
    problems.push(`text values hold bytes that are not valid in '${characterSet?.declared.trim() || 'the default repertoire'}': they read as U+FFFD`);
  }
  return problems;
}
