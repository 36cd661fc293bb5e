// The write path of the spool: one instance streamed to a temporary file, its first bytes kept in memory for the
// header, its dataset hashed on the way, fsynced and checked for its full size before it may be committed.
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';

const fsync = promisify(fs.fsync);
const close = promisify(fs.close);
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

/** Bytes of the dataset kept in memory to read its header from; the rest only goes to disk. */
const HEADER_PREFIX_BYTES = 256 * 1024;

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
