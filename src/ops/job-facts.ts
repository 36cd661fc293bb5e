// What the operations page shows about one job beyond its row in the store: the patient and study read from its
// first instance, its results (brain volume, review flag, QC picture), what each archive answered for each
// object, and its lines from the node's log.
import fs from 'node:fs';
import path from 'node:path';
import type { Destination } from '../../config/sections/results.js';
import { type DataFolder, resultsDirOf } from '../data-folder.js';
import type { JobIdentification, JobStore } from '../jobs/state/store.js';
import type { Job } from '../jobs/state/job.js';
import { parsePart10 } from '../pipeline/dicom/dcmjs.js';
import { ResultIndex, type ResultSet, inputKey, readManifest } from '../jobs/processing/result-set.js';
import { QC_PICTURE } from '../pipeline/derived/result-files.js';
import type { DestinationHealth, DestinationStatus } from '../scu/destination-health.js';
import { type DeliveryLedger, type StoredRecord, destinationKey } from '../scu/ledger.js';

export interface FactsDeps {
  store: JobStore;
  folder: DataFolder;
  destinations: Destination[];
  ledger: DeliveryLedger;
  instancePaths(job: Job): Promise<string[]>;
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(text).filter(Boolean).join('\\');
  if (typeof value === 'object') {
    // A person name: Alphabetic, and the ideographic and phonetic forms a scanner may add (e.g. in Japan).
    const pn = value as { Alphabetic?: string; Ideographic?: string; Phonetic?: string };
    return [pn.Alphabetic, pn.Ideographic, pn.Phonetic].filter(Boolean).join('=');
  }
  return String(value).trim();
}

/** Reads patient and study identification of jobs that do not have it yet, from their first spooled instance. */
export async function describeJobs(deps: FactsDeps, jobs: Job[]): Promise<void> {
  for (const job of jobs) {
    if (job.patientName !== null && job.patientName !== undefined) continue;
    let ident: JobIdentification = { patientName: '', patientId: '', accessionNumber: '', studyDescription: '', studyDate: '', seriesNumber: '' };
    try {
      const [first] = await deps.instancePaths(job);
      if (!first) continue; // nothing spooled yet (or any more): try again later
      const { dataset } = parsePart10(fs.readFileSync(first), true);
      ident = {
        patientName: text(dataset.PatientName),
        patientId: text(dataset.PatientID),
        accessionNumber: text(dataset.AccessionNumber),
        studyDescription: text(dataset.StudyDescription),
        studyDate: text(dataset.StudyDate),
        seriesNumber: text(dataset.SeriesNumber),
      };
    } catch {
      // An unreadable first instance leaves the identification empty; the job's own reason tells what went wrong.
    }
    await deps.store.describe(job.id, ident);
    Object.assign(job, ident);
  }
}

export interface Delivery {
  destination: string;
  aeTitle: string;
  objects: Array<{ label: string; sopInstanceUid: string; record?: StoredRecord }>;
}

export interface JobResults {
  set: ResultSet;
  dir: string;
  qcPng?: string;
  deliveries: Delivery[];
}

/** The job's result set: in its own work folder, or the earlier job's whose results it reused. */
export async function jobResults(deps: FactsDeps, job: Job): Promise<JobResults | undefined> {
  const own = resultsDirOf(deps.folder.jobWorkDir(job.id));
  let set = readManifest(own);
  if (!set) {
    try {
      const paths = await deps.instancePaths(job);
      if (paths.length) set = new ResultIndex(deps.folder.resultIndex).lookup(job.seriesInstanceUid, inputKey(paths), { verify: false });
    } catch {
      set = undefined;
    }
  }
  if (!set || set.objects.length === 0) return undefined;
  const dir = path.dirname(set.objects[0].path);
  const qc = path.join(dir, QC_PICTURE);
  const objects = set.objects;
  const deliveries = await Promise.all(
    deps.destinations.map(async (d) => {
      const confirmed = await deps.ledger.confirmed(d, objects.map((o) => o.sopInstanceUid));
      const records = objects.map((o) => ({ label: o.label, sopInstanceUid: o.sopInstanceUid, record: confirmed.get(o.sopInstanceUid) }));
      return { destination: destinationKey(d), aeTitle: d.aeTitle, objects: records };
    }),
  );
  return { set, dir, qcPng: fs.existsSync(qc) ? qc : undefined, deliveries };
}

/** Forgets what every archive confirmed of the job's results, so that they are sent again. */
export async function forgetDeliveries(deps: FactsDeps, job: Job): Promise<number> {
  const results = await jobResults(deps, job);
  if (!results) return 0;
  let n = 0;
  for (const d of deps.destinations) n += await deps.ledger.forget(d, results.set.objects.map((o) => o.sopInstanceUid));
  return n;
}

export interface LogLine {
  timestamp: string;
  level: string;
  message: string;
  component?: string;
  extra: Record<string, unknown>;
}

const LOG_TAIL_BYTES = 32 * 1024 * 1024;

/** The lines of the node's log that name this job (newest last, at most `limit`). */
export function jobLogLines(deps: FactsDeps, job: Job, limit = 400): LogLine[] {
  if (!deps.folder.logFile || !fs.existsSync(deps.folder.logFile)) return [];
  const size = fs.statSync(deps.folder.logFile).size;
  const start = Math.max(0, size - LOG_TAIL_BYTES);
  const fd = fs.openSync(deps.folder.logFile, 'r');
  let content: string;
  try {
    const buffer = Buffer.alloc(size - start);
    fs.readSync(fd, buffer, 0, buffer.length, start);
    content = buffer.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
  const lines: LogLine[] = [];
  const jobId = String(job.id);
  const until = job.finishedAt ? Date.parse(job.finishedAt) + 1000 : Infinity;
  const from = Date.parse(job.createdAt) - 1000;
  for (const raw of content.split('\n')) {
    if (!raw.includes(jobId) && !raw.includes(job.seriesInstanceUid)) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      continue;
    }
    const sameJob = String(entry.jobId ?? '') === jobId;
    // Lines that name only the series (the receiver's) belong to this job while it was receiving.
    const t = Date.parse(String(entry.timestamp ?? ''));
    const sameSeries = entry.jobId === undefined && entry.seriesInstanceUid === job.seriesInstanceUid && t >= from && t <= until;
    if (!sameJob && !sameSeries) continue;
    const { timestamp, level, message, component, ...extra } = entry;
    lines.push({ timestamp: String(timestamp ?? ''), level: String(level ?? ''), message: String(message ?? ''), component: component as string | undefined, extra });
  }
  return lines.slice(-limit);
}

/** The last thing each destination answered: its newest confirmed object, or a newer failed job naming it. */
export async function lastSendResults(
  deps: FactsDeps,
  health?: DestinationHealth,
): Promise<Array<{ destination: Destination; key: string; lastStored?: StoredRecord; lastFailure?: Job; status?: DestinationStatus; failing: boolean }>> {
  const statuses = new Map((health?.snapshot() ?? []).map((s) => [s.key, s]));
  const failed = await deps.store.list({ state: 'failed', limit: 200 });
  const latest = await Promise.all(deps.destinations.map((d) => deps.ledger.latest(d)));
  return deps.destinations.map((d, i) => {
    const lastStored = latest[i];
    const lastFailure = failed.find((j) => (j.reason ?? '').includes(d.aeTitle) && (!lastStored || (j.finishedAt ?? '') > lastStored.storedAt));
    const key = destinationKey(d);
    const status = statuses.get(key);
    return { destination: d, key, lastStored, lastFailure, status, failing: status?.failingSince !== undefined || lastFailure !== undefined };
  });
}
