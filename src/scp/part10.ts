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

export { datasetOffset, readFileMeta } from '../pipeline/dicom/element-scan.js';
