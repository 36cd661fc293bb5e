// The DICOM SCP: association policy, C-ECHO, and C-STORE streamed into the durable spool. An instance is answered
// Success only after it is fsynced in its final place; if it cannot be stored the answer is Out of Resources and
// the node carries on.
import fs from 'node:fs';
import type { Socket } from 'node:net';
import dcmjsDimse from 'dcmjs-dimse';
import type { association as dimseAssociation, requests as dimseRequests, responses as dimseResponses } from 'dcmjs-dimse';
import { logger, type Logger } from '../log.js';
import type { JobStore } from '../jobs/state/store.js';
import type { MetricsRegistry } from '../metrics.js';
import { readInstanceHeader, type InstanceHeader } from './dataset-header.js';
import { fileMetaHeader } from './part10.js';
import { chooseTransferSyntax, STORAGE_SOP_CLASSES } from './presentation-contexts.js';
import { routeInstance, type RoutingConfig } from './routing.js';
import type { SeriesCompletion } from './series-completion.js';
import { isValidUid, SpoolWriter, type Spool } from './spool.js';
import { abortPdu, PduGuard } from './pdu-guard.js';
import { asScpClass, associationOf, clientSocketsOf, interceptSocketData, netServerOf } from '../dimse-adapter.js';
import { DimseStatus } from '../dicom/status.js';
import { IMPLICIT_VR_LITTLE_ENDIAN, VERIFICATION_SOP_CLASS } from '../dicom/uids.js';

const { Scp, Server, Dataset, constants } = dcmjsDimse;
const { CEchoResponse, CStoreResponse } = dcmjsDimse.responses;
type Association = dimseAssociation.Association;
type PresentationContext = dimseAssociation.PresentationContext;
type CStoreRequest = dimseRequests.CStoreRequest;
type CEchoRequest = dimseRequests.CEchoRequest;
type CStoreResponseType = dimseResponses.CStoreResponse;
type CEchoResponseType = dimseResponses.CEchoResponse;

/** How much of a dataset is read back from disk when its first bytes did not hold the wanted attributes. */
const HEADER_FALLBACK_BYTES = 16 * 1024 * 1024;

export interface ScpOptions {
  aeTitle: string;
  port: number;
  /** "AE" or "AE@host"; empty: anyone. */
  allowedCallers: string[];
  maxAssociations: number;
  maxPduLength: number;
  timeoutMs: number;
  routing: RoutingConfig;
  /** A connection that has not sent a complete A-ASSOCIATE-RQ after this long is closed (ARTIM, PS3.8 9.1.5). */
  artimMs?: number;
  /** Connections still negotiating (no association yet) held at once; more are closed at once. */
  maxPendingConnections?: number;
  /** Refused instances kept in the error area at most. */
  maxErrorFiles?: number;
  /** Listen with TLS (PEM contents). */
  tls?: { key: Buffer; cert: Buffer; ca?: Buffer; requireClientCert: boolean };
  /** While it answers true, new associations are refused as transient: senders keep their series and retry. */
  intakePaused?: () => boolean;
}

export interface ScpDependencies {
  spool: Spool;
  store: JobStore;
  completion: SeriesCompletion;
  metrics: MetricsRegistry;
  /** Why the spool cannot take instances now (disk nearly full), as last probed; undefined when it can. */
  spoolProblem?: () => string | undefined;
}

export interface RunningScp {
  port: number;
  activeAssociations(): number;
  /** Instances acknowledged and spooled but not yet recorded in the job store. */
  unrecordedInstances(): number;
  close(): Promise<void>;
}

/** A UID from the command set as sent: dcmjs splits a value holding a backslash into several. */
function requestUid(value: unknown): string {
  const text = Array.isArray(value) ? value.join('\\') : value === undefined || value === null ? '' : String(value);
  return text.replace(/[\0 ]+$/, '');
}

/** true when `callingAe` from `host` is on the allow-list (or the list is empty). */
export function callerAllowed(allowed: string[], callingAe: string, host: string | undefined): boolean {
  if (allowed.length === 0) return true;
  const normalizedHost = (host ?? '').replace(/^::ffff:/, '');
  return allowed.some((entry) => {
    const [ae, allowedHost] = entry.split('@');
    if (ae.trim() !== callingAe.trim()) return false;
    return allowedHost === undefined || allowedHost.trim() === normalizedHost;
  });
}

/** What every association of one SCP shares: its settings, the node's services, counters and metrics. */
class ScpRuntime {
  active = 0;
  pendingConnections = 0;
  /** Spooled and acknowledged instances the job store could not record yet. */
  readonly unrecorded = new Map<string, Parameters<JobStore['recordInstance']>[0]>();
  readonly log = logger('scp');
  readonly metrics;
  private associations = 0;

  constructor(
    readonly options: ScpOptions,
    readonly deps: ScpDependencies,
  ) {
    this.metrics = {
      associations: deps.metrics.counter('brainstrip_associations_total', 'Association requests by result (accepted, rejected) and reason', ['result', 'reason']),
      instances: deps.metrics.counter('brainstrip_instances_received_total', 'Instances stored and acknowledged, by whether they were routed to a job', ['routed']),
      bytes: deps.metrics.counter('brainstrip_received_bytes_total', 'Dataset bytes of acknowledged instances'),
      failures: deps.metrics.counter('brainstrip_store_failures_total', 'C-STORE requests answered with a failure status, by reason', ['reason']),
      echoes: deps.metrics.counter('brainstrip_echo_total', 'C-ECHO requests answered'),
    };
    deps.metrics.gauge('brainstrip_instances_unrecorded', 'Spooled instances waiting to be recorded in the job store', () => this.unrecorded.size);
    deps.metrics.gauge('brainstrip_associations_active', 'Associations open now', () => this.active);
  }

  nextAssociationId(): number {
    return ++this.associations;
  }

  /** Records the instances the job store refused earlier; stops at the first that still fails. */
  retryUnrecorded(): void {
    for (const [key, instance] of this.unrecorded) {
      try {
        const { job } = this.deps.store.recordInstance(instance);
        this.unrecorded.delete(key);
        this.deps.completion.instanceArrived(job, undefined);
        this.log.info('spooled instance recorded in the job store after all', { jobId: job.id, seriesInstanceUid: instance.seriesInstanceUid, sopInstanceUid: instance.sopInstanceUid });
      } catch {
        return; // still failing: try again at the next tick
      }
    }
  }
}

/** One connection: the association policy, C-ECHO and C-STORE into the spool. Shares its SCP's runtime. */
class AssociationHandler extends Scp {
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
    const called = association.getCalledAeTitle().trim();
    this.log = logger('scp', { callingAe: this.callingAe });
    const reject = (result: number, source: number, reason: number, why: string) => {
      this.rt.metrics.associations.inc({ result: 'rejected', reason: why });
      this.log.warn(`association rejected: ${why}`, { calledAe: called, peer: this.peer });
      this.sendAssociationReject(result, source, reason);
    };
    if (called !== this.rt.options.aeTitle) {
      reject(constants.RejectResult.Permanent, constants.RejectSource.ServiceUser, constants.RejectReason.CalledAeNotRecognized, 'called AE title not recognised');
      return;
    }
    if (!callerAllowed(this.rt.options.allowedCallers, this.callingAe, this.peer)) {
      reject(constants.RejectResult.Permanent, constants.RejectSource.ServiceUser, constants.RejectReason.CallingAeNotRecognized, 'calling AE title not allowed');
      return;
    }
    if (this.rt.options.intakePaused?.()) {
      reject(
        constants.RejectResult.Transient,
        constants.RejectSource.ServiceProviderPresentation,
        constants.RejectReason.TemporaryCongestion,
        'intake paused by an operator',
      );
      return;
    }
    if (this.rt.active >= this.rt.options.maxAssociations) {
      reject(
        constants.RejectResult.Transient,
        constants.RejectSource.ServiceProviderPresentation,
        constants.RejectReason.LocalLimitExceeded,
        'too many associations',
      );
      return;
    }
    for (const { context } of association.getPresentationContexts()) {
      const abstract = context.getAbstractSyntaxUid();
      if (abstract !== VERIFICATION_SOP_CLASS && !(abstract in STORAGE_SOP_CLASSES)) {
        context.setResult(constants.PresentationContextResult.RejectAbstractSyntaxNotSupported);
        continue;
      }
      const ts = chooseTransferSyntax(abstract, context.getTransferSyntaxUids());
      if (ts) context.setResult(constants.PresentationContextResult.Accept, ts);
      else context.setResult(constants.PresentationContextResult.RejectTransferSyntaxesNotSupported);
    }
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
    this.store(request, writer, transferSyntaxUid).then(
      (status) => {
        const response = CStoreResponse.fromRequest(request);
        response.setStatus(status.code);
        if (status.comment) response.setErrorComment(status.comment.slice(0, 64));
        callback(response);
      },
      (error: Error) => {
        // store() handles its own failures; this is a bug, but the peer still gets an answer.
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

  private async store(request: CStoreRequest, writer: SpoolWriter | undefined, transferSyntaxUid: string) {
    const sopInstanceUid = requestUid(request.getAffectedSopInstanceUid());
    if (!writer) {
      this.rt.metrics.failures.inc({ reason: 'no dataset' });
      return { code: DimseStatus.ProcessingFailure, comment: 'C-STORE without a dataset' };
    }
    const writeError = (await writer.finish()) ?? (this.rt.deps.spoolProblem?.() ? new Error(this.rt.deps.spoolProblem()) : undefined);
    if (writeError) {
      await writer.discard();
      this.rt.metrics.failures.inc({ reason: 'spool unwritable' });
      this.log.error(`cannot spool instance: ${writeError.message}`, { sopInstanceUid });
      return { code: DimseStatus.OutOfResources, comment: `cannot store: ${writeError.message}` };
    }
    const read = await this.readHeader(writer, transferSyntaxUid, sopInstanceUid);
    const header = read.header;
    const ids = { studyInstanceUid: header.studyInstanceUid, seriesInstanceUid: header.seriesInstanceUid, sopInstanceUid };
    const refusal = this.check(request, sopInstanceUid, read);
    if (refusal) return this.refuse(writer, refusal, ids);

    const decision = routeInstance({ ...header, sopInstanceUid }, this.callingAe, this.rt.options.routing);
    if (decision.routed) {
      // One series belongs to one study; its spool folder and its job are found by both UIDs.
      const study = this.rt.deps.store.studyOfSeries(header.seriesInstanceUid!);
      if (study && study !== header.studyInstanceUid) {
        return this.refuse(writer, { code: DimseStatus.DataSetDoesNotMatchSopClass, reason: 'series in two studies', comment: `series already received in study ${study}` }, ids);
      }
    }
    const dir = decision.routed ? this.rt.deps.spool.seriesDir(header.studyInstanceUid, header.seriesInstanceUid) : this.rt.deps.spool.unroutedDir(header.seriesInstanceUid);
    let committed;
    try {
      committed = await this.rt.deps.spool.commit(writer, dir, sopInstanceUid);
    } catch (error) {
      await writer.discard();
      this.rt.metrics.failures.inc({ reason: 'spool unwritable' });
      this.log.error(`cannot spool instance: ${(error as Error).message}`, ids);
      return { code: DimseStatus.OutOfResources, comment: `cannot store: ${(error as Error).message}` };
    }
    try {
      if (committed.existing === 'different') {
        return await this.refuse(
          writer,
          { code: DimseStatus.DuplicateSopInstance, reason: 'conflicting duplicate', comment: 'SOP Instance UID already stored with other content' },
          { ...ids, spooledAs: committed.target },
        );
      }
      if (committed.existing === 'identical') this.log.info('instance received again with identical content', ids);
      this.rt.metrics.instances.inc({ routed: String(decision.routed) });
      this.rt.metrics.bytes.inc({}, writer.bytes);
      return this.record(header, decision, ids, writer.bytes);
    } finally {
      this.rt.deps.spool.settled(dir);
    }
  }

  /** Why an instance that reached the disk must not be acknowledged, if it must not. */
  private check(request: CStoreRequest, sopInstanceUid: string, read: { header: InstanceHeader; error?: string; whole: boolean }) {
    const { header } = read;
    if (!isValidUid(sopInstanceUid)) {
      return { code: DimseStatus.InvalidSopInstance, reason: 'invalid UID', comment: 'Affected SOP Instance UID is not a valid UID' };
    }
    const uids = { SOPClassUID: header.sopClassUid, SOPInstanceUID: header.sopInstanceUid, StudyInstanceUID: header.studyInstanceUid, SeriesInstanceUID: header.seriesInstanceUid };
    const missing = Object.entries(uids).filter(([, v]) => !v).map(([k]) => k);
    if (missing.length === 4 || (missing.length > 0 && read.error)) {
      const why = read.error ?? (read.whole ? 'no identifying attributes' : 'no identifying attributes in its first bytes');
      return { code: DimseStatus.CannotUnderstand, reason: 'unparseable', comment: `cannot parse dataset: ${why}` };
    }
    if (missing.length > 0) return { code: DimseStatus.DataSetDoesNotMatchSopClass, reason: 'missing UID', comment: `missing ${missing.join(', ')}` };
    const invalid = Object.entries(uids).filter(([, v]) => !isValidUid(v)).map(([k]) => k);
    if (invalid.includes('SOPInstanceUID')) {
      return { code: DimseStatus.InvalidSopInstance, reason: 'invalid UID', comment: 'SOPInstanceUID is not a valid UID' };
    }
    if (invalid.length > 0) return { code: DimseStatus.DataSetDoesNotMatchSopClass, reason: 'invalid UID', comment: `invalid ${invalid.join(', ')}` };
    if (header.sopInstanceUid !== sopInstanceUid) {
      return { code: DimseStatus.DataSetDoesNotMatchSopClass, reason: 'UID mismatch', comment: 'SOPInstanceUID differs from the C-STORE request' };
    }
    const requestClass = requestUid(request.getAffectedSopClassUid());
    if (requestClass && header.sopClassUid !== requestClass) {
      return { code: DimseStatus.DataSetDoesNotMatchSopClass, reason: 'UID mismatch', comment: 'SOPClassUID differs from the C-STORE request' };
    }
    return undefined;
  }

  /** Answers a failure, keeps the instance in the error area for inspection, and counts it. */
  private async refuse(
    writer: SpoolWriter,
    refusal: { code: number; reason: string; comment: string },
    ids: { studyInstanceUid?: string; seriesInstanceUid?: string; sopInstanceUid: string; spooledAs?: string },
  ) {
    this.rt.metrics.failures.inc({ reason: refusal.reason });
    const kept = await this.rt.deps.spool.keepRefused(
      writer,
      { status: `0x${refusal.code.toString(16).padStart(4, '0')}`, reason: refusal.comment, callingAe: this.callingAe, peer: this.peer, ...ids },
      this.rt.options.maxErrorFiles ?? 1000,
    );
    // UIDs from a refused instance may be anything: they go to the log as JSON strings, never into paths.
    this.log.warn(`instance refused: ${refusal.comment}`, { ...ids, status: refusal.code, keptAs: kept });
    return { code: refusal.code, comment: refusal.comment };
  }

  private record(
    header: InstanceHeader,
    decision: ReturnType<typeof routeInstance>,
    ids: { studyInstanceUid?: string; seriesInstanceUid?: string; sopInstanceUid: string },
    bytes: number,
  ): { code: number; comment?: string } {
    const sopInstanceUid = ids.sopInstanceUid;
    if (!decision.routed) {
      this.log.info(`instance stored, not processed: ${decision.reason}`, { ...ids, modality: header.modality, seriesDescription: header.seriesDescription });
      return { code: DimseStatus.Success };
    }
    const instance = {
      studyInstanceUid: header.studyInstanceUid!,
      seriesInstanceUid: header.seriesInstanceUid!,
      sopInstanceUid,
      sopClassUid: header.sopClassUid,
      modality: header.modality,
      seriesDescription: header.seriesDescription,
      callingAe: this.callingAe,
      bytes,
    };
    try {
      const { job, created, reopened } = this.rt.deps.store.recordInstance(instance);
      // An instance whose storing finished after its association dropped must not hold the series open.
      this.rt.deps.completion.instanceArrived(job, this.ended ? undefined : this.associationId);
      if (created) this.log.info('new series, job created', { ...ids, jobId: job.id, seriesDescription: header.seriesDescription });
      else if (reopened) this.log.info('late instance re-opened the series', { ...ids, jobId: job.id });
      else this.log.debug('instance stored', { ...ids, jobId: job.id });
    } catch (error) {
      // The instance is durable in the spool, so it is acknowledged; recording it is retried until the store
      // writes again (and the spool scan at the next start would find it too).
      this.rt.unrecorded.set(`${instance.seriesInstanceUid}/${sopInstanceUid}`, instance);
      this.log.error(`instance spooled but not recorded in the job store (retried): ${(error as Error).message}`, ids);
    }
    return { code: DimseStatus.Success };
  }

  private async readHeader(
    writer: SpoolWriter,
    transferSyntaxUid: string,
    sopInstanceUid: string,
  ): Promise<{ header: InstanceHeader; error?: string; whole: boolean }> {
    try {
      const prefix = writer.prefix;
      const first = readInstanceHeader(prefix, transferSyntaxUid);
      if (first.complete || first.error || prefix.length >= writer.bytes) return { header: first.header, error: first.error, whole: prefix.length >= writer.bytes };
      const fd = await fs.promises.open(writer.tempPath, 'r');
      try {
        const buffer = Buffer.alloc(Math.min(writer.bytes, HEADER_FALLBACK_BYTES));
        await fd.read(buffer, 0, buffer.length, writer.metaLength);
        const second = readInstanceHeader(buffer, transferSyntaxUid);
        return { header: second.header, error: second.error, whole: buffer.length >= writer.bytes };
      } finally {
        await fd.close();
      }
    } catch (error) {
      this.log.warn(`cannot read the dataset header: ${(error as Error).message}`, { sopInstanceUid });
      return { header: { imageType: [] }, error: (error as Error).message, whole: false };
    }
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
      this.rt.deps.completion.associationEnded(this.associationId);
      this.log.info(`association ${how}`);
    }
  }
}


export async function startScp(options: ScpOptions, deps: ScpDependencies): Promise<RunningScp> {
  // dcmjs-dimse logs every PDU at info level; the node logs what matters itself.
  dcmjsDimse.log.setLevel('error');
  const rt = new ScpRuntime(options, deps);
  const log = rt.log;
  const retryRecording = setInterval(() => rt.retryUnrecorded(), 2000);
  retryRecording.unref();

  const server = new Server(
    asScpClass(
      class extends AssociationHandler {
        constructor(socket: Socket, opts: ConstructorParameters<typeof Scp>[1]) {
          super(socket, opts, rt);
        }
      },
    ),
  );
  const tlsOptions = options.tls
    ? {
        securityOptions: {
          key: options.tls.key,
          cert: options.tls.cert,
          ca: options.tls.ca,
          requestCert: options.tls.requireClientCert,
          rejectUnauthorized: options.tls.requireClientCert,
        },
      }
    : {};
  const netServer = () => netServerOf(server);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(new Error(`DICOM port ${options.port}: ${error.message}`));
    server.once('networkError', onError);
    server.once('listening', () => {
      server.off('networkError', onError);
      resolve();
    });
    server.listen(options.port, {
      associationTimeout: options.timeoutMs,
      pduTimeout: options.timeoutMs,
      ...tlsOptions,
    });
  });
  server.on('networkError', (error: Error) => log.debug(`network error: ${error.message}`));
  const address = netServer()?.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log.info(`DICOM SCP listening`, { aeTitle: options.aeTitle, port, tls: !!options.tls });

  return {
    port,
    activeAssociations: () => rt.active,
    unrecordedInstances: () => rt.unrecorded.size,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(retryRecording);
        const s = netServer();
        if (!s?.listening) return resolve();
        s.close(() => resolve());
        server.close();
        // Open associations are cut: what they had not had acknowledged, the senders still hold.
        for (const socket of clientSocketsOf(server)) socket.destroy();
      }),
  };
}
