// The durable record of what each archive has confirmed storing. An object is written here only after a
// C-STORE Success (or Warning) response, and the sender consults it before every send, so a restart or a re-run
// of the same job never sends again what an archive already holds, and nothing is reported sent that was not.
import fs from 'node:fs';
import path from 'node:path';
import type { Destination } from '../../config/sections/results.js';
import { writeFileDurable } from '../durable.js';

export interface StoredRecord {
  sopInstanceUid: string;
  destination: string;
  status: number;
  description: string;
  storedAt: string;
}

export function destinationKey(d: Destination): string {
  return `${d.aeTitle.trim()}@${d.host}:${d.port}`;
}

export class StoredLedger {
  constructor(private readonly root: string) {}

  private folder(d: Destination): string {
    return path.join(this.root, destinationKey(d).replace(/[^A-Za-z0-9_.@-]/g, '_'));
  }

  has(d: Destination, sopInstanceUid: string): boolean {
    return fs.existsSync(path.join(this.folder(d), sopInstanceUid));
  }

  get(d: Destination, sopInstanceUid: string): StoredRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.folder(d), sopInstanceUid), 'utf8')) as StoredRecord;
    } catch {
      return undefined;
    }
  }

  /** Forgets a confirmed store, so that the object is sent again (an operator's re-send). */
  forget(d: Destination, sopInstanceUid: string): void {
    if (!/^[0-9.]+$/.test(sopInstanceUid)) throw new Error(`'${sopInstanceUid}' is not a SOP Instance UID`);
    fs.rmSync(path.join(this.folder(d), sopInstanceUid), { force: true });
  }

  /** The most recent confirmed store at `d`, if any. */
  latest(d: Destination): StoredRecord | undefined {
    const folder = this.folder(d);
    let newest: { name: string; mtime: number } | undefined;
    try {
      for (const name of fs.readdirSync(folder)) {
        if (name.endsWith('.tmp')) continue;
        const mtime = fs.statSync(path.join(folder, name)).mtimeMs;
        if (!newest || mtime > newest.mtime) newest = { name, mtime };
      }
    } catch {
      return undefined;
    }
    return newest && this.get(d, newest.name);
  }

  /** Records a confirmed store: written to a temporary name, fsynced, renamed, and the folder fsynced. */
  record(d: Destination, sopInstanceUid: string, status: number, description: string): void {
    if (!/^[0-9.]+$/.test(sopInstanceUid)) throw new Error(`'${sopInstanceUid}' is not a SOP Instance UID`);
    const folder = this.folder(d);
    fs.mkdirSync(folder, { recursive: true });
    const record: StoredRecord = { sopInstanceUid, destination: destinationKey(d), status, description, storedAt: new Date().toISOString() };
    writeFileDurable(path.join(folder, sopInstanceUid), JSON.stringify(record), { syncDir: true });
  }
}
