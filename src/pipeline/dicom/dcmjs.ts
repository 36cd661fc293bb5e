// The one door to dcmjs, which ships no TypeScript types. Loading it through createRequire keeps the rest of
// the code typed against the small part of its API that we use, without an ambient module declaration that
// could clash with another area's.
import { createRequire } from 'node:module';

/** A dcmjs "naturalized" dataset: keyword → value (sequences are arrays of datasets). */
export type Dataset = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface DicomDict {
  meta: Record<string, unknown>;
  dict: Record<string, unknown>;
}

interface DcmjsApi {
  data: {
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean; untilTag?: string | null; noCopy?: boolean }): DicomDict;
    };
    DicomMetaDictionary: {
      naturalizeDataset(dict: Record<string, unknown>): Dataset;
    };
  };
  log: { setLevel(level: string): void; getLogger?(name: string): { setLevel(level: string): void } };
}

const require = createRequire(import.meta.url);
export const dcmjs = require('dcmjs') as DcmjsApi;
// dcmjs logs every unusual VR to the console; the loader reports problems itself, with the series' UIDs.
dcmjs.log.setLevel('error');

export interface ParsedPart10 {
  transferSyntaxUid: string;
  meta: Dataset;
  dataset: Dataset;
}

/** Parses a DICOM Part-10 byte stream; `headerOnly` stops before the pixel data (for listing series). */
export function parsePart10(bytes: Uint8Array, headerOnly = false): ParsedPart10 {
  // dcmjs wants a whole ArrayBuffer; a file read on its own already is one (small reads share Node's pool).
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  const buffer = whole ? (bytes.buffer as ArrayBuffer) : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const message = dcmjs.data.DicomMessage.readFile(buffer, { ignoreErrors: false, untilTag: headerOnly ? '7FE00010' : null });
  const meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.meta);
  const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict);
  return { transferSyntaxUid: String(meta.TransferSyntaxUID ?? '').replace(/\0/g, '').trim(), meta, dataset };
}
