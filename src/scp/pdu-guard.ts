// Looks at the PDU headers of an incoming byte stream before dcmjs-dimse does, so that a peer cannot make the node
// buffer more than one PDU of the negotiated size: a PDU announcing more than its type allows, or of a type that
// has no place at that point, ends the connection with an A-ABORT at once (PS3.8 9.3, 9.3.8).

/** The PDU types an association requester may send (PS3.8 9.3.1). */
export const PDU = {
  ASSOCIATE_RQ: 0x01,
  ASSOCIATE_AC: 0x02,
  ASSOCIATE_RJ: 0x03,
  P_DATA_TF: 0x04,
  RELEASE_RQ: 0x05,
  RELEASE_RP: 0x06,
  ABORT: 0x07,
} as const;

/** An A-ASSOCIATE-RQ with hundreds of presentation contexts is a few tens of KB; nothing legitimate is larger. */
export const MAX_ASSOCIATE_RQ_LENGTH = 1024 * 1024;
/** Release and abort PDUs carry 4 bytes. */
const MAX_CONTROL_LENGTH = 64;
/** A command set is a few hundred bytes; dcmjs-dimse keeps its fragments in memory until the last one. */
export const MAX_COMMAND_BYTES = 64 * 1024;
/** Datasets of other commands than C-STORE (which streams to the spool) are kept in memory: identifiers are small. */
export const MAX_IN_MEMORY_DATASET_BYTES = 1024 * 1024;

export interface PduViolation {
  /** A-ABORT reason/diagnostic (PS3.8 Table 9-26): 1 unrecognized PDU, 2 unexpected PDU, 6 invalid PDU parameter value. */
  abortReason: 1 | 2 | 6;
  message: string;
}

/**
 * Follows PDU boundaries in a byte stream. `accept(chunk)` answers a violation as soon as a PDU header breaks the
 * rules; until then the bytes are for the DICOM stack.
 */
export class PduGuard {
  private header = Buffer.alloc(6);
  private headerBytes = 0;
  private remaining = 0;
  private associated = false;
  // Inside a P-DATA-TF PDU: the presentation data values (PS3.8 9.3.5.1), each a 4-byte length, a context id and a
  // message control header (bit 0: command, bit 1: last fragment).
  private inPdata = false;
  private pdvHeader = Buffer.alloc(6);
  private pdvHeaderBytes = 0;
  private pdvRemaining = 0;
  private pdvIsCommand = false;
  private command: Buffer[] = [];
  private commandBytes = 0;
  /** The command field of the last complete command set, while its dataset may follow. */
  private commandField: number | undefined;
  private datasetBytes = 0;

  /** `maxPduLength`: the maximum length we announced for P-DATA-TF PDUs (0: none announced). */
  constructor(private readonly maxPduLength: number) {}

  /** Called once the association request was read: from then on P-DATA-TF and release PDUs are expected. */
  associationRequested(): void {
    this.associated = true;
  }

  accept(chunk: Buffer): PduViolation | undefined {
    let p = 0;
    while (p < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - p);
        if (this.inPdata) {
          const violation = this.pdvs(chunk.subarray(p, p + take));
          if (violation) return violation;
        }
        this.remaining -= take;
        p += take;
        continue;
      }
      const take = Math.min(6 - this.headerBytes, chunk.length - p);
      chunk.copy(this.header, this.headerBytes, p, p + take);
      this.headerBytes += take;
      p += take;
      if (this.headerBytes < 6) break;
      this.headerBytes = 0;
      const violation = this.check(this.header[0], this.header.readUInt32BE(2));
      if (violation) return violation;
      this.remaining = this.header.readUInt32BE(2);
      this.inPdata = this.header[0] === PDU.P_DATA_TF;
      if (this.inPdata && (this.pdvHeaderBytes > 0 || this.pdvRemaining > 0)) return { abortReason: 6, message: 'presentation data value runs past its PDU' };
    }
    return undefined;
  }

  /** Follows the PDVs in `bytes`, which all belong to the current P-DATA-TF PDU. */
  private pdvs(bytes: Buffer): PduViolation | undefined {
    let p = 0;
    let left = this.remaining;
    while (p < bytes.length) {
      if (this.pdvRemaining > 0) {
        const take = Math.min(this.pdvRemaining, bytes.length - p);
        if (this.pdvIsCommand) this.command.push(Buffer.from(bytes.subarray(p, p + take)));
        this.pdvRemaining -= take;
        p += take;
        left -= take;
        continue;
      }
      const take = Math.min(6 - this.pdvHeaderBytes, bytes.length - p);
      bytes.copy(this.pdvHeader, this.pdvHeaderBytes, p, p + take);
      this.pdvHeaderBytes += take;
      p += take;
      left -= take;
      if (this.pdvHeaderBytes < 6) break;
      this.pdvHeaderBytes = 0;
      const itemLength = this.pdvHeader.readUInt32BE(0);
      if (itemLength < 2 || itemLength - 2 > left) return { abortReason: 6, message: `presentation data value of ${itemLength} bytes does not fit its PDU` };
      const dataLength = itemLength - 2;
      const control = this.pdvHeader[5];
      this.pdvIsCommand = (control & 1) === 1;
      this.pdvRemaining = dataLength;
      const violation = this.pdvIsCommand ? this.commandFragment(dataLength, (control & 2) === 2) : this.datasetFragment(dataLength, (control & 2) === 2);
      if (violation) return violation;
    }
    return undefined;
  }

  private commandFragment(length: number, last: boolean): PduViolation | undefined {
    if (this.pendingLastCommand || this.commandField !== undefined) {
      // A new command set: the previous one is over (it had no dataset, or its dataset ended).
      this.pendingLastCommand = false;
      this.commandField = undefined;
      this.command = [];
      this.commandBytes = 0;
      this.datasetBytes = 0;
    }
    this.commandBytes += length;
    if (this.commandBytes > MAX_COMMAND_BYTES) return { abortReason: 6, message: `command set longer than ${MAX_COMMAND_BYTES} bytes` };
    if (last) this.pendingLastCommand = true;
    return undefined;
  }

  /** The last command fragment was announced; its bytes are whole once the next PDV starts. */
  private pendingLastCommand = false;

  private datasetFragment(length: number, last: boolean): PduViolation | undefined {
    this.finishCommand();
    if (this.commandField === undefined) return { abortReason: 2, message: 'dataset fragment without a command before it' };
    this.datasetBytes += length;
    if (this.commandField !== 0x0001 && this.datasetBytes > MAX_IN_MEMORY_DATASET_BYTES) {
      return { abortReason: 6, message: `dataset of command 0x${this.commandField.toString(16)} longer than ${MAX_IN_MEMORY_DATASET_BYTES} bytes` };
    }
    if (last) {
      this.commandField = undefined;
      this.datasetBytes = 0;
    }
    return undefined;
  }

  /** Reads the command field (0000,0100) of a complete command set (implicit VR little endian, PS3.7 6.3.1). */
  private finishCommand(): void {
    if (!this.pendingLastCommand) return;
    this.pendingLastCommand = false;
    const command = Buffer.concat(this.command);
    this.command = [];
    let field = -1;
    for (let q = 0; q + 8 <= command.length; ) {
      const group = command.readUInt16LE(q);
      const element = command.readUInt16LE(q + 2);
      const length = command.readUInt32LE(q + 4);
      if (group === 0 && element === 0x0100 && length === 2 && q + 10 <= command.length) field = command.readUInt16LE(q + 8);
      q += 8 + length;
    }
    this.commandField = field;
    this.commandBytes = 0;
  }

  private check(type: number, length: number): PduViolation | undefined {
    const limit = (max: number, what: string) =>
      length > max ? { abortReason: 6 as const, message: `${what} PDU of ${length} bytes exceeds the ${max}-byte limit` } : undefined;
    switch (type) {
      case PDU.ASSOCIATE_RQ:
        if (this.associated) return { abortReason: 2, message: 'A-ASSOCIATE-RQ within an association' };
        return limit(MAX_ASSOCIATE_RQ_LENGTH, 'A-ASSOCIATE-RQ');
      case PDU.P_DATA_TF:
        if (!this.associated) return { abortReason: 2, message: 'P-DATA-TF before the association' };
        // 0 announces no maximum (PS3.8 D.1); the node still refuses to buffer more than 16 MiB of one PDU.
        return limit(this.maxPduLength > 0 ? this.maxPduLength : 16 * 1024 * 1024, 'P-DATA-TF');
      case PDU.RELEASE_RQ:
      case PDU.RELEASE_RP:
      case PDU.ABORT:
        return limit(MAX_CONTROL_LENGTH, 'release/abort');
      case PDU.ASSOCIATE_AC:
      case PDU.ASSOCIATE_RJ:
        return { abortReason: 2, message: `PDU type ${type} is not sent to an acceptor` };
      default:
        return { abortReason: 1, message: `unrecognised PDU type 0x${type.toString(16).padStart(2, '0')}` };
    }
  }
}

/** An A-ABORT PDU from the service provider (source 2) with `reason`. */
export function abortPdu(reason: number): Buffer {
  return Buffer.from([PDU.ABORT, 0, 0, 0, 0, 4, 0, 0, 2, reason]);
}
