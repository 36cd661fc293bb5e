// The objects computed for one job, kept on disk until every archive confirmed them: Part-10 files plus a
// manifest naming them, their checksums and the input they were computed from. Only the manifest is made durable
// (fsync, then rename): after a crash or restart the job goes straight to sending what it computed if every file
// still matches its checksum, and computes again otherwise. One fsync per result set instead of one per object.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DicomObject } from '../../pipeline/derived/objects.js';
import { type ResultFile, writeObjectFiles } from '../../pipeline/derived/result-files.js';
import { fsyncDirSync, writeFileDurable } from '../../durable.js';

/** One object of the set, as written. */
export type ResultObject = ResultFile;

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
  return recordResultSet(dir, writeObjectFiles(dir, objects), meta);
}

/** The manifest of objects already written into `dir` (writeObjectFiles), made durable. */
export function recordResultSet(dir: string, objects: ResultObject[], meta: Omit<ResultSet, 'objects' | 'createdAt'>): ResultSet {
  const set: ResultSet = { ...meta, createdAt: new Date().toISOString(), objects };
  writeFileDurable(path.join(dir, MANIFEST), JSON.stringify(set, null, 2));
  fsyncDirSync(dir);
  return set;
}

function sha256(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** The manifest in `dir` as written, whatever input it was computed from; undefined when there is none. */
export function readManifest(dir: string): ResultSet | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as ResultSet;
  } catch {
    return undefined;
  }
}

/**
 * The result set in `dir` if it is complete and was computed from `key`; undefined otherwise. `verify: false`
 * skips reading every file back against its checksum (enough to show the set, not to send it).
 */
export function readResultSet(dir: string, key: string, options: { verify?: boolean } = {}): ResultSet | undefined {
  try {
    const set = readManifest(dir);
    if (!set || set.inputKey !== key) return undefined;
    const intact = (o: ResultObject) => (options.verify === false || !o.sha256 ? fs.existsSync(o.path) : sha256(fs.readFileSync(o.path)) === o.sha256);
    if (!set.objects.every(intact)) return undefined;
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

  lookup(seriesInstanceUid: string, key: string, options: { verify?: boolean } = {}): ResultSet | undefined {
    try {
      const { resultDir } = JSON.parse(fs.readFileSync(this.file(seriesInstanceUid, key), 'utf8')) as { resultDir: string };
      return readResultSet(resultDir, key, options);
    } catch {
      return undefined;
    }
  }
}
