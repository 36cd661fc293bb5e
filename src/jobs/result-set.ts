// The objects computed for one job, kept on disk until every archive confirmed them: Part-10 files plus a
// manifest naming them and the input they were computed from. Written durably (fsync, then rename), so after a
// crash or restart the job goes straight to sending what it already computed instead of computing it again.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DicomObject } from '../pipeline/derived/common.js';
import { toPart10 } from '../pipeline/dicom/dcmjs.js';
import { fsyncDirSync, writeFileDurable } from '../durable.js';

export interface ResultObject {
  kind: DicomObject['kind'];
  label: string;
  path: string;
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
}

export interface ResultSet {
  /** Identifies the input (the spooled instance files); a different input means the results are stale. */
  inputKey: string;
  createdAt: string;
  /** The model the objects were computed by; `sha256` is its file's checksum (results are reused only for the same one). */
  model: { name: string; version: string; precision: string; sha256?: string };
  /** Facts about the result worth showing on the job (brain volume, QC flag). */
  summary: Record<string, unknown>;
  objects: ResultObject[];
}

const MANIFEST = 'manifest.json';

/** Key of an input: a hash of the set of files and their sizes (a resent or added instance changes it). */
export function inputKey(paths: string[]): string {
  const listing = paths
    .map((p) => `${path.basename(p)}:${fs.statSync(p).size}`)
    .sort()
    .join('|');
  return crypto.createHash('sha256').update(listing).digest('hex');
}

/** Writes every object, then the manifest last: a manifest on disk means all its files are complete. */
export function writeResultSet(dir: string, objects: DicomObject[], meta: Omit<ResultSet, 'objects' | 'createdAt'>): ResultSet {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const written: ResultObject[] = objects.map((o, n) => {
    const file = path.join(dir, `${o.kind}-${String(n + 1).padStart(4, '0')}.dcm`);
    writeFileDurable(file, toPart10(o.dataset));
    return {
      kind: o.kind,
      label: o.kind === 'seg' ? 'SEG' : 'skull-stripped image',
      path: file,
      sopClassUid: o.sopClassUid,
      sopInstanceUid: o.sopInstanceUid,
      seriesInstanceUid: o.seriesInstanceUid,
    };
  });
  const set: ResultSet = { ...meta, createdAt: new Date().toISOString(), objects: written };
  writeFileDurable(path.join(dir, MANIFEST), JSON.stringify(set, null, 2));
  fsyncDirSync(dir);
  return set;
}

/** The result set in `dir` if it is complete and was computed from `key`; undefined otherwise. */
export function readResultSet(dir: string, key: string): ResultSet | undefined {
  try {
    const set = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as ResultSet;
    if (set.inputKey !== key) return undefined;
    if (!set.objects.every((o) => fs.existsSync(o.path))) return undefined;
    return set;
  } catch {
    return undefined;
  }
}

/**
 * Where results are found by what they were computed from: a series sent again (a new job) with exactly the same
 * instances reuses the earlier job's results instead of computing them again.
 */
export class ResultIndex {
  constructor(private readonly root: string) {}

  private file(seriesInstanceUid: string, key: string): string {
    const hash = crypto.createHash('sha256').update(`${seriesInstanceUid}\u0000${key}`).digest('hex');
    return path.join(this.root, `${hash}.json`);
  }

  record(seriesInstanceUid: string, key: string, resultDir: string): void {
    fs.mkdirSync(this.root, { recursive: true });
    writeFileDurable(this.file(seriesInstanceUid, key), JSON.stringify({ seriesInstanceUid, resultDir }));
  }

  lookup(seriesInstanceUid: string, key: string): ResultSet | undefined {
    try {
      const { resultDir } = JSON.parse(fs.readFileSync(this.file(seriesInstanceUid, key), 'utf8')) as { resultDir: string };
      return readResultSet(resultDir, key);
    } catch {
      return undefined;
    }
  }
}
