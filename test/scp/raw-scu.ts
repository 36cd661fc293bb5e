// Test helper: a DICOM upper-layer client written byte by byte, so that tests can send what no well-behaved toolkit
// would (malformed datasets, lying PDU lengths, PDUs out of order) and read exactly what the node answers.
import net from 'node:net';

import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, MR_IMAGE_STORAGE, VERIFICATION_SOP_CLASS } from '../../src/dicom/uids.js';

export const EXPLICIT_LE = EXPLICIT_VR_LITTLE_ENDIAN;
export const IMPLICIT_LE = IMPLICIT_VR_LITTLE_ENDIAN;
export const MR_STORAGE = MR_IMAGE_STORAGE;
export const VERIFICATION = VERIFICATION_SOP_CLASS;

const even = (b: Buffer, pad = 0) => (b.length % 2 ? Buffer.concat([b, Buffer.from([pad])]) : b);

function item(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h.writeUInt16BE(body.length, 2);
  return Buffer.concat([h, body]);
}

export function pdu(type: number, body: Buffer, announcedLength = body.length): Buffer {
  const h = Buffer.alloc(6);
  h[0] = type;
  h.writeUInt32BE(announcedLength >>> 0, 2);
  return Buffer.concat([h, body]);
}

const ae = (title: string) => Buffer.from(title.padEnd(16, ' ').slice(0, 16), 'latin1');

export interface ContextProposal {
  abstractSyntax: string;
  transferSyntaxes: string[];
}

export function associateRq(calledAe: string, callingAe: string, contexts: ContextProposal[], maxPdu = 65536): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(1, 0);
  ae(calledAe).copy(fixed, 4);
  ae(callingAe).copy(fixed, 20);
  const items = [item(0x10, Buffer.from('1.2.840.10008.3.1.1.1'))];
  contexts.forEach((c, i) => {
    const head = Buffer.from([1 + 2 * i, 0, 0, 0]);
    const subs = [item(0x30, Buffer.from(c.abstractSyntax)), ...c.transferSyntaxes.map((t) => item(0x40, Buffer.from(t)))];
    items.push(item(0x20, Buffer.concat([head, ...subs])));
  });
  const max = Buffer.alloc(4);
  max.writeUInt32BE(maxPdu, 0);
  items.push(item(0x50, Buffer.concat([item(0x51, max), item(0x52, Buffer.from('1.2.3.4.5.6.7.8')), item(0x55, Buffer.from('RAWSCU'))])));
  return pdu(0x01, Buffer.concat([fixed, ...items]));
}

/** Implicit VR little endian element (command sets are always implicit VR LE). */
function implicitElement(group: number, element: number, value: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(element, 2);
  h.writeUInt32LE(value.length, 4);
  return Buffer.concat([h, value]);
}
const us = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n, 0);
  return b;
};
const uid = (u: string) => even(Buffer.from(u, 'latin1'));

export function commandSet(fields: { sopClassUid: string; sopInstanceUid?: string; command: number; messageId: number; hasDataset: boolean }): Buffer {
  const elements = [
    implicitElement(0, 0x0002, uid(fields.sopClassUid)),
    implicitElement(0, 0x0100, us(fields.command)),
    implicitElement(0, 0x0110, us(fields.messageId)),
  ];
  if (fields.command === 0x0001) elements.push(implicitElement(0, 0x0700, us(0)));
  elements.push(implicitElement(0, 0x0800, us(fields.hasDataset ? 0x0000 : 0x0101)));
  if (fields.sopInstanceUid !== undefined) elements.push(implicitElement(0, 0x1000, uid(fields.sopInstanceUid)));
  const body = Buffer.concat(elements);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length, 0);
  return Buffer.concat([implicitElement(0, 0x0000, length), body]);
}

/** P-DATA-TF PDUs carrying `data` as PDVs of context `pcId`, none longer than `maxPdu` allows. */
export function pdata(pcId: number, data: Buffer, command: boolean, maxPdu: number): Buffer[] {
  const room = Math.max(1, (maxPdu > 0 ? maxPdu : 1 << 20) - 6);
  const out: Buffer[] = [];
  for (let offset = 0; offset < data.length || (offset === 0 && data.length === 0); offset += room) {
    const chunk = data.subarray(offset, offset + room);
    const last = offset + room >= data.length;
    const pdv = Buffer.alloc(6);
    pdv.writeUInt32BE(chunk.length + 2, 0);
    pdv[4] = pcId;
    pdv[5] = (command ? 1 : 0) | (last ? 2 : 0);
    out.push(pdu(0x04, Buffer.concat([pdv, chunk])));
    if (data.length === 0) break;
  }
  return out;
}

export interface Response {
  status: number;
  comment?: string;
}

/** One raw connection to the node, with the bytes it answers collected as PDUs. */
export class RawConnection {
  readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  /** Accepted presentation contexts: abstract syntax → context id. */
  accepted = new Map<string, number>();
  peerMaxPdu = 0;
  private nextMessageId = 1;
  private commandBytes: Buffer[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** The next whole PDU from the node, or undefined when the connection closed (or `timeoutMs` passed) first. */
  async readPdu(timeoutMs = 5000): Promise<{ type: number; body: Buffer } | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buffer.length >= 6) {
        const length = this.buffer.readUInt32BE(2);
        if (this.buffer.length >= 6 + length) {
          const result = { type: this.buffer[0], body: this.buffer.subarray(6, 6 + length) };
          this.buffer = this.buffer.subarray(6 + length);
          return result;
        }
      }
      if (this.closed || Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits until the node closed the connection; returns how long that took, or undefined after `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<number | undefined> {
    const start = Date.now();
    while (!this.closed && Date.now() - start < timeoutMs) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.closed ? Date.now() - start : undefined;
  }

  /** Sends an A-ASSOCIATE-RQ and reads the answer: 'accepted' (contexts recorded), 'rejected' or 'aborted'. */
  async associate(contexts: ContextProposal[], calledAe = 'BRAINSTRIP', callingAe = 'HOSTILE'): Promise<'accepted' | 'rejected' | 'aborted'> {
    this.write(associateRq(calledAe, callingAe, contexts));
    const answer = await this.readPdu();
    if (!answer || answer.type === 0x07) return 'aborted';
    if (answer.type === 0x03) return 'rejected';
    let p = 68;
    const body = answer.body;
    while (p + 4 <= body.length) {
      const type = body[p];
      const length = body.readUInt16BE(p + 2);
      const value = body.subarray(p + 4, p + 4 + length);
      if (type === 0x21 && value[2] === 0) {
        const pcId = value[0];
        const proposal = contexts[(pcId - 1) / 2];
        if (proposal) this.accepted.set(proposal.abstractSyntax, pcId);
      }
      if (type === 0x50) {
        let q = 0;
        while (q + 4 <= value.length) {
          const subType = value[q];
          const subLength = value.readUInt16BE(q + 2);
          if (subType === 0x51) this.peerMaxPdu = value.readUInt32BE(q + 4);
          q += 4 + subLength;
        }
      }
      p += 4 + length;
    }
    return 'accepted';
  }

  /** Reads PDUs until a whole command set arrived; parses Status and Error Comment. */
  async readResponse(timeoutMs = 10_000): Promise<Response | 'aborted' | 'closed'> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const next = await this.readPdu(Math.max(1, deadline - Date.now()));
      if (!next) return 'closed';
      if (next.type === 0x07) return 'aborted';
      if (next.type !== 0x04) continue;
      let p = 0;
      let last = false;
      while (p + 6 <= next.body.length) {
        const length = next.body.readUInt32BE(p);
        const control = next.body[p + 5];
        if (control & 1) this.commandBytes.push(next.body.subarray(p + 6, p + 4 + length));
        if (control & 1 && control & 2) last = true;
        p += 4 + length;
      }
      if (!last) continue;
      const command = Buffer.concat(this.commandBytes);
      this.commandBytes = [];
      const response: Response = { status: -1 };
      for (let q = 0; q + 8 <= command.length; ) {
        const group = command.readUInt16LE(q);
        const element = command.readUInt16LE(q + 2);
        const length = command.readUInt32LE(q + 4);
        const value = command.subarray(q + 8, q + 8 + length);
        if (group === 0 && element === 0x0900) response.status = value.readUInt16LE(0);
        if (group === 0 && element === 0x0902) response.comment = value.toString('latin1').replace(/[\0 ]+$/, '');
        q += 8 + length;
      }
      return response;
    }
  }

  async echo(): Promise<Response | 'aborted' | 'closed'> {
    const pcId = this.accepted.get(VERIFICATION);
    if (!pcId) throw new Error('verification not accepted');
    const command = commandSet({ sopClassUid: VERIFICATION, command: 0x0030, messageId: this.nextMessageId++, hasDataset: false });
    for (const p of pdata(pcId, command, true, this.peerMaxPdu)) this.write(p);
    return this.readResponse();
  }

  /** C-STORE of `dataset` (already encoded in the accepted transfer syntax) under the given request UIDs. */
  async store(dataset: Buffer, request: { sopClassUid: string; sopInstanceUid: string }): Promise<Response | 'aborted' | 'closed'> {
    const pcId = this.accepted.get(request.sopClassUid);
    if (!pcId) throw new Error(`${request.sopClassUid} not accepted`);
    const command = commandSet({ ...request, command: 0x0001, messageId: this.nextMessageId++, hasDataset: true });
    for (const p of pdata(pcId, command, true, this.peerMaxPdu)) this.write(p);
    for (const p of pdata(pcId, dataset, false, this.peerMaxPdu)) this.write(p);
    return this.readResponse();
  }

  async release(): Promise<void> {
    this.write(pdu(0x05, Buffer.alloc(4)));
    await this.readPdu(3000);
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Explicit VR little endian element, for building test datasets (and breaking them on purpose). */
export function element(group: number, el: number, vr: string, value: Buffer, announcedLength?: number): Buffer {
  const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
  const h = Buffer.alloc(long ? 12 : 8);
  h.writeUInt16LE(group, 0);
  h.writeUInt16LE(el, 2);
  h.write(vr, 4, 'latin1');
  if (long) h.writeUInt32LE((announcedLength ?? value.length) >>> 0, 8);
  else h.writeUInt16LE(announcedLength ?? value.length, 6);
  return Buffer.concat([h, value]);
}

export const text = (s: string, pad = ' ') => even(Buffer.from(s, 'latin1'), pad.charCodeAt(0));
export const uidValue = (s: string) => even(Buffer.from(s, 'latin1'), 0);
