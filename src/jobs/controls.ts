// The node's three switches an operator can pause: intake (new associations are refused as transient, so the
// sender keeps the series and tries again later), processing (queued jobs wait) and sending (a job with results
// waits before the first C-STORE). A pause survives a restart: a single node keeps it in a small file; the nodes of
// a cluster share theirs in PostgreSQL (jobs/state/postgres/pauses.ts), where a pause holds for the whole cluster or
// for one node, and a node is paused for X when the cluster or the node itself is.
//
// The answer to "is X paused?" stays synchronous, from the switches as last read: the SCP asks it for every
// association and /metrics and /health for every scrape, and neither may wait on a database. In a cluster the
// switches are read again every `pollMs` (a change on any node is seen within about a second); while the database
// cannot be read, the last known switches hold.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileDurable } from '../durable.js';
import { logger } from '../log.js';

export const PAUSABLE = ['intake', 'processing', 'sending'] as const;
export type Pausable = (typeof PAUSABLE)[number];

/** The whole cluster (or, on a single node, the node). */
export const WHOLE_CLUSTER = '';

export interface PauseState {
  paused: boolean;
  by?: string;
  at?: string;
  /** Whose pause it is: the node's name, or WHOLE_CLUSTER. */
  node?: string;
}

/** One pause in force: `node` is a node's name, or WHOLE_CLUSTER. */
export interface PauseRecord {
  what: Pausable;
  node: string;
  by?: string;
  at: string;
}

/** Where the pauses are kept. */
export interface PauseSwitches {
  list(): Promise<PauseRecord[]>;
  set(what: Pausable, node: string, paused: boolean, by?: string): Promise<void>;
}

/** A single node's pauses in a file; the node has no other scope than itself, so `node` is not kept. */
export class PauseFile implements PauseSwitches {
  /** Without a file: the pauses, kept in memory. */
  private memory: PauseRecord[] = [];

  constructor(private readonly file?: string) {}

  readSync(): PauseRecord[] {
    if (!this.file) return this.memory;
    if (!fs.existsSync(this.file)) return [];
    try {
      const saved = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<Record<Pausable, PauseState>>;
      return PAUSABLE.flatMap((what) => (saved[what]?.paused ? [{ what, node: WHOLE_CLUSTER, by: saved[what]!.by, at: saved[what]!.at ?? '' }] : []));
    } catch {
      // An unreadable file means nothing was paused for sure; running is the safe default for a clinical flow.
      return [];
    }
  }

  async list(): Promise<PauseRecord[]> {
    return this.readSync();
  }

  async set(what: Pausable, _node: string, paused: boolean, by?: string): Promise<void> {
    const state: Record<string, PauseState> = { intake: { paused: false }, processing: { paused: false }, sending: { paused: false } };
    for (const r of this.readSync()) state[r.what] = { paused: true, by: r.by, at: r.at };
    state[what] = paused ? { paused, by, at: new Date().toISOString() } : { paused: false };
    if (!this.file) {
      this.memory = PAUSABLE.flatMap((w) => (state[w].paused ? [{ what: w, node: WHOLE_CLUSTER, by: state[w].by, at: state[w].at ?? '' }] : []));
      return;
    }
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    writeFileDurable(this.file, JSON.stringify(state), { syncDir: true });
  }
}

export class NodeControls {
  private records: PauseRecord[] = [];
  private readonly switches: PauseSwitches;
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<(what: Pausable, paused: boolean) => void>();
  private timer: NodeJS.Timeout | undefined;
  private unreadable = false;

  /** A single node's switches, in `file` (none: kept in memory only). */
  constructor(file?: string);
  /** Switches shared by the nodes of a cluster, read again every `pollMs`: call refresh() once before use. */
  constructor(switches: PauseSwitches, options: { node: string; pollMs?: number });
  constructor(where?: string | PauseSwitches, private readonly options: { node: string; pollMs?: number } = { node: WHOLE_CLUSTER }) {
    if (typeof where === 'object') this.switches = where;
    else {
      const file = new PauseFile(where);
      this.records = file.readSync();
      this.switches = file;
    }
    if (options.pollMs) {
      this.timer = setInterval(() => void this.refresh(), options.pollMs);
      this.timer.unref();
    }
  }

  /** This node's name (WHOLE_CLUSTER on a single node). */
  get node(): string {
    return this.options.node;
  }

  /** Stops reading the switches again. */
  close(): void {
    clearInterval(this.timer);
  }

  /** Reads the switches again; tells the listeners what changed. */
  async refresh(): Promise<void> {
    let records: PauseRecord[];
    try {
      records = await this.switches.list();
    } catch (error) {
      if (!this.unreadable) logger('jobs').warn(`the pause switches cannot be read (${(error as Error).message}); the last known hold`);
      this.unreadable = true;
      return;
    }
    this.unreadable = false;
    const before = PAUSABLE.map((what) => this.isPaused(what));
    this.records = records;
    PAUSABLE.forEach((what, n) => {
      const paused = this.isPaused(what);
      if (paused === before[n]) return;
      for (const listener of this.listeners) listener(what, paused);
      if (!paused) for (const wake of [...this.waiters]) wake();
    });
  }

  /** The pauses in force, for every node of the cluster. */
  pauses(): PauseRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  isPaused(what: Pausable): boolean {
    return this.get(what).paused;
  }

  /** Whether `what` is paused here; the cluster's pause before the node's own. */
  get(what: Pausable): PauseState {
    const mine = this.records.filter((r) => r.what === what && (r.node === WHOLE_CLUSTER || r.node === this.options.node));
    const r = mine.find((p) => p.node === WHOLE_CLUSTER) ?? mine[0];
    return r ? { paused: true, by: r.by, at: r.at, node: r.node } : { paused: false };
  }

  /** Pauses or resumes `what` for `node` (default: where this node's pause is kept). */
  async set(what: Pausable, paused: boolean, by?: string, node: string = this.options.node): Promise<void> {
    await this.switches.set(what, node, paused, by);
    await this.refresh();
  }

  onChange(listener: (what: Pausable, paused: boolean) => void): void {
    this.listeners.add(listener);
  }

  /** Resolves when `what` is not paused; rejects if `signal` aborts first. */
  async whenRunning(what: Pausable, signal?: AbortSignal): Promise<void> {
    while (this.isPaused(what)) {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          this.waiters.delete(done);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          this.waiters.delete(done);
          reject(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
        };
        if (signal?.aborted) return onAbort();
        this.waiters.add(done);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}
