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
    }
    return undefined;
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
