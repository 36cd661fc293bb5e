// Instances whose text is encoded in a given character set: a real instance with some top-level text values
// replaced byte for byte, the way a scanner with a wrong or unknown Specific Character Set writes them.
import { readFileMeta, scanElements } from '../src/pipeline/dicom/element-scan.js';
import { EXPLICIT_VR_LITTLE_ENDIAN } from '../src/dicom/uids.js';

export const SPECIFIC_CHARACTER_SET = 0x00080005;
export const PATIENT_NAME = 0x00100010;
export const SERIES_DESCRIPTION = 0x0008103e;
export const STUDY_DESCRIPTION = 0x00081030;

/** A copy of a Part-10 file (explicit VR little endian) with the values of top-level elements replaced. */
export function withValues(file: Buffer, values: Record<number, Buffer | string>): Buffer {
  const meta = readFileMeta(file);
  if (meta.transferSyntaxUid !== EXPLICIT_VR_LITTLE_ENDIAN) throw new Error(`withValues needs explicit VR little endian, not ${meta.transferSyntaxUid}`);
  const dataset = file.subarray(meta.datasetOffset);
  const parts: Buffer[] = [file.subarray(0, meta.datasetOffset)];
  const left = new Set(Object.keys(values).map(Number));
  let copied = 0;
  scanElements(dataset, meta.transferSyntaxUid, 0x7fdfffff, (tag, value, length) => {
    if (!left.has(tag)) return;
    left.delete(tag);
    const given = values[tag];
    let bytes = typeof given === 'string' ? Buffer.from(given, 'latin1') : given;
    if (bytes.length % 2) bytes = Buffer.concat([bytes, Buffer.from(' ')]);
    const header = Buffer.from(dataset.subarray(value - 8, value));
    header.writeUInt16LE(bytes.length, 6);
    parts.push(dataset.subarray(copied, value - 8), header, bytes);
    copied = value + length;
  });
  if (left.size) throw new Error(`elements ${[...left].map((t) => t.toString(16)).join(', ')} are not in the file`);
  parts.push(dataset.subarray(copied));
  return Buffer.concat(parts);
}
