// The durable record of what each archive has confirmed storing. An object is written here only after a
// C-STORE Success (or Warning) response, and the sender consults it before every send, so a restart or a re-run
// of the same job never sends again what an archive already holds, and nothing is reported sent that was not.
// A single node keeps it in files (below); a cluster in PostgreSQL (jobs/state/postgres/ledger.ts), shared by every
// node that sends. The interface is asynchronous for the database; the sender asks about a batch at once.
// In files: per destination, one append-only journal of JSON lines: the confirmations of one association are
// appended and fsynced together (one fsync per batch, not one per object). Records of older nodes (one file per
// object in the same folder) are still read.
import fs from 'node:fs';
import path from 'node:path';
import type { Destination } from '../../config/sections/results.js';
import { fsyncDirSync } from '../durable.js';

export interface StoredRecord {
  sopInstanceUid: string;
  destination: string;
  status: number;
  description: string;
  storedAt: string;
}

export interface ConfirmedStore {
  sopInstanceUid: string;
  status: number;
  description: string;
}

export interface DeliveryLedger {
  /** The confirmed stores at `d` among `sopInstanceUids`, by SOP Instance UID. */
  confirmed(d: Destination, sopInstanceUids: readonly string[]): Promise<Map<string, StoredRecord>>;
  /** The most recent confirmed store at `d`, if any. */
  latest(d: Destination): Promise<StoredRecord | undefined>;
  /** Records confirmed stores together, durable when the promise resolves. */
  recordMany(d: Destination, stores: readonly ConfirmedStore[]): Promise<void>;
  /** Forgets confirmed stores, so that the objects are sent again (an operator's re-send); how many there were. */
  forget(d: Destination, sopInstanceUids: readonly string[]): Promise<number>;
}

/** One journal line: a confirmed store, or an operator's "send it again". */
type JournalLine = StoredRecord | { forget: string; at: string };

export function destinationKey(d: Destination): string {
  return `${d.aeTitle.trim()}@${d.host}:${d.port}`;
}

const JOURNAL = 'stored.jsonl';

export function checkUid(sopInstanceUid: string): void {
  if (!/^[0-9.]+$/.test(sopInstanceUid)) throw new Error(`'${sopInstanceUid}' is not a SOP Instance UID`);
}

interface JournalView {
  size: number;
  mtimeMs: number;
  records: Map<string, StoredRecord>;
  latest?: StoredRecord;
}

export class StoredLedger implements DeliveryLedger {
  /** The journal as last read, per destination folder; read again when the file changed (another process wrote). */
  private readonly views = new Map<string, JournalView>();

  constructor(private readonly root: string) {}

  private folder(d: Destination): string {
    return path.join(this.root, destinationKey(d).replace(/[^A-Za-z0-9_.@-]/g, '_'));
  }

  private view(d: Destination): JournalView {
    return this.viewOf(this.folder(d));
  }

  private viewOf(folder: string): JournalView {
    const file = path.join(folder, JOURNAL);
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(file);
    } catch {
      stat = undefined;
    }
    const known = this.views.get(folder);
    if (known && known.size === (stat?.size ?? 0) && known.mtimeMs === (stat?.mtimeMs ?? 0)) return known;
    const records = new Map<string, StoredRecord>();
    let latest: StoredRecord | undefined;
    if (stat) {
      // A line cut short by a crash (the last one) is ignored: it was never confirmed as written.
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (!line) continue;
        let entry: JournalLine;
        try {
          entry = JSON.parse(line) as JournalLine;
        } catch {
          continue;
        }
        if ('forget' in entry) records.delete(entry.forget);
        else {
          records.set(entry.sopInstanceUid, entry);
          latest = entry;
        }
      }
    }
    const view = { size: stat?.size ?? 0, mtimeMs: stat?.mtimeMs ?? 0, records, latest };
    this.views.set(folder, view);
    return view;
  }

  /** A record of an older node: one file per object. */
  private legacy(d: Destination, sopInstanceUid: string): StoredRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.folder(d), sopInstanceUid), 'utf8')) as StoredRecord;
    } catch {
      return undefined;
    }
  }

  private get(d: Destination, sopInstanceUid: string): StoredRecord | undefined {
    return this.view(d).records.get(sopInstanceUid) ?? (/^[0-9.]+$/.test(sopInstanceUid) ? this.legacy(d, sopInstanceUid) : undefined);
  }

  async confirmed(d: Destination, sopInstanceUids: readonly string[]): Promise<Map<string, StoredRecord>> {
    const found = new Map<string, StoredRecord>();
    for (const uid of sopInstanceUids) {
      const record = this.get(d, uid);
      if (record) found.set(uid, record);
    }
    return found;
  }

  async forget(d: Destination, sopInstanceUids: readonly string[]): Promise<number> {
    for (const uid of sopInstanceUids) checkUid(uid);
    const known = await this.confirmed(d, sopInstanceUids);
    for (const uid of sopInstanceUids) fs.rmSync(path.join(this.folder(d), uid), { force: true });
    const journaled = sopInstanceUids.filter((uid) => this.view(d).records.has(uid));
    const at = new Date().toISOString();
    if (journaled.length > 0) this.append(d, journaled.map((uid) => ({ forget: uid, at })));
    return known.size;
  }

  /** Every confirmed store of every destination (to move a node's ledger into a cluster's). */
  all(): StoredRecord[] {
    const folders = fs.existsSync(this.root) ? fs.readdirSync(this.root, { withFileTypes: true }).filter((e) => e.isDirectory()) : [];
    return folders.flatMap((entry) => {
      const folder = path.join(this.root, entry.name);
      const records = new Map(this.viewOf(folder).records);
      // Records of older nodes: one file per object, removed when forgotten.
      for (const name of fs.readdirSync(folder).filter((n) => /^[0-9.]+$/.test(n) && !records.has(n))) {
        try {
          records.set(name, JSON.parse(fs.readFileSync(path.join(folder, name), 'utf8')) as StoredRecord);
        } catch {
          // An unreadable record was never a confirmation that can be relied on.
        }
      }
      return [...records.values()];
    });
  }

  async latest(d: Destination): Promise<StoredRecord | undefined> {
    return this.view(d).latest;
  }

  /** Appended to the journal and fsynced once before resolving. */
  async recordMany(d: Destination, stores: readonly ConfirmedStore[]): Promise<void> {
    if (stores.length === 0) return;
    for (const s of stores) checkUid(s.sopInstanceUid);
    const at = new Date().toISOString();
    this.append(
      d,
      stores.map((s) => ({ sopInstanceUid: s.sopInstanceUid, destination: destinationKey(d), status: s.status, description: s.description, storedAt: at })),
    );
  }

  private append(d: Destination, lines: JournalLine[]): void {
    const folder = this.folder(d);
    const file = path.join(folder, JOURNAL);
    const created = !fs.existsSync(file);
    fs.mkdirSync(folder, { recursive: true });
    const fd = fs.openSync(file, 'a+');
    try {
      // After a line cut short by a crash, start on a new line so that this batch is read whole.
      const size = fs.fstatSync(fd).size;
      const last = Buffer.alloc(1);
      const broken = size > 0 && fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
      fs.writeSync(fd, (broken ? '\n' : '') + lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    // A new journal's name must survive a crash too.
    if (created) fsyncDirSync(folder);
  }
}
