// One DICOM connection: the ARTIM timer and PDU guard before and during the association, back-pressure from the
// spool, the association policy, C-ECHO, and C-STORE streamed into the spool (checked and recorded in c-store.ts).
// An instance not yet answered when the association ends is discarded: the sender still holds it.
import type { Socket } from 'node:net';
import dcmjsDimse from 'dcmjs-dimse';
import type { association as dimseAssociation, requests as dimseRequests, responses as dimseResponses } from 'dcmjs-dimse';
import { DimseStatus } from '../dicom/status.js';
import { IMPLICIT_VR_LITTLE_ENDIAN } from '../dicom/uids.js';
import { associationOf, interceptSocketData } from '../dimse-adapter.js';
import { logger, type Logger } from '../log.js';
import { associationRejection, settlePresentationContexts } from './association-policy.js';
import { type Arrival, storeInstance } from './c-store.js';
import { fileMetaHeader } from './part10.js';
import { abortPdu, PduGuard } from './pdu-guard.js';
import type { ScpRuntime } from './runtime.js';
import type { SpoolWriter } from './spool-writer.js';

const { Scp, Dataset } = dcmjsDimse;
const { CEchoResponse, CStoreResponse } = dcmjsDimse.responses;
type Association = dimseAssociation.Association;
type PresentationContext = dimseAssociation.PresentationContext;
type CStoreRequest = dimseRequests.CStoreRequest;
type CEchoRequest = dimseRequests.CEchoRequest;
type CStoreResponseType = dimseResponses.CStoreResponse;
type CEchoResponseType = dimseResponses.CEchoResponse;

/** One connection: from its first bytes through the association to its end. Shares its SCP's runtime. */
export class AssociationHandler extends Scp {
  private readonly rt: ScpRuntime;
  private readonly associationId: number;
  private callingAe = '';
  private readonly peer: string | undefined;
  private accepted = false;
  private ended = false;
  private log: Logger;
  /** Instances being received on this association, until their C-STORE is answered. */
  private readonly writers = new Map<CStoreRequest, SpoolWriter>();

  private readonly socket: Socket;
  private readonly guard: PduGuard;
  private pending = true;
  private artim: NodeJS.Timeout | undefined;

  constructor(socket: Socket, opts: ConstructorParameters<typeof Scp>[1], rt: ScpRuntime) {
    super(socket, opts);
    this.rt = rt;
    this.associationId = rt.nextAssociationId();
    this.log = rt.log;
    this.guard = new PduGuard(rt.options.maxPduLength);
    this.socket = socket;
    // dcmjs-dimse leaves Nagle on; small C-STORE responses then wait for the delayed ACK of the peer.
    socket.setNoDelay(true);
    // dcmjs-dimse's own idle timer never runs before an association and its socket timeout is fixed at minutes.
    socket.setTimeout(this.rt.options.timeoutMs);
    this.peer = socket.remoteAddress;
    this.on('close', () => this.associationEnded('connection closed'));
    socket.once('close', () => this.leavePending());
    if (this.rt.pendingConnections >= (this.rt.options.maxPendingConnections ?? 32)) {
      this.pending = false;
      this.rt.metrics.associations.inc({ result: 'rejected', reason: 'too many connections before association' });
      socket.destroy();
      return;
    }
    this.rt.pendingConnections++;
    this.artim = setTimeout(() => {
      this.rt.metrics.associations.inc({ result: 'rejected', reason: 'no association request in time (ARTIM)' });
      this.rt.log.warn('connection closed: no A-ASSOCIATE-RQ within the ARTIM timeout', { peer: this.peer });
      socket.destroy();
    }, this.rt.options.artimMs ?? 30_000);
    this.artim.unref();
    // The PDU guard sees every byte before dcmjs-dimse buffers it, and the socket is paused while the spool is
    // behind, so that one association holds at most one PDU and a few MiB of unwritten data in memory.
    interceptSocketData(
      socket,
      (chunk) => {
        const violation = this.guard.accept(chunk);
        if (violation) this.violated(violation.message, violation.abortReason);
        return !violation;
      },
      () => this.pauseWhileSpoolBehind(),
    );
  }

  /** Pauses the socket while a spool writer of this association has more unwritten data than it buffers. */
  private pauseWhileSpoolBehind(): void {
    for (const writer of this.writers.values()) {
      if (writer.writableNeedDrain) {
        this.socket.pause();
        const resume = () => {
          writer.off('drain', resume);
          writer.off('close', resume);
          this.socket.resume();
        };
        writer.on('drain', resume);
        writer.on('close', resume);
        break;
      }
    }
  }

  private leavePending(): void {
    if (this.artim) clearTimeout(this.artim);
    this.artim = undefined;
    if (this.pending) this.rt.pendingConnections--;
    this.pending = false;
  }

  /** A PDU broke the rules: A-ABORT and close at once, before any of it is buffered. */
  private violated(message: string, reason: number): void {
    if (this.socket.destroyed) return;
    this.rt.metrics.associations.inc({ result: 'aborted', reason: 'protocol violation' });
    this.log.warn(`association aborted: ${message}`, { peer: this.peer });
    this.socket.end(abortPdu(reason));
    this.socket.pause();
    setTimeout(() => this.socket.destroy(), 500).unref();
    this.associationEnded('aborted (protocol violation)');
  }

  override associationRequested(association: Association): void {
    this.leavePending();
    this.guard.associationRequested();
    this.callingAe = association.getCallingAeTitle().trim();
    const calledAe = association.getCalledAeTitle().trim();
    this.log = logger('scp', { callingAe: this.callingAe });
    const rejection = associationRejection({ calledAe, callingAe: this.callingAe, peer: this.peer }, this.rt.options, this.rt.active);
    if (rejection) {
      this.rt.metrics.associations.inc({ result: 'rejected', reason: rejection.why });
      this.log.warn(`association rejected: ${rejection.why}`, { calledAe, peer: this.peer });
      this.sendAssociationReject(rejection.result, rejection.source, rejection.reason);
      return;
    }
    settlePresentationContexts(association);
    association.setMaxPduLength(this.rt.options.maxPduLength);
    this.accepted = true;
    this.rt.active++;
    this.rt.metrics.associations.inc({ result: 'accepted' });
    this.log.info('association accepted', { peer: this.peer });
    this.sendAssociationAccept();
  }

  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
    this.associationEnded('released');
  }

  override abort(source: number, reason: number): void {
    this.log.warn('association aborted by peer', { source, reason });
    this.associationEnded('aborted');
    this.socket.destroy();
  }

  override cEchoRequest(request: CEchoRequest, callback: (response: CEchoResponseType) => void): void {
    const response = CEchoResponse.fromRequest(request);
    response.setStatus(DimseStatus.Success);
    this.rt.metrics.echoes.inc();
    callback(response);
  }

  override createStoreWritableStream(context: PresentationContext, request: CStoreRequest) {
    const meta = fileMetaHeader({
      sopClassUid: request.getAffectedSopClassUid(),
      sopInstanceUid: request.getAffectedSopInstanceUid(),
      transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? IMPLICIT_VR_LITTLE_ENDIAN,
      sourceAeTitle: this.callingAe,
    });
    const writer = this.rt.deps.spool.openInstance(meta);
    this.writers.set(request, writer);
    return writer;
  }

  override createDatasetFromStoreWritableStream(
    _writable: unknown,
    context: PresentationContext,
    callback: (dataset: InstanceType<typeof Dataset>) => void,
  ): void {
    // The dataset stays on disk; the C-STORE handler reads what it needs from the writer.
    callback(new Dataset({}, context.getAcceptedTransferSyntaxUid()));
  }

  override cStoreRequest(request: CStoreRequest, callback: (response: CStoreResponseType) => void): void {
    const writer = this.writers.get(request);
    this.writers.delete(request);
    const context = this.currentAssociation?.getAcceptedPresentationContextFromRequest(request);
    const transferSyntaxUid = context?.getAcceptedTransferSyntaxUid() ?? IMPLICIT_VR_LITTLE_ENDIAN;
    storeInstance(this.arrival(), request, writer, transferSyntaxUid).then(
      (status) => {
        const response = CStoreResponse.fromRequest(request);
        response.setStatus(status.code);
        if (status.comment) response.setErrorComment(status.comment.slice(0, 64));
        callback(response);
      },
      (error: Error) => {
        // storeInstance() handles its own failures; this is a bug, but the peer still gets an answer.
        this.log.error(`C-STORE failed unexpectedly: ${error.message}`, { sopInstanceUid: String(request.getAffectedSopInstanceUid()) });
        void writer?.discard();
        const response = CStoreResponse.fromRequest(request);
        response.setStatus(DimseStatus.ProcessingFailure);
        callback(response);
      },
    );
  }

  private get currentAssociation(): Association | undefined {
    return associationOf(this);
  }

  /** This association as the C-STORE handling sees it (its logger carries the calling AE once known). */
  private arrival(): Arrival {
    return { rt: this.rt, callingAe: this.callingAe, peer: this.peer, log: this.log, associationId: this.associationId, ended: () => this.ended };
  }

  private associationEnded(how: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const writer of this.writers.values()) {
      // Never acknowledged: the sender still has it and will send it again.
      writer.end();
      void writer.discard();
    }
    this.writers.clear();
    if (this.accepted) {
      this.rt.active--;
      this.rt.deps.completion.associationEnded(this.associationId, how === 'released');
      this.log.info(`association ${how}`);
    }
  }
}
