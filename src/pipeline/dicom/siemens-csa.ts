// Siemens CSA image header (private (0029,xx10) "SIEMENS CSA HEADER"): the only place where a mosaic says how
// many slices it holds and which way its slice normal points. Binary "SV10" format, as documented by nibabel
// and dcm2niix: tag count, then per tag a 64-byte name, VM, VR, type, item count and length-prefixed items.
import type { Dataset } from './dcmjs.js';

export type CsaHeader = Map<string, string[]>;

export function readCsaImageHeader(dataset: Dataset): CsaHeader | undefined {
  const block = privateBlock(dataset, '0029', 'SIEMENS CSA HEADER');
  if (block === undefined) return undefined;
  const raw = dataset[`0029${block}10`];
  const buffer = Array.isArray(raw) ? raw[0] : raw;
  if (!(buffer instanceof ArrayBuffer)) return undefined;
  return parseCsa(Buffer.from(buffer));
}

/** The two hex digits xx of the private block (gggg,00xx) reserved by `creator`. */
export function privateBlock(dataset: Dataset, group: string, creator: string): string | undefined {
  for (let xx = 0x10; xx <= 0xff; xx++) {
    const key = `${group}00${xx.toString(16).toUpperCase().padStart(2, '0')}`;
    const value = dataset[key];
    const text = Array.isArray(value) ? value[0] : value;
    if (typeof text === 'string' && text.trim() === creator) return xx.toString(16).toUpperCase().padStart(2, '0');
  }
  return undefined;
}

function parseCsa(buf: Buffer): CsaHeader | undefined {
  if (buf.length < 16 || buf.toString('latin1', 0, 4) !== 'SV10') return undefined;
  const out: CsaHeader = new Map();
  const count = buf.readUInt32LE(8);
  let pos = 16;
  for (let t = 0; t < count && pos + 84 <= buf.length; t++) {
    const name = buf.toString('latin1', pos, pos + 64).split('\0')[0];
    const items = buf.readInt32LE(pos + 76);
    pos += 84;
    const values: string[] = [];
    for (let n = 0; n < items && pos + 16 <= buf.length; n++) {
      const length = buf.readInt32LE(pos + 4);
      pos += 16;
      if (length < 0 || pos + length > buf.length) return out;
      const value = buf.toString('latin1', pos, pos + length).split('\0')[0].trim();
      if (value !== '') values.push(value);
      pos += Math.ceil(length / 4) * 4;
    }
    out.set(name, values);
  }
  return out;
}
