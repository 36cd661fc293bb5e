// C-STORE handling: an instance streamed into the spool is checked (UIDs present, valid and matching the request),
// committed to its series folder or the unrouted area, and recorded in the job store. A refused instance is kept in
// the error area with its reason; an instance the store cannot record yet is acknowledged and recorded later — or,
// in a cluster, whose nodes act on the shared index alone, answered Out of Resources and withdrawn from the spool.
import fs from 'node:fs';
import type { requests as dimseRequests } from 'dcmjs-dimse';
import { DimseStatus } from '../dicom/status.js';
import type { Logger } from '../log.js';
import { readInstanceHeader, type InstanceHeader } from './dataset-header.js';
import { routeInstance } from './routing.js';
import type { ScpRuntime } from './runtime.js';
import { isValidUid } from '../dicom/uids.js';
import type { SpoolWriter } from './spool-writer.js';

type CStoreRequest = dimseRequests.CStoreRequest;

/** How much of a dataset is read back from disk when its first bytes did not hold the wanted attributes. */
const HEADER_FALLBACK_BYTES = 16 * 1024 * 1024;

/** The association an instance arrived on, as far as storing it needs to know. */
export interface Arrival {
  rt: ScpRuntime;
  callingAe: string;
  peer: string | undefined;
  log: Logger;
  associationId: number;
  /** true once the association has ended: an instance whose storing finishes later must not hold its series open. */
  ended(): boolean;
}

/** The status and error comment of a C-STORE response. */
export interface StoreAnswer {
  code: number;
  comment?: string;
}

/** A UID from the command set as sent: dcmjs splits a value holding a backslash into several. */
function requestUid(value: unknown): string {
  const text = Array.isArray(value) ? value.join('\\') : value === undefined || value === null ? '' : String(value);
  return text.replace(/[\0 ]+$/, '');
}

/**
 * Stores one C-STORE's dataset, already streamed into a spool writer: checks it, commits it to its series folder
 * (or the unrouted area), records it in the job store, and says what to answer. Success only once it is durable.
 */
export async function storeInstance(arrival: Arrival, request: CStoreRequest, writer: SpoolWriter | undefined, transferSyntaxUid: string): Promise<StoreAnswer> {
  const sopInstanceUid = requestUid(request.getAffectedSopInstanceUid());
  if (!writer) {
    arrival.rt.metrics.failures.inc({ reason: 'no dataset' });
    return { code: DimseStatus.ProcessingFailure, comment: 'C-STORE without a dataset' };
  }
  const writeError = (await writer.finish()) ?? (arrival.rt.deps.spoolProblem?.() ? new Error(arrival.rt.deps.spoolProblem()) : undefined);
  if (writeError) {
    await writer.discard();
    arrival.rt.metrics.failures.inc({ reason: 'spool unwritable' });
    arrival.log.error(`cannot spool instance: ${writeError.message}`, { sopInstanceUid });
    return { code: DimseStatus.OutOfResources, comment: `cannot store: ${writeError.message}` };
  }
  const read = await readHeader(arrival.log, writer, transferSyntaxUid, sopInstanceUid);
  const header = read.header;
  const ids = { studyInstanceUid: header.studyInstanceUid, seriesInstanceUid: header.seriesInstanceUid, sopInstanceUid };
  const refusal = check(request, sopInstanceUid, read);
  if (refusal) return refuse(arrival, writer, refusal, ids);

  const decision = routeInstance({ ...header, sopInstanceUid }, arrival.callingAe, arrival.rt.options.routing);
  if (decision.routed) {
    // One series belongs to one study; its spool folder and its job are found by both UIDs.
    let study: string | undefined;
    try {
      study = await arrival.rt.deps.store.studyOfSeries(header.seriesInstanceUid!);
    } catch (error) {
      await writer.discard();
      arrival.rt.metrics.failures.inc({ reason: 'index unreadable' });
      arrival.log.error(`cannot read the job store, instance refused (Out of Resources): ${(error as Error).message}`, ids);
      return { code: DimseStatus.OutOfResources, comment: `cannot read the job store: ${(error as Error).message}` };
    }
    if (study && study !== header.studyInstanceUid) {
      return refuse(arrival, writer, { code: DimseStatus.DataSetDoesNotMatchSopClass, reason: 'series in two studies', comment: `series already received in study ${study}` }, ids);
    }
  }
  const dir = decision.routed ? arrival.rt.deps.spool.seriesDir(header.studyInstanceUid, header.seriesInstanceUid) : arrival.rt.deps.spool.unroutedDir(header.seriesInstanceUid);
  let committed;
  try {
    committed = await arrival.rt.deps.spool.commit(writer, dir, sopInstanceUid);
  } catch (error) {
    await writer.discard();
    arrival.rt.metrics.failures.inc({ reason: 'spool unwritable' });
    arrival.log.error(`cannot spool instance: ${(error as Error).message}`, ids);
    return { code: DimseStatus.OutOfResources, comment: `cannot store: ${(error as Error).message}` };
  }
  try {
    if (committed.existing === 'different') {
      return await refuse(
        arrival,
        writer,
        { code: DimseStatus.DuplicateSopInstance, reason: 'conflicting duplicate', comment: 'SOP Instance UID already stored with other content' },
        { ...ids, spooledAs: committed.target },
      );
    }
    if (committed.existing === 'identical') arrival.log.info('instance received again with identical content', ids);
    arrival.rt.metrics.instances.inc({ routed: String(decision.routed) });
    arrival.rt.metrics.bytes.inc({}, writer.bytes);
    // Awaited inside the try: the folder stays busy (never removed by retention) until the instance is recorded.
    return await record(arrival, header, decision, ids, writer.bytes, committed);
  } finally {
    arrival.rt.deps.spool.settled(dir);
  }
}

/** Why an instance that reached the disk must not be acknowledged, if it must not. */
function check(request: CStoreRequest, sopInstanceUid: string, read: { header: InstanceHeader; error?: string; whole: boolean }) {
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
async function refuse(
  arrival: Arrival,
  writer: SpoolWriter,
  refusal: { code: number; reason: string; comment: string },
  ids: { studyInstanceUid?: string; seriesInstanceUid?: string; sopInstanceUid: string; spooledAs?: string },
) {
  arrival.rt.metrics.failures.inc({ reason: refusal.reason });
  const kept = await arrival.rt.deps.spool.errors.keep(
    writer,
    { status: `0x${refusal.code.toString(16).padStart(4, '0')}`, reason: refusal.comment, callingAe: arrival.callingAe, peer: arrival.peer, ...ids },
    arrival.rt.options.maxErrorFiles ?? 1000,
  );
  // UIDs from a refused instance may be anything: they go to the log as JSON strings, never into paths.
  arrival.log.warn(`instance refused: ${refusal.comment}`, { ...ids, status: refusal.code, keptAs: kept });
  return { code: refusal.code, comment: refusal.comment };
}

async function record(
  arrival: Arrival,
  header: InstanceHeader,
  decision: ReturnType<typeof routeInstance>,
  ids: { studyInstanceUid?: string; seriesInstanceUid?: string; sopInstanceUid: string },
  bytes: number,
  committed: { target: string; existing: 'none' | 'identical' },
): Promise<{ code: number; comment?: string }> {
  const sopInstanceUid = ids.sopInstanceUid;
  if (!decision.routed) {
    arrival.log.info(`instance stored, not processed: ${decision.reason}`, { ...ids, modality: header.modality, seriesDescription: header.seriesDescription });
    return { code: DimseStatus.Success };
  }
  const instance = {
    studyInstanceUid: header.studyInstanceUid!,
    seriesInstanceUid: header.seriesInstanceUid!,
    sopInstanceUid,
    sopClassUid: header.sopClassUid,
    modality: header.modality,
    seriesDescription: header.seriesDescription,
    callingAe: arrival.callingAe,
    bytes,
  };
  try {
    // Awaited before answering: an acknowledged instance is in the job store (or in `unrecorded`, retried).
    const recorded = await arrival.rt.deps.store.recordInstance(instance);
    const { job } = recorded;
    // An instance whose storing finished after its association dropped must not hold the series open.
    arrival.rt.recorded(recorded, arrival.ended() ? undefined : arrival.associationId);
    if (recorded.late === 'again') arrival.log.info(`instance received again: job ${job.id} (${job.state}) has it already`, { ...ids, jobId: job.id });
    else if (recorded.late) arrival.log.warn(`late instance: job ${job.id} already has results (${job.state}); kept in the spool, not processed`, { ...ids, jobId: job.id });
    else if (recorded.superseded) arrival.log.warn(`late instance: job ${recorded.superseded.id} was computing the series without it and stops; job ${job.id} takes the whole series`, { ...ids, jobId: job.id });
    else if (recorded.created) arrival.log.info('new series, job created', { ...ids, jobId: job.id, seriesDescription: header.seriesDescription });
    else if (recorded.reopened) arrival.log.info('late instance re-opened the series', { ...ids, jobId: job.id });
    else arrival.log.debug('instance stored', { ...ids, jobId: job.id });
  } catch (error) {
    if (arrival.rt.options.indexRequired) {
      // Never acknowledged: the sender keeps the instance and sends it again. A copy spooled before stays.
      if (committed.existing === 'none') await arrival.rt.deps.spool.withdraw(committed.target).catch(() => undefined);
      arrival.rt.metrics.failures.inc({ reason: 'index unwritable' });
      arrival.log.error(`instance not recorded in the job store, refused (Out of Resources): ${(error as Error).message}`, ids);
      return { code: DimseStatus.OutOfResources, comment: `cannot record the instance: ${(error as Error).message}` };
    }
    // The instance is durable in the spool, so it is acknowledged; recording it is retried until the store
    // writes again (and the spool scan at the next start would find it too).
    arrival.rt.unrecorded.set(`${instance.seriesInstanceUid}/${sopInstanceUid}`, instance);
    arrival.log.error(`instance spooled but not recorded in the job store (retried): ${(error as Error).message}`, ids);
  }
  return { code: DimseStatus.Success };
}

async function readHeader(
  log: Logger,
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
    log.warn(`cannot read the dataset header: ${(error as Error).message}`, { sopInstanceUid });
    return { header: { imageType: [] }, error: (error as Error).message, whole: false };
  }
}
