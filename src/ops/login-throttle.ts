// Limits on guessing passwords: failed logins are counted per user name and per client address in a sliding
// window, and an attempt over either limit is refused before any password is hashed. An attempt counts from the
// moment it is admitted until it succeeds, so that a burst of parallel guesses cannot all pass the check before the
// first of them has failed.

export interface LoginLimits {
  failuresPerUser: number;
  failuresPerClient: number;
  windowMs: number;
}

export interface LoginRefusal {
  by: 'user' | 'client';
  retryAfterSeconds: number;
  /** The first refusal of this lockout: worth an audit entry, the ones after it are not. */
  first: boolean;
}

export type Admission = { refused: LoginRefusal } | { refused?: undefined; succeeded(): void };

/** Past this many names and addresses, the ones with nothing in the window are forgotten. */
const PRUNE_ABOVE = 10_000;

export class LoginThrottle {
  /** Start times of the admitted attempts not known to have succeeded, by `user NAME` or `client ADDRESS`. */
  private readonly attempts = new Map<string, number[]>();
  /** Until when each refused key is locked, to audit a lockout once. */
  private readonly lockedUntil = new Map<string, number>();

  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number = Date.now,
  ) {}

  admit(client: string, name: string): Admission {
    const clientKey = `client ${client}`;
    const userKey = `user ${name}`;
    const refusal = this.refusal(clientKey, 'client', this.limits.failuresPerClient) ?? this.refusal(userKey, 'user', this.limits.failuresPerUser);
    if (refusal) return { refused: refusal };
    const at = this.now();
    for (const key of [clientKey, userKey]) this.attempts.set(key, [...this.recent(key), at]);
    this.prune();
    return {
      succeeded: () => {
        const mine = this.recent(clientKey);
        const i = mine.indexOf(at);
        if (i >= 0) mine.splice(i, 1);
        this.attempts.set(clientKey, mine);
        this.attempts.delete(userKey);
      },
    };
  }

  private recent(key: string): number[] {
    const since = this.now() - this.limits.windowMs;
    return (this.attempts.get(key) ?? []).filter((t) => t > since);
  }

  private refusal(key: string, by: LoginRefusal['by'], limit: number): LoginRefusal | undefined {
    const recent = this.recent(key);
    if (recent.length < limit) return undefined;
    // Free again when enough of the attempts in the window have aged out of it.
    const until = recent[recent.length - limit] + this.limits.windowMs;
    const first = (this.lockedUntil.get(key) ?? 0) <= this.now();
    this.lockedUntil.set(key, until);
    return { by, retryAfterSeconds: Math.max(1, Math.ceil((until - this.now()) / 1000)), first };
  }

  private prune(): void {
    if (this.attempts.size <= PRUNE_ABOVE && this.lockedUntil.size <= PRUNE_ABOVE) return;
    for (const key of this.attempts.keys()) if (this.recent(key).length === 0) this.attempts.delete(key);
    for (const [key, until] of this.lockedUntil) if (until <= this.now()) this.lockedUntil.delete(key);
  }
}
