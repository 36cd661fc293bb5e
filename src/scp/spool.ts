// The durable spool: every instance is streamed to a temporary file, fsynced, then renamed into its series folder
// (and the folder fsynced) before the SCP answers Success. A crash at any point leaves either a stray temporary
// file (never acknowledged, removed at start) or a complete instance in its place.
//
//   <spool>/incoming/<random>.part                       instances being received
//   <spool>/series/<StudyUID>/<SeriesUID>/<SOPUID>.dcm    routed instances, grouped by series (one job per series)
//   <spool>/unrouted/<SeriesUID>/<SOPUID>.dcm             acknowledged but not processed; deleted after retention
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';

const fsync = promisify(fs.fsync);
const close = promisify(fs.close);
const writev = promisify(fs.writev);
const rename = promisify(fs.rename);
const open = promisify(fs.open);

/** Bytes of the dataset kept in memory to read its header from; the rest only goes to disk. */
const HEADER_PREFIX_BYTES = 256 * 1024;

/** A UID as a safe file name: UIDs are digits and dots; anything else a sender puts there is replaced. */
export function uidFileName(uid: string | undefined): string {
  const cleaned = (uid ?? '').replace(/[^0-9A-Za-z.-]/g, '_').replace(/^\.+/, '');
  return cleaned === '' ? 'unknown' : cleaned.slice(0, 128);
}

/**
 * Streams one instance to a temporary file. It never fails the network stream: a write error (disk full,
 * spool unwritable) is remembered, the remaining bytes are dropped, and `finish()` reports it so that the SCP can
 * answer Out of Resources and keep the association alive.
 */
export class SpoolWriter extends Writable {
  private fd: number | undefined;
  private failure: Error | undefined;
  private prefixChunks: Buffer[] = [];
  private prefixLength = 0;
  private datasetLength = 0;

  constructor(
    readonly tempPath: string,
    private readonly metaHeader: Buffer,
  ) {
    // A high water mark of a few PDUs keeps the network reader from waiting on every disk write.
    super({ highWaterMark: 4 * 1024 * 1024 });
  }

  /** Bytes of the dataset received so far (without the file meta header). */
  get bytes(): number {
    return this.datasetLength;
  }

  /** The first bytes of the dataset (at most HEADER_PREFIX_BYTES). */
  get prefix(): Buffer {
    return Buffer.concat(this.prefixChunks, this.prefixLength);
  }

  get error(): Error | undefined {
    return this.failure;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.tempPath, 'w', 0o640)
      .then(async (fd) => {
        this.fd = fd;
        await writev(fd, [this.metaHeader]);
      })
      .catch((error: Error) => this.fail(error))
      .finally(() => callback());
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    this.account(buffers);
    if (this.failure || this.fd === undefined) {
      callback();
      return;
    }
    writev(this.fd, buffers)
      .catch((error: Error) => this.fail(error))
      .finally(() => callback());
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  private account(buffers: Buffer[]): void {
    for (const b of buffers) {
      this.datasetLength += b.length;
      if (this.prefixLength < HEADER_PREFIX_BYTES) {
        const take = b.subarray(0, HEADER_PREFIX_BYTES - this.prefixLength);
        this.prefixChunks.push(Buffer.from(take));
        this.prefixLength += take.length;
      }
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
  }

  /** Waits for every byte to reach the file and fsyncs it. Resolves with the write error, if any. */
  async finish(): Promise<Error | undefined> {
    if (!this.writableFinished) {
      await new Promise<void>((resolve) => {
        if (this.writableFinished || this.destroyed) resolve();
        else {
          this.once('finish', () => resolve());
          this.once('close', () => resolve());
        }
      });
    }
    if (this.fd !== undefined && !this.failure) {
      try {
        await fsync(this.fd);
      } catch (error) {
        this.fail(error as Error);
      }
    }
    await this.closeFile();
    return this.failure;
  }

  private async closeFile(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await close(fd).catch(() => undefined);
  }

  /** Removes the temporary file (an instance that was not acknowledged). */
  async discard(): Promise<void> {
    await this.closeFile();
    await fs.promises.rm(this.tempPath, { force: true }).catch(() => undefined);
  }
}

export class Spool {
  readonly incomingDir: string;
  readonly seriesRoot: string;
  readonly unroutedRoot: string;
  /** Folders already known to exist and to be durable, so that each instance costs one directory fsync. */
  private readonly knownDirs = new Set<string>();
  /** Folders with instances committed but not yet recorded in the job store. */
  private readonly busy = new Map<string, number>();

  constructor(readonly root: string) {
    this.incomingDir = path.join(root, 'incoming');
    this.seriesRoot = path.join(root, 'series');
    this.unroutedRoot = path.join(root, 'unrouted');
  }

  /** Creates the layout and removes temporary files of instances that were never acknowledged. */
  async init(): Promise<{ removedPartial: number }> {
    for (const dir of [this.incomingDir, this.seriesRoot, this.unroutedRoot]) await fs.promises.mkdir(dir, { recursive: true });
    let removedPartial = 0;
    for (const name of await fs.promises.readdir(this.incomingDir)) {
      await fs.promises.rm(path.join(this.incomingDir, name), { force: true, recursive: true });
      removedPartial++;
    }
    return { removedPartial };
  }

  openInstance(metaHeader: Buffer): SpoolWriter {
    return new SpoolWriter(path.join(this.incomingDir, `${randomUUID()}.part`), metaHeader);
  }

  seriesDir(studyInstanceUid: string | undefined, seriesInstanceUid: string | undefined): string {
    return path.join(this.seriesRoot, uidFileName(studyInstanceUid), uidFileName(seriesInstanceUid));
  }

  unroutedDir(seriesInstanceUid: string | undefined): string {
    return path.join(this.unroutedRoot, uidFileName(seriesInstanceUid));
  }

  /**
   * Moves a fsynced temporary file to `dir/<SOPInstanceUID>.dcm` and makes the rename durable. A second copy of
   * the same instance replaces the first (a resend after an aborted association).
   */
  async commit(writer: SpoolWriter, dir: string, sopInstanceUid: string | undefined): Promise<string> {
    const target = path.join(dir, `${uidFileName(sopInstanceUid ?? randomUUID())}.dcm`);
    this.busy.set(dir, (this.busy.get(dir) ?? 0) + 1);
    try {
      await this.ensureDir(dir);
      await rename(writer.tempPath, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !fs.existsSync(writer.tempPath)) {
        this.settled(dir);
        throw error;
      }
      // The folder went away since it was last used (retention clean-up): create it again.
      this.knownDirs.delete(dir);
      try {
        await this.ensureDir(dir);
        await rename(writer.tempPath, target);
      } catch (retryError) {
        this.settled(dir);
        throw retryError;
      }
    }
    try {
      await fsyncDir(dir);
    } catch (error) {
      this.settled(dir);
      throw error;
    }
    return target;
  }

  /**
   * The caller of `commit` is done with the folder (the instance is recorded in the job store). Until then the
   * folder is never removed by retention clean-up.
   */
  settled(dir: string): void {
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

  /**
   * Removes a series folder after its job is done and the retention passed — unless an instance of it is being
   * stored right now. Synchronous up to the rename, so that no C-STORE can slip in between the caller's check of
   * the job store and the removal. Returns whether the folder was removed.
   */
  removeSeriesIfIdle(studyInstanceUid: string, seriesInstanceUid: string): boolean {
    const dir = this.seriesDir(studyInstanceUid, seriesInstanceUid);
    if (this.busy.has(dir)) return false;
    const trash = path.join(this.incomingDir, `${randomUUID()}.removed`);
    try {
      fs.renameSync(dir, trash);
    } catch {
      return false; // already gone
    }
    this.knownDirs.delete(dir);
    void fs.promises.rm(trash, { recursive: true, force: true }).catch(() => undefined);
    return true;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fd = await open(dir, 'r');
  try {
    await fsync(fd);
  } finally {
    await close(fd);
  }
}
