// How each archive has answered lately, as the operations page, /health and /metrics show it: the last success,
// the last failure and its reason, failures in a row, since when it has been failing, and the objects waiting for
// it. Kept in memory and fed by every delivery round; after a restart the ledger's newest confirmation gives the
// last success.
export interface DestinationStatus {
  /** AE@host:port */
  key: string;
  lastSuccessAt?: number;
  lastFailureAt?: number;
  lastError?: string;
  /** Delivery rounds in a row that stored nothing and failed at least one object. */
  consecutiveFailures: number;
  /** The first failure since the last success; undefined while it works. */
  failingSince?: number;
  objectsWaiting: number;
}

export class DestinationHealth {
  private readonly statuses = new Map<string, DestinationStatus>();
  private readonly waiting = new Map<string, Map<symbol, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  private status(key: string): DestinationStatus {
    let status = this.statuses.get(key);
    if (!status) {
      status = { key, consecutiveFailures: 0, objectsWaiting: 0 };
      this.statuses.set(key, status);
    }
    return status;
  }

  /** Known destinations are listed even before their first delivery. */
  declare(key: string, lastSuccessAt?: number): void {
    const status = this.status(key);
    if (lastSuccessAt !== undefined && (status.lastSuccessAt ?? 0) < lastSuccessAt) status.lastSuccessAt = lastSuccessAt;
  }

  /** The outcome of one delivery round: objects the archive stored and those it did not (with the reason). */
  round(key: string, stored: number, failed: number, error?: string): void {
    const status = this.status(key);
    const at = this.now();
    if (stored > 0) {
      status.lastSuccessAt = at;
      status.consecutiveFailures = 0;
      status.failingSince = undefined;
    }
    if (failed > 0) {
      status.lastFailureAt = at;
      status.lastError = error;
      if (stored === 0) {
        status.consecutiveFailures++;
        status.failingSince ??= at;
      }
    }
  }

  /** A delivery under way: `set(n)` says how many of its objects still wait; `done()` when it ends either way. */
  delivery(key: string): { set(n: number): void; done(): void } {
    const id = Symbol(key);
    const mine = this.waiting.get(key) ?? new Map<symbol, number>();
    this.waiting.set(key, mine);
    return { set: (n) => void mine.set(id, n), done: () => void mine.delete(id) };
  }

  /** Destinations failing for at least `forMs`. */
  failing(forMs: number): DestinationStatus[] {
    const now = this.now();
    return this.snapshot().filter((s) => s.failingSince !== undefined && now - s.failingSince >= forMs);
  }

  snapshot(): DestinationStatus[] {
    return [...this.statuses.values()].map((s) => ({
      ...s,
      objectsWaiting: [...(this.waiting.get(s.key)?.values() ?? [])].reduce((a, b) => a + b, 0),
    }));
  }
}
