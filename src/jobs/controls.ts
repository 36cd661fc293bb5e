// The node's three switches an operator can pause: intake (new associations are refused as transient, so the
// sender keeps the series and tries again later), processing (queued jobs wait) and sending (a job with results
// waits before the first C-STORE). Kept in a small file so that a pause survives a restart.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileDurable } from '../durable.js';

export const PAUSABLE = ['intake', 'processing', 'sending'] as const;
export type Pausable = (typeof PAUSABLE)[number];

export interface PauseState {
  paused: boolean;
  by?: string;
  at?: string;
}

export class NodeControls {
  private state: Record<Pausable, PauseState>;
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<(what: Pausable, paused: boolean) => void>();

  constructor(private readonly file?: string) {
    this.state = { intake: { paused: false }, processing: { paused: false }, sending: { paused: false } };
    if (file && fs.existsSync(file)) {
      try {
        const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Record<Pausable, PauseState>>;
        for (const what of PAUSABLE) if (saved[what]?.paused) this.state[what] = saved[what]!;
      } catch {
        // An unreadable file means nothing was paused for sure; running is the safe default for a clinical flow.
      }
    }
  }

  isPaused(what: Pausable): boolean {
    return this.state[what].paused;
  }

  get(what: Pausable): PauseState {
    return { ...this.state[what] };
  }

  set(what: Pausable, paused: boolean, by?: string): void {
    this.state[what] = paused ? { paused, by, at: new Date().toISOString() } : { paused: false };
    if (this.file) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      writeFileDurable(this.file, JSON.stringify(this.state), { syncDir: true });
    }
    for (const listener of this.listeners) listener(what, paused);
    if (!paused) for (const wake of [...this.waiters]) wake();
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
