// The durable spool: every instance is streamed to a temporary file, fsynced, checked for its full size, then
// linked into its series folder (never over an instance already there) and the folder fsynced before the SCP
// answers Success. A crash at any point leaves either a stray temporary file (never acknowledged, removed at start)
// or a complete instance in its place.
//
//   <spool>/incoming/[<node>+]<random>.part              instances being received (in a cluster, by that node)
//   <spool>/series/<StudyUID>/<SeriesUID>/<SOPUID>.dcm    routed instances, grouped by series (one job per series)
//   <spool>/unrouted/<SeriesUID>/<SOPUID>.dcm             acknowledged but not processed; deleted after retention
//   <spool>/errors/<time>-<random>.dcm (+ .json)          refused instances kept for inspection, with the reason
//
// Folder and file names are the UIDs themselves: the SCP refuses anything that is not a valid UID (at most 64
// digits and dots), so the mapping from UID to name is one-to-one and cannot escape the spool.
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { isValidUid } from '../dicom/uids.js';
import { fsyncDir } from '../durable.js';
import { ErrorArea } from './error-area.js';
import { datasetOffset } from './part10.js';
import { nodeSpoolIo, type SpoolIo, SpoolWriter } from './spool-writer.js';

/** A temporary file in the incoming folder older than this was left by a node that is gone. */
const ABANDONED_MS = 86400_000;

/** A UID as a file name; only valid UIDs reach the spool's folders, anything else is replaced, never trusted. */
export function uidFileName(uid: string | undefined): string {
  if (isValidUid(uid)) return uid;
  return `invalid-${createHash('sha256').update(uid ?? '').digest('hex').slice(0, 32)}`;
}

/** How a committed instance relates to one already spooled under the same SOP Instance UID. */
export type CommitOutcome = { target: string; existing: 'none' | 'identical' } | { target: string; existing: 'different' };

/** SHA-256 (hex) of the dataset of a spooled Part 10 file, i.e. of the bytes after its File Meta Information. */
export async function spooledDatasetDigest(file: string): Promise<string> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const offset = datasetOffset(head.subarray(0, bytesRead));
    const hash = createHash('sha256');
    const chunk = Buffer.alloc(1024 * 1024);
    for (let position = offset; ; ) {
      const { bytesRead: n } = await handle.read(chunk, 0, chunk.length, position);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
      position += n;
    }
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

export class Spool {
  readonly incomingDir: string;
  readonly seriesRoot: string;
  readonly unroutedRoot: string;
  readonly errorsRoot: string;
  /** Refused instances kept for inspection. */
  readonly errors: ErrorArea;
  /** Folders already known to exist and to be durable, so that each instance costs one directory fsync. */
  private readonly knownDirs = new Set<string>();
  /** Folders with instances committed but not yet recorded in the job store. */
  private readonly busy = new Map<string, number>();
  /** A count of commits and settlements, and its value at each folder's last one (see activityMark). */
  private activity = 0;
  private readonly lastActivity = new Map<string, number>();

  /**
   * `node`: in a cluster, the name of this node among those sharing the spool; its temporary files carry it, so that
   * at start it removes its own and never another node's instance in flight.
   */
  constructor(
    readonly root: string,
    private readonly io: SpoolIo = nodeSpoolIo,
    private readonly node?: string,
  ) {
    this.incomingDir = path.join(root, 'incoming');
    this.seriesRoot = path.join(root, 'series');
    this.unroutedRoot = path.join(root, 'unrouted');
    this.errorsRoot = path.join(root, 'errors');
    this.errors = new ErrorArea(this.errorsRoot);
  }

  /**
   * Creates the layout and removes temporary files of instances that were never acknowledged: this node's (all of
   * them on a single node), and in a cluster those another node left more than a day ago (no instance takes that
   * long to arrive: that node died and its name is not used any more).
   */
  async init(): Promise<{ removedPartial: number }> {
    for (const dir of [this.incomingDir, this.seriesRoot, this.unroutedRoot, this.errorsRoot]) await fs.promises.mkdir(dir, { recursive: true });
    let removedPartial = 0;
    const prefix = this.tempPrefix();
    for (const name of await fs.promises.readdir(this.incomingDir)) {
      const file = path.join(this.incomingDir, name);
      if (!name.startsWith(prefix)) {
        const stat = await fs.promises.stat(file).catch(() => undefined);
        if (!stat || Date.now() - stat.mtimeMs < ABANDONED_MS) continue;
      }
      await fs.promises.rm(file, { force: true, recursive: true });
      removedPartial++;
    }
    return { removedPartial };
  }

  /** What the names of this node's temporary files begin with ('+' is in no node name, so no name prefixes another). */
  private tempPrefix(): string {
    return this.node ? `${this.node}+` : '';
  }

  /** A temporary file of this node in the incoming folder. */
  private tempPath(name: string): string {
    return path.join(this.incomingDir, `${this.tempPrefix()}${name}`);
  }

  openInstance(metaHeader: Buffer): SpoolWriter {
    return new SpoolWriter(this.tempPath(`${randomUUID()}.part`), metaHeader, this.io);
  }

  seriesDir(studyInstanceUid: string | undefined, seriesInstanceUid: string | undefined): string {
    return path.join(this.seriesRoot, uidFileName(studyInstanceUid), uidFileName(seriesInstanceUid));
  }

  unroutedDir(seriesInstanceUid: string | undefined): string {
    return path.join(this.unroutedRoot, uidFileName(seriesInstanceUid));
  }

  /**
   * Links a fsynced temporary file to `dir/<SOPInstanceUID>.dcm`, makes it durable and removes the temporary name.
   * An instance already spooled under that UID is never replaced: an identical copy (a resend after an aborted
   * association) is simply dropped, a different one is left to the caller (the temporary file stays).
   */
  async commit(writer: SpoolWriter, dir: string, sopInstanceUid: string): Promise<CommitOutcome> {
    const target = path.join(dir, `${uidFileName(sopInstanceUid)}.dcm`);
    this.busy.set(dir, (this.busy.get(dir) ?? 0) + 1);
    this.lastActivity.set(dir, ++this.activity);
    try {
      const linked = await this.linkNew(writer.tempPath, dir, target);
      if (!linked) {
        const same = (await spooledDatasetDigest(target).catch(() => undefined)) === writer.digest;
        if (!same) return { target, existing: 'different' };
        await fs.promises.rm(writer.tempPath, { force: true });
        return { target, existing: 'identical' };
      }
      await fsyncDir(dir);
      await fs.promises.rm(writer.tempPath, { force: true });
      return { target, existing: 'none' };
    } catch (error) {
      this.settled(dir);
      throw error;
    }
  }

  /** Removes an instance committed but not acknowledged after all (the job store could not record it). */
  async withdraw(target: string): Promise<void> {
    await fs.promises.rm(target, { force: true });
    await fsyncDir(path.dirname(target));
  }

  /** link(2) never overwrites: false when `target` exists already. */
  private async linkNew(temp: string, dir: string, target: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.ensureDir(dir);
        await fs.promises.link(temp, target);
        return true;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return false;
        // The folder went away since it was last used (retention clean-up): create it again, once.
        if (code !== 'ENOENT' || attempt > 0 || !fs.existsSync(temp)) throw error;
        this.knownDirs.delete(dir);
      }
    }
  }

  /**
   * Whether the spool can take an instance now: writes, fsyncs and removes a probe file of `bytes` bytes, and
   * checks that at least `minFreeBytes` stay free. Resolves with the reason it cannot, or undefined.
   */
  async probeWritable(bytes = 256 * 1024, minFreeBytes = 0): Promise<string | undefined> {
    const probe = this.tempPath(`probe-${randomUUID()}.part`);
    const writer = new SpoolWriter(probe, Buffer.alloc(0), this.io);
    try {
      writer.end(Buffer.alloc(bytes));
      const error = await writer.finish();
      if (error) return `spool not writable: ${error.message}`;
      if (minFreeBytes > 0) {
        const stat = await fs.promises.statfs(this.root);
        const free = stat.bavail * stat.bsize;
        if (free < minFreeBytes) return `spool has ${Math.floor(free / 1048576)} MiB free, less than the ${Math.floor(minFreeBytes / 1048576)} MiB required`;
      }
      return undefined;
    } catch (error) {
      return `spool not writable: ${(error as Error).message}`;
    } finally {
      await writer.discard();
    }
  }

  /**
   * The caller of `commit` is done with the folder (the instance is recorded in the job store). Until then the
   * folder is never removed by retention clean-up.
   */
  settled(dir: string): void {
    this.lastActivity.set(dir, ++this.activity);
    const n = (this.busy.get(dir) ?? 1) - 1;
    if (n <= 0) this.busy.delete(dir);
    else this.busy.set(dir, n);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    const created = await fs.promises.mkdir(dir, { recursive: true });
    if (created) {
      // Each newly created folder's entry must itself be durable: fsync the parents from `dir` up to the first
      // folder that already existed.
      let d = dir;
      while (d !== path.dirname(created)) {
        d = path.dirname(d);
        await fsyncDir(d);
      }
    }
    this.knownDirs.add(dir);
  }

  /** The spooled instance files of a series, sorted by name. */
  async seriesInstancePaths(studyInstanceUid: string, seriesInstanceUid: string): Promise<string[]> {
    const dir = this.seriesDir(studyInstanceUid, seriesInstanceUid);
    const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith('.dcm')).sort().map((n) => path.join(dir, n));
  }

  /** Every series folder in the spool, as [StudyUID folder, SeriesUID folder, instance file names]. */
  async listSeries(): Promise<Array<{ study: string; series: string; dir: string; files: string[] }>> {
    const result: Array<{ study: string; series: string; dir: string; files: string[] }> = [];
    for (const study of await fs.promises.readdir(this.seriesRoot).catch(() => [] as string[])) {
      const studyDir = path.join(this.seriesRoot, study);
      for (const series of await fs.promises.readdir(studyDir).catch(() => [] as string[])) {
        const dir = path.join(studyDir, series);
        const files = (await fs.promises.readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.dcm'));
        result.push({ study, series, dir, files });
      }
    }
    return result;
  }

  /** Deletes unrouted instances older than `maxAgeMs`; returns how many were removed. */
  async cleanUnrouted(maxAgeMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for (const series of await fs.promises.readdir(this.unroutedRoot).catch(() => [] as string[])) {
      const dir = path.join(this.unroutedRoot, series);
      const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
      let left = names.length;
      for (const name of names) {
        const file = path.join(dir, name);
        const stat = await fs.promises.stat(file).catch(() => undefined);
        if (stat && now - stat.mtimeMs >= maxAgeMs) {
          await fs.promises.rm(file, { force: true });
          removed++;
          left--;
        }
      }
      if (left === 0) await fs.promises.rmdir(dir).catch(() => undefined);
    }
    return removed;
  }

  /** Taken before asking the job store which series may be removed; see removeSeriesIfIdle. */
  activityMark(): number {
    return this.activity;
  }

  /**
   * Removes a series folder after its job is done and the retention passed — unless an instance of it is being
   * stored right now, or one was stored since `mark` (activityMark taken before the job store was asked: its answer
   * may predate that instance's job). Synchronous up to the rename, so that no C-STORE slips in between this check
   * and the removal. Returns whether the folder was removed.
   */
  removeSeriesIfIdle(studyInstanceUid: string, seriesInstanceUid: string, mark = Number.POSITIVE_INFINITY): boolean {
    const dir = this.seriesDir(studyInstanceUid, seriesInstanceUid);
    if (this.busy.has(dir) || (this.lastActivity.get(dir) ?? 0) > mark) return false;
    const trash = this.tempPath(`${randomUUID()}.removed`);
    try {
      fs.renameSync(dir, trash);
    } catch {
      return false; // already gone
    }
    this.knownDirs.delete(dir);
    this.lastActivity.delete(dir);
    void fs.promises.rm(trash, { recursive: true, force: true }).catch(() => undefined);
    return true;
  }
}
