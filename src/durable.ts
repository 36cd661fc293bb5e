// Writes that survive a crash or a power cut: the data goes to a temporary name, is fsynced, and is renamed over
// the target, so a reader sees the old file or the whole new one, never a part; the folder is fsynced so that the
// new name itself is durable. The one place for this (spool, job results, send ledger, pause switches).
import fs from 'node:fs';
import path from 'node:path';

/** fsync of a folder: makes the names created or renamed in it durable. */
export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsyncDirSync without blocking the event loop (the spool, on the thread that answers C-STORE). */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `file` through a fsynced temporary file renamed over it. `syncDir` also fsyncs the folder
 * (leave it off when writing several files into one folder, and fsync the folder once after the last).
 */
export function writeFileDurable(file: string, data: Uint8Array | string, options: { syncDir?: boolean } = {}): void {
  const temp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  if (options.syncDir) fsyncDirSync(path.dirname(file));
}
