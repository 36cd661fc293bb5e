// Pixel data of one instance → stored values per frame, for every transfer syntax the SCP accepts. Compressed
// frames are decoded by dcmjs-codecs (its WebAssembly build of libjpeg-turbo/CharLS/OpenJPEG/…), never by hand.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as Codecs from 'dcmjs-codecs';
import { type LibraryLog, captureLibraryLog } from '../../log.js';
import { type Dataset, parsePart10 } from './dcmjs.js';
import { type DicomIdentifiers, SeriesError } from './errors.js';
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, HTJ2K, HTJ2K_LOSSLESS,
  HTJ2K_LOSSLESS_RPCL, IMPLICIT_VR_LITTLE_ENDIAN, JPEG_2000, JPEG_2000_LOSSLESS, JPEG_BASELINE, JPEG_EXTENDED,
  JPEG_LOSSLESS, JPEG_LOSSLESS_SV1, JPEG_LS_LOSSLESS, JPEG_LS_NEAR_LOSSLESS, JPEG_XL, JPEG_XL_JPEG_RECOMPRESSION,
  JPEG_XL_LOSSLESS, RLE_LOSSLESS,
} from '../../dicom/uids.js';

const require = createRequire(import.meta.url);
const codecs = require('dcmjs-codecs') as typeof Codecs;
// The codecs log what their WebAssembly writes to stdout or stderr as errors; those go into the node's log.
captureLibraryLog('dcmjs-codecs', codecs.log as unknown as LibraryLog, 'warn');

let codecsReady: Promise<void> | undefined;

/** Loads the codecs' WebAssembly once per process (or worker); without it compressed frames cannot be read. */
export function initializeCodecs(): Promise<void> {
  codecsReady ??= codecs.NativeCodecs.isInitialized() ? Promise.resolve() : codecs.NativeCodecs.initializeAsync({ logCodecsInfo: false, logCodecsTrace: false });
  return codecsReady;
}

const NATIVE = new Set([IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN]);

type Decoder = (context: Codecs.Context) => Codecs.Context;
const DECODERS: Record<string, { name: string; decode: Decoder }> = {
  [RLE_LOSSLESS]: { name: 'RLE Lossless', decode: (c) => codecs.NativeCodecs.decodeRle(c) },
  [JPEG_BASELINE]: { name: 'JPEG Baseline', decode: (c) => codecs.NativeCodecs.decodeJpeg(c, { convertColorspaceToRgb: false }) },
  [JPEG_EXTENDED]: { name: 'JPEG Extended', decode: (c) => codecs.NativeCodecs.decodeJpeg(c, { convertColorspaceToRgb: false }) },
  [JPEG_LOSSLESS]: { name: 'JPEG Lossless', decode: (c) => codecs.NativeCodecs.decodeJpeg(c) },
  [JPEG_LOSSLESS_SV1]: { name: 'JPEG Lossless SV1', decode: (c) => codecs.NativeCodecs.decodeJpeg(c) },
  [JPEG_LS_LOSSLESS]: { name: 'JPEG-LS Lossless', decode: (c) => codecs.NativeCodecs.decodeJpegLs(c) },
  [JPEG_LS_NEAR_LOSSLESS]: { name: 'JPEG-LS Near-Lossless', decode: (c) => codecs.NativeCodecs.decodeJpegLs(c) },
  [JPEG_2000_LOSSLESS]: { name: 'JPEG 2000 Lossless', decode: (c) => codecs.NativeCodecs.decodeJpeg2000(c) },
  [JPEG_2000]: { name: 'JPEG 2000', decode: (c) => codecs.NativeCodecs.decodeJpeg2000(c) },
  [JPEG_XL_LOSSLESS]: { name: 'JPEG XL Lossless', decode: (c) => codecs.NativeCodecs.decodeJpegXl(c) },
  [JPEG_XL_JPEG_RECOMPRESSION]: { name: 'JPEG XL JPEG Recompression', decode: (c) => codecs.NativeCodecs.decodeJpegXl(c) },
  [JPEG_XL]: { name: 'JPEG XL', decode: (c) => codecs.NativeCodecs.decodeJpegXl(c) },
  [HTJ2K_LOSSLESS]: { name: 'HTJ2K Lossless', decode: (c) => codecs.NativeCodecs.decodeHtJpeg2000(c) },
  [HTJ2K_LOSSLESS_RPCL]: { name: 'HTJ2K Lossless RPCL', decode: (c) => codecs.NativeCodecs.decodeHtJpeg2000(c) },
  [HTJ2K]: { name: 'HTJ2K', decode: (c) => codecs.NativeCodecs.decodeHtJpeg2000(c) },
};

export function isSupportedTransferSyntax(uid: string): boolean {
  return NATIVE.has(uid) || uid in DECODERS;
}

/** How stored pixel values are laid out (Image Pixel module). */
export interface PixelFormat {
  rows: number;
  columns: number;
  numberOfFrames: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  photometricInterpretation: string;
}

export type StoredFrame = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** Reads and checks the Image Pixel attributes that decoding depends on; refuses what is not a grey-scale image. */
export function pixelFormatOf(dataset: Dataset, ids: DicomIdentifiers): PixelFormat {
  const rows = Number(dataset.Rows);
  const columns = Number(dataset.Columns);
  const bitsAllocated = Number(dataset.BitsAllocated);
  const bitsStored = Number(dataset.BitsStored ?? bitsAllocated);
  const samples = Number(dataset.SamplesPerPixel ?? 1);
  const photometricInterpretation = String(dataset.PhotometricInterpretation ?? '').trim();
  const numberOfFrames = Number(dataset.NumberOfFrames ?? 1) || 1;
  if (!(rows > 0 && columns > 0)) throw new SeriesError(`Rows/Columns missing or zero (${dataset.Rows}×${dataset.Columns})`, ids);
  if (photometricInterpretation !== 'MONOCHROME2' && photometricInterpretation !== 'MONOCHROME1') {
    throw new SeriesError(`unsupported photometric interpretation '${photometricInterpretation || '(none)'}': only grey-scale MONOCHROME1/2 MR images can become a volume`, ids);
  }
  if (samples !== 1) throw new SeriesError(`unsupported SamplesPerPixel ${samples}: only single-sample grey-scale images`, ids);
  if (![8, 16, 32].includes(bitsAllocated)) throw new SeriesError(`unsupported BitsAllocated ${dataset.BitsAllocated}`, ids);
  if (!(bitsStored > 0 && bitsStored <= bitsAllocated)) throw new SeriesError(`invalid BitsStored ${dataset.BitsStored} for BitsAllocated ${bitsAllocated}`, ids);
  const pixelRepresentation = Number(dataset.PixelRepresentation ?? 0);
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw new SeriesError(`PixelRepresentation '${String(dataset.PixelRepresentation)}' is neither 0 (unsigned) nor 1 (signed)`, ids);
  }
  return { rows, columns, numberOfFrames, bitsAllocated, bitsStored, signed: pixelRepresentation === 1, photometricInterpretation };
}

/**
 * Stored values of every frame of one parsed instance. `fileBytes` is the raw file, used to notice pixel data
 * cut short by a truncated transfer (dcmjs silently pads it with zeros, which would be a wrong volume).
 */
export function decodeFrames(
  parsed: { transferSyntaxUid: string; dataset: Dataset },
  ids: DicomIdentifiers,
  fileBytes?: Uint8Array,
  wanted?: ReadonlySet<number>,
): { format: PixelFormat; frames: (StoredFrame | undefined)[] } {
  const { transferSyntaxUid: ts, dataset } = parsed;
  const format = pixelFormatOf(dataset, ids);
  const pixelData = dataset.PixelData as ArrayBuffer[] | undefined;
  if (!Array.isArray(pixelData) || pixelData.length === 0) throw new SeriesError('the instance has no pixel data (a truncated file?)', ids);
  const bytesPerSample = format.bitsAllocated / 8;
  const frameLength = format.rows * format.columns * bytesPerSample;
  // Frames not in `wanted` (other volumes of a multi-volume object) are left undecoded.
  const frames: (StoredFrame | undefined)[] = [];
  if (NATIVE.has(ts)) {
    const all = new Uint8Array(pixelData[0]);
    const needed = frameLength * format.numberOfFrames;
    if (all.byteLength < needed) {
      throw new SeriesError(`pixel data is shorter than declared: ${all.byteLength} bytes for ${format.numberOfFrames} frame(s) of ${format.columns}×${format.rows}×${format.bitsAllocated} bits (${needed} bytes)`, ids);
    }
    if (fileBytes) checkNotTruncated(fileBytes, ts, all.byteLength, ids);
    for (let f = 0; f < format.numberOfFrames; f++) {
      if (wanted && !wanted.has(f)) {
        frames.push(undefined);
        continue;
      }
      // dcmjs hands us its own copy of the value, so frames can view it in place (copied only when misaligned).
      const start = all.byteOffset + f * frameLength;
      const inPlace = start % bytesPerSample === 0 && !(ts === EXPLICIT_VR_BIG_ENDIAN && bytesPerSample > 1); // never swap dcmjs's bytes twice
      const bytes = inPlace ? all.subarray(f * frameLength, (f + 1) * frameLength) : all.slice(f * frameLength, (f + 1) * frameLength);
      if (ts === EXPLICIT_VR_BIG_ENDIAN && bytesPerSample > 1) swapBytes(bytes, bytesPerSample);
      frames.push(typedFrame(bytes, format));
    }
    return { format, frames };
  }
  const decoder = DECODERS[ts];
  if (!decoder) throw new SeriesError(`unsupported transfer syntax ${ts || '(none)'}`, ids);
  if (fileBytes) checkFragmentsNotTruncated(fileBytes, ids);
  if (!codecs.NativeCodecs.isInitialized()) throw new Error('pixel codecs are not initialised: call initializeCodecs() before decoding compressed data');
  let encodedFrames: Uint8Array[] = pixelData.map((b) => new Uint8Array(b));
  if (encodedFrames.length !== format.numberOfFrames) {
    // dcmjs returns one buffer per fragment when it cannot map fragments to frames; a single frame may span several.
    if (format.numberOfFrames !== 1) {
      throw new SeriesError(`encapsulated pixel data has ${encodedFrames.length} fragments for ${format.numberOfFrames} frames`, ids);
    }
    encodedFrames = [concat(encodedFrames)];
  }
  for (let f = 0; f < encodedFrames.length; f++) {
    if (wanted && !wanted.has(f)) {
      frames.push(undefined);
      continue;
    }
    let decoded: Uint8Array<ArrayBufferLike> | undefined;
    try {
      const context = new codecs.Context({
        width: format.columns,
        height: format.rows,
        bitsAllocated: format.bitsAllocated,
        bitsStored: format.bitsStored,
        samplesPerPixel: 1,
        pixelRepresentation: format.signed ? 1 : 0,
        planarConfiguration: 0,
        photometricInterpretation: format.photometricInterpretation,
        encodedBuffer: encodedFrames[f],
      });
      decoded = decoder.decode(context).getDecodedBuffer();
    } catch (error) {
      throw new SeriesError(`${decoder.name} frame ${f + 1} could not be decoded: ${error instanceof Error ? error.message : String(error)}`, ids);
    }
    if (!decoded || decoded.byteLength < frameLength) {
      throw new SeriesError(`${decoder.name} frame ${f + 1} decoded to ${decoded?.byteLength ?? 0} bytes, ${frameLength} expected`, ids);
    }
    frames.push(typedFrame(decoded.slice(0, frameLength), format));
  }
  return { format, frames };
}

/** Reads one file and returns its stored pixel values per frame (used by tests and tools that need pixels only). */
export async function decodePixelData(path: string): Promise<{ format: PixelFormat; transferSyntaxUid: string; frames: StoredFrame[] }> {
  await initializeCodecs();
  const bytes = fs.readFileSync(path);
  let parsed;
  try {
    parsed = parsePart10(bytes);
  } catch (error) {
    throw new SeriesError(`not a readable DICOM file: ${error instanceof Error ? error.message : String(error)}`, { path });
  }
  const ids = { sopInstanceUid: parsed.dataset.SOPInstanceUID, seriesInstanceUid: parsed.dataset.SeriesInstanceUID, path };
  const { format, frames } = decodeFrames(parsed, ids, bytes);
  return { format, frames: frames as StoredFrame[], transferSyntaxUid: parsed.transferSyntaxUid };
}

function typedFrame(bytes: Uint8Array, format: PixelFormat): StoredFrame {
  const { buffer, byteOffset, byteLength } = bytes;
  const n = format.rows * format.columns;
  let frame: StoredFrame;
  if (format.bitsAllocated === 8) frame = format.signed ? new Int8Array(buffer, byteOffset, n) : bytes;
  else if (format.bitsAllocated === 16) frame = format.signed ? new Int16Array(buffer, byteOffset, byteLength / 2) : new Uint16Array(buffer, byteOffset, byteLength / 2);
  else frame = format.signed ? new Int32Array(buffer, byteOffset, byteLength / 4) : new Uint32Array(buffer, byteOffset, byteLength / 4);
  if (format.bitsStored < format.bitsAllocated) maskToBitsStored(frame, format);
  return frame;
}

/** Values live in the low BitsStored bits; higher bits may hold overlays or sign copies. Keep only the value. */
function maskToBitsStored(frame: StoredFrame, format: PixelFormat): void {
  const bits = format.bitsStored;
  const mask = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  const shift = 32 - bits;
  for (let v = 0; v < frame.length; v++) {
    const raw = frame[v] & mask;
    frame[v] = format.signed ? (raw << shift) >> shift : raw;
  }
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let o = 0; o + width <= bytes.length; o += width) bytes.subarray(o, o + width).reverse();
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * Finds the top-level Pixel Data element header (tag, VR, declared length) in the raw file and checks that
 * the file really holds that many bytes after it.
 */
function checkNotTruncated(file: Uint8Array, ts: string, declared: number, ids: DicomIdentifiers): void {
  const le = ts !== EXPLICIT_VR_BIG_ENDIAN;
  const header: number[] = le ? [0xe0, 0x7f, 0x10, 0x00] : [0x7f, 0xe0, 0x00, 0x10];
  const len = [declared & 0xff, (declared >>> 8) & 0xff, (declared >>> 16) & 0xff, (declared >>> 24) & 0xff];
  if (!le) len.reverse();
  const candidates =
    ts === IMPLICIT_VR_LITTLE_ENDIAN
      ? [[...header, ...len]]
      : [[...header, 0x4f, 0x57, 0, 0, ...len], [...header, 0x4f, 0x42, 0, 0, ...len]]; // OW, OB
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  for (const pattern of candidates) {
    const at = buf.lastIndexOf(Buffer.from(pattern));
    if (at >= 0) {
      const available = file.byteLength - (at + pattern.length);
      if (available < declared) throw new SeriesError(`pixel data is shorter than declared: the file ends ${declared - available} bytes early (truncated transfer?)`, ids);
      return;
    }
  }
}

/**
 * Walks the items of top-level encapsulated Pixel Data in the raw file and checks that every fragment is there
 * in full (dcmjs zero-pads a cut-off fragment, and some codecs then decode it without complaint).
 */
function checkFragmentsNotTruncated(file: Uint8Array, ids: DicomIdentifiers): void {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  // OB is what the standard says; some writers (dcmjs-codecs among them) label encapsulated data OW.
  const headers = [0x42, 0x57].map((vr) => Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, vr, 0, 0, 0xff, 0xff, 0xff, 0xff]));
  const at = Math.max(...headers.map((h) => buf.lastIndexOf(h)));
  if (at < 0) return;
  let pos = at + 12;
  while (pos + 8 <= buf.length) {
    const group = buf.readUInt16LE(pos);
    const element = buf.readUInt16LE(pos + 2);
    const length = buf.readUInt32LE(pos + 4);
    if (group !== 0xfffe) throw new SeriesError(`encapsulated pixel data is corrupt: unexpected element (${group.toString(16)},${element.toString(16)}) among its fragments`, ids);
    if (element === 0xe0dd) return;
    if (pos + 8 + length > buf.length) throw new SeriesError(`pixel data is shorter than declared: a compressed fragment ends ${pos + 8 + length - buf.length} bytes past the end of the file (truncated transfer?)`, ids);
    pos += 8 + length;
  }
  if (pos !== buf.length) throw new SeriesError('pixel data is shorter than declared: the file ends inside a fragment header (truncated transfer?)', ids);
}
