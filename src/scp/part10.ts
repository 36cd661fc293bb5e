// The DICOM Part 10 file header (preamble, "DICM", File Meta Information) written in front of a dataset that is
// stored exactly as it arrived on the wire.

import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../pipeline/dicom/identity.js';

export interface FileMetaInput {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** Calling AE title of the association the instance came in on. */
  sourceAeTitle?: string;
}

function element(group: number, elementNumber: number, vr: string, value: Buffer): Buffer {
  const longForm = vr === 'OB';
  const header = Buffer.alloc(longForm ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(elementNumber, 2);
  header.write(vr, 4, 'latin1');
  if (longForm) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

/** UI values are padded with NUL, other text with a space, to an even length (PS3.5 6.2). */
function text(value: string, vr: 'UI' | 'SH' | 'AE'): Buffer {
  const padded = value.length % 2 === 0 ? value : value + (vr === 'UI' ? '\0' : ' ');
  return Buffer.from(padded, 'latin1');
}

/** Preamble + "DICM" + group 0002 in explicit VR little endian, ready to be followed by the dataset bytes. */
export function fileMetaHeader(input: FileMetaInput): Buffer {
  const elements = [
    element(0x0002, 0x0001, 'OB', Buffer.from([0x00, 0x01])),
    element(0x0002, 0x0002, 'UI', text(input.sopClassUid, 'UI')),
    element(0x0002, 0x0003, 'UI', text(input.sopInstanceUid, 'UI')),
    element(0x0002, 0x0010, 'UI', text(input.transferSyntaxUid, 'UI')),
    element(0x0002, 0x0012, 'UI', text(IMPLEMENTATION_CLASS_UID, 'UI')),
    element(0x0002, 0x0013, 'SH', text(IMPLEMENTATION_VERSION_NAME, 'SH')),
  ];
  const source = input.sourceAeTitle?.trim();
  if (source) elements.push(element(0x0002, 0x0016, 'AE', text(source.slice(0, 16), 'AE')));
  const body = Buffer.concat(elements);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(body.length, 0);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), element(0x0002, 0x0000, 'UL', groupLength), body]);
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
  let p = 132;
  let transferSyntaxUid = '';
  let sopInstanceUid = '';
  while (p + 8 <= offset) {
    const group = file.readUInt16LE(p);
    const elementNumber = file.readUInt16LE(p + 2);
    const vr = file.toString('latin1', p + 4, p + 6);
    const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
    const length = long ? file.readUInt32LE(p + 8) : file.readUInt16LE(p + 6);
    const value = p + (long ? 12 : 8);
    const text = () => file.toString('latin1', value, value + length).replace(/[\0 ]+$/, '');
    if (group === 0x0002 && elementNumber === 0x0010) transferSyntaxUid = text();
    if (group === 0x0002 && elementNumber === 0x0003) sopInstanceUid = text();
    p = value + length;
  }
  return { transferSyntaxUid, sopInstanceUid, datasetOffset: offset };
}
