// The durable spool: every instance is streamed to a temporary file, fsynced, checked for its full size, then
// linked into its series folder (never over an instance already there) and the folder fsynced before the SCP
// answers Success. A crash at any point leaves either a stray temporary file (never acknowledged, removed at start)
// or a complete instance in its place.
//
//   <spool>/incoming/<random>.part                       instances being received
//   <spool>/series/<StudyUID>/<SeriesUID>/<SOPUID>.dcm    routed instances, grouped by series (one job per series)
//   <spool>/unrouted/<SeriesUID>/<SOPUID>.dcm             acknowledged but not processed; deleted after retention
//   <spool>/errors/<time>-<random>.dcm (+ .json)          refused instances kept for inspection, with the reason
//
// Folder and file names are the UIDs themselves: the SCP refuses anything that is not a valid UID (at most 64
// digits and dots), so the mapping from UID to name is one-to-one and cannot escape the spool.
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { fsyncDir } from '../durable.js';
import { datasetOffset } from './part10.js';

const fsync = promisify(fs.fsync);
const close = promisify(fs.close);
const rename = promisify(fs.rename);
const open = promisify(fs.open);

/** The file operations a SpoolWriter uses; tests replace them to simulate a disk that fills up. */
export interface SpoolIo {
  open(path: string): Promise<number>;
  /** Returns the bytes written, which may be fewer than offered (a short write). */
  write(fd: number, buffer: Buffer): Promise<number>;
  fsync(fd: number): Promise<void>;
  size(fd: number): Promise<number>;
  close(fd: number): Promise<void>;
}

export const nodeSpoolIo: SpoolIo = {
  open: (p) => open(p, 'w', 0o640),
  write: (fd, buffer) => promisify(fs.write)(fd, buffer, 0, buffer.length, null).then((r) => r.bytesWritten),
  fsync: (fd) => fsync(fd),
  size: (fd) => promisify(fs.fstat)(fd).then((s) => s.size),
  close: (fd) => close(fd),
};

/**
 * A DICOM UID (PS3.5 9.1): 1–64 characters, components of digits separated by dots. Leading zeros in a component
 * are not conformant but real scanners send them, and they do no harm to a file name.
 */
export function isValidUid(uid: string | undefined): uid is string {
  return typeof uid === 'string' && uid.length <= 64 && /^[0-9]+(\.[0-9]+)*$/.test(uid);
}

/** Bytes of the dataset kept in memory to read its header from; the rest only goes to disk. */
const HEADER_PREFIX_BYTES = 256 * 1024;

/** A UID as a file name; only valid UIDs reach the spool's folders, anything else is replaced, never trusted. */
export function uidFileName(uid: string | undefined): string {
  if (isValidUid(uid)) return uid;
  return `invalid-${createHash('sha256').update(uid ?? '').digest('hex').slice(0, 32)}`;
}

/**
 * Streams one instance to a temporary file. It never fails the network stream: a write error (disk full,
 * spool unwritable) or a short write is remembered, the remaining bytes are dropped, and `finish()` reports it so
 * that the SCP can answer Out of Resources and keep the association alive.
 */
export class SpoolWriter extends Writable {
  private fd: number | undefined;
  private failure: Error | undefined;
  private prefixChunks: Buffer[] = [];
  private prefixLength = 0;
  private datasetLength = 0;
  /** Bytes the file must hold when every write succeeded: the meta header plus the dataset. */
  private written = 0;
  private readonly hash = createHash('sha256');
  private hex: string | undefined;

  constructor(
    readonly tempPath: string,
    private readonly metaHeader: Buffer,
    private readonly io: SpoolIo = nodeSpoolIo,
  ) {
    // A high water mark of a few PDUs keeps the network reader from waiting on every disk write.
    super({ highWaterMark: 4 * 1024 * 1024 });
  }

  /** Bytes of the dataset received so far (without the file meta header). */
  get bytes(): number {
    return this.datasetLength;
  }

  /** Length of the file meta header in front of the dataset. */
  get metaLength(): number {
    return this.metaHeader.length;
  }

  /** The first bytes of the dataset (at most HEADER_PREFIX_BYTES). */
  get prefix(): Buffer {
    return Buffer.concat(this.prefixChunks, this.prefixLength);
  }

  get error(): Error | undefined {
    return this.failure;
  }

  /** SHA-256 of the dataset as received (hex), once `finish()` resolved. */
  get digest(): string {
    this.hex ??= this.hash.digest('hex');
    return this.hex;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.io
      .open(this.tempPath)
      .then(async (fd) => {
        this.fd = fd;
        await this.writeFully(fd, this.metaHeader);
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
    const fd = this.fd;
    (async () => {
      for (const b of buffers) await this.writeFully(fd, b);
    })()
      .catch((error: Error) => this.fail(error))
      .finally(() => callback());
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  /**
   * write(2) may store fewer bytes than offered (a filling disk does exactly that before it answers ENOSPC): the
   * rest is offered again, and a write that stores nothing counts as a failure.
   */
  private async writeFully(fd: number, buffer: Buffer): Promise<void> {
    let offset = 0;
    while (offset < buffer.length) {
      const n = await this.io.write(fd, offset === 0 ? buffer : buffer.subarray(offset));
      if (!(n > 0)) throw Object.assign(new Error(`short write: ${offset} of ${buffer.length} bytes stored (disk full?)`), { code: 'ENOSPC' });
      offset += n;
      this.written += n;
    }
  }

  private account(buffers: Buffer[]): void {
    for (const b of buffers) {
      this.datasetLength += b.length;
      this.hash.update(b);
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

  /**
   * Waits for every byte to reach the file, fsyncs it and checks that the file holds exactly the meta header and
   * every dataset byte received. Resolves with the error, if any.
   */
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
        await this.io.fsync(this.fd);
        const expected = this.metaHeader.length + this.datasetLength;
        const size = await this.io.size(this.fd);
        if (this.written !== expected || size !== expected) {
          this.fail(new Error(`incomplete file: ${size} of ${expected} bytes on disk`));
        }
      } catch (error) {
        this.fail(error as Error);
      }
    } else if (this.fd === undefined) this.fail(new Error('spool file was not opened'));
    await this.closeFile();
    return this.failure;
  }

  private async closeFile(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await this.io.close(fd).catch(() => undefined);
  }

  /** Removes the temporary file (an instance that was not acknowledged). */
  async discard(): Promise<void> {
    await this.closeFile();
    await fs.promises.rm(this.tempPath, { force: true }).catch(() => undefined);
  }
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
  /** Folders already known to exist and to be durable, so that each instance costs one directory fsync. */
  private readonly knownDirs = new Set<string>();
  /** Folders with instances committed but not yet recorded in the job store. */
  private readonly busy = new Map<string, number>();

  constructor(
    readonly root: string,
    private readonly io: SpoolIo = nodeSpoolIo,
  ) {
    this.incomingDir = path.join(root, 'incoming');
    this.seriesRoot = path.join(root, 'series');
    this.unroutedRoot = path.join(root, 'unrouted');
    this.errorsRoot = path.join(root, 'errors');
  }

  /** Creates the layout and removes temporary files of instances that were never acknowledged. */
  async init(): Promise<{ removedPartial: number }> {
    for (const dir of [this.incomingDir, this.seriesRoot, this.unroutedRoot, this.errorsRoot]) await fs.promises.mkdir(dir, { recursive: true });
    let removedPartial = 0;
    for (const name of await fs.promises.readdir(this.incomingDir)) {
      await fs.promises.rm(path.join(this.incomingDir, name), { force: true, recursive: true });
      removedPartial++;
    }
    return { removedPartial };
  }

  openInstance(metaHeader: Buffer): SpoolWriter {
    return new SpoolWriter(path.join(this.incomingDir, `${randomUUID()}.part`), metaHeader, this.io);
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
   * Keeps a refused instance in the error area for inspection, with a JSON file saying why. Never throws: the
   * refusal is answered whether or not the copy could be kept. At most `maxFiles` are kept, so that a hostile
   * sender cannot fill the disk through refusals.
   */
  async keepRefused(writer: SpoolWriter, reason: Record<string, unknown>, maxFiles = 1000): Promise<string | undefined> {
    try {
      const names = await fs.promises.readdir(this.errorsRoot).catch(() => [] as string[]);
      if (names.filter((n) => n.endsWith('.dcm')).length >= maxFiles) {
        await writer.discard();
        return undefined;
      }
      const base = path.join(this.errorsRoot, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`);
      await fs.promises.mkdir(this.errorsRoot, { recursive: true });
      await rename(writer.tempPath, `${base}.dcm`);
      await fs.promises.writeFile(`${base}.json`, `${JSON.stringify({ ...reason, receivedAt: new Date().toISOString(), bytes: writer.bytes }, null, 2)}\n`);
      return `${base}.dcm`;
    } catch {
      await writer.discard();
      return undefined;
    }
  }

  /** Deletes error-area files older than `maxAgeMs`. */
  async cleanErrors(maxAgeMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await fs.promises.readdir(this.errorsRoot).catch(() => [] as string[])) {
      const file = path.join(this.errorsRoot, name);
      const stat = await fs.promises.stat(file).catch(() => undefined);
      if (stat && now - stat.mtimeMs >= maxAgeMs) {
        await fs.promises.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }

  /**
   * Whether the spool can take an instance now: writes, fsyncs and removes a probe file of `bytes` bytes, and
   * checks that at least `minFreeBytes` stay free. Resolves with the reason it cannot, or undefined.
   */
  async probeWritable(bytes = 256 * 1024, minFreeBytes = 0): Promise<string | undefined> {
    const probe = path.join(this.incomingDir, `probe-${randomUUID()}.part`);
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
