// The spool's error area: refused instances kept for inspection, each with a JSON file saying why, at most a fixed
// number of them, and deleted after the retention time.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { SpoolWriter } from './spool-writer.js';

export class ErrorArea {
  constructor(readonly root: string) {}

  /**
   * Keeps a refused instance in the error area for inspection, with a JSON file saying why. Never throws: the
   * refusal is answered whether or not the copy could be kept. At most `maxFiles` are kept, so that a hostile
   * sender cannot fill the disk through refusals.
   */
  async keep(writer: SpoolWriter, reason: Record<string, unknown>, maxFiles = 1000): Promise<string | undefined> {
    try {
      const names = await fs.promises.readdir(this.root).catch(() => [] as string[]);
      if (names.filter((n) => n.endsWith('.dcm')).length >= maxFiles) {
        await writer.discard();
        return undefined;
      }
      const base = path.join(this.root, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`);
      await fs.promises.mkdir(this.root, { recursive: true });
      await fs.promises.rename(writer.tempPath, `${base}.dcm`);
      await fs.promises.writeFile(`${base}.json`, `${JSON.stringify({ ...reason, receivedAt: new Date().toISOString(), bytes: writer.bytes }, null, 2)}\n`);
      return `${base}.dcm`;
    } catch {
      await writer.discard();
      return undefined;
    }
  }

  /** Deletes error-area files older than `maxAgeMs`. */
  async clean(maxAgeMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await fs.promises.readdir(this.root).catch(() => [] as string[])) {
      const file = path.join(this.root, name);
      const stat = await fs.promises.stat(file).catch(() => undefined);
      if (stat && now - stat.mtimeMs >= maxAgeMs) {
        await fs.promises.rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }
}
