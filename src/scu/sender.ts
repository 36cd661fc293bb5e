// Delivery of a set of objects to one archive, for sure or with a clear reason: objects the ledger already lists
// are skipped; the rest are sent; those refused for a transient reason (archive down, busy, out of resources) are
// sent again after an exponentially growing wait, for as long as the policy allows (hours by default: an archive
// outage is routine, not a failure); a permanent refusal ends delivery at once. Objects marked `last` (the SEG)
// are sent only once the archive holds every other object, so that it never references images the archive lacks.
// The error names the archive's status, the UIDs concerned, and how much of the set the archive holds.
import type { Destination } from '../../config/sections/results.js';
import type { Logger } from '../log.js';
import type { DestinationHealth } from './destination-health.js';
import { type DeliveryLedger, destinationKey } from './ledger.js';
import { type StoreItem, type StoreOptions, type StoreOutcome, storeOverAssociation } from './store.js';

export interface RetryPolicy {
  /** Attempts before giving up; 0: no limit (only `giveUpAfterMs`). */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Time after the first attempt when delivery gives up; 0 or absent: no limit (only `maxAttempts`). */
  giveUpAfterMs?: number;
}

export interface SendItem extends StoreItem {
  /** What the object is, for messages ("skull-stripped series", "SEG"). */
  label: string;
  /** Sent only after every object without it is stored (the SEG, which references the images). */
  last?: boolean;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly destination: string,
    readonly sopInstanceUid: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
    /** Objects of the set the archive holds (confirmed) when delivery ended, and the set's size. */
    readonly delivered = 0,
    readonly total = 0,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** Waits `ms`, or less if `signal` aborts (then rejects). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('sending was cancelled (node shutting down)'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('sending was cancelled (node shutting down)'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function backoffDelay(policy: RetryPolicy, failedAttempts: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, failedAttempts - 1));
}

export interface DeliveryDeps {
  ledger: DeliveryLedger;
  /** Associations opened at once, each carrying a share of the objects (at least 1). */
  associations?: number;
  policy: RetryPolicy;
  store: StoreOptions;
  log: Logger;
  /** Told how each round went and how many objects wait (the operations page, /health, /metrics). */
  health?: DestinationHealth;
  /** Called before each attempt (e.g. to show "sending to ARCHIVE, attempt 2/6" on the job). */
  onAttempt?: (attempt: number, pending: number) => void;
}

/** Resolves when every item is in the ledger for `destination`; throws a DeliveryError otherwise. */
export async function deliver(destination: Destination, items: SendItem[], deps: DeliveryDeps): Promise<void> {
  const key = destinationKey(destination);
  const waiting = deps.health?.delivery(key);
  try {
    await deliverRounds(destination, items, deps, waiting);
  } finally {
    waiting?.done();
  }
}

/** How long a call to the ledger is tried again, once a second, while it cannot be reached. */
const LEDGER_ATTEMPTS = 60;

/**
 * A call to the ledger, tried again while it cannot be reached (a cluster's database restarting): a confirmation
 * left unrecorded would send the object again, and giving up at once would fail the job.
 */
async function withLedger<T>(deps: DeliveryDeps, what: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= LEDGER_ATTEMPTS || deps.store.signal?.aborted) throw error;
      if (attempt === 1) deps.log.warn(`the ledger cannot ${what} (${(error as Error).message}); trying again every second`);
      await sleep(1000, deps.store.signal);
    }
  }
}

async function deliverRounds(destination: Destination, items: SendItem[], deps: DeliveryDeps, waiting?: { set(n: number): void }): Promise<void> {
  const key = destinationKey(destination);
  const started = Date.now();
  const giveUpAt = deps.policy.giveUpAfterMs ? started + deps.policy.giveUpAfterMs : Infinity;
  const confirmed = () => withLedger(deps, 'be read', () => deps.ledger.confirmed(destination, items.map((item) => item.sopInstanceUid)));
  /** How much of the set the archive holds, in words and as a count. */
  const partly = async () => {
    const held = await confirmed();
    const n = held.size;
    const seg = items.filter((i) => i.last && !held.has(i.sopInstanceUid)).map((i) => i.label);
    const words = n === 0 ? 'nothing delivered' : `partial delivery: ${n} of ${items.length} objects stored${seg.length ? ` (${[...new Set(seg)].join(', ')} not sent)` : ''}`;
    return { words, n };
  };
  let last: StoreOutcome | undefined;
  // `attempt` counts rounds that failed (plus the one under way): sending the SEG after the images is no retry.
  for (let attempt = 1; ; ) {
    const held = await confirmed();
    const missing = items.filter((item) => !held.has(item.sopInstanceUid));
    waiting?.set(missing.length);
    if (missing.length === 0) return;
    const first = missing.filter((item) => !item.last);
    const pending = first.length > 0 ? first : missing;
    deps.onAttempt?.(attempt, missing.length);
    const outcomes = await storeOverAssociations(destination, pending, deps.associations ?? 1, deps.store);
    let permanent: (StoreOutcome & { stored: false }) | undefined;
    let failed = 0;
    const refusals = new Map<string, SendItem[]>();
    // The archive's confirmations of this round, made durable together.
    const stores = outcomes.flatMap((o) => (o.stored ? [{ sopInstanceUid: o.item.sopInstanceUid, status: o.status, description: o.description }] : []));
    await withLedger(deps, `record ${stores.length} confirmation(s)`, () => deps.ledger.recordMany(destination, stores));
    const storedNow = outcomes.filter((o) => o.stored).length;
    deps.health?.round(key, storedNow, outcomes.length - storedNow, outcomes.find((o) => !o.stored)?.description);
    // A shutdown ends the delivery here, before a refusal is reported or a retry announced that would never come:
    // the job resumes sending at the next start.
    if (deps.store.signal?.aborted) throw new Error('sending was cancelled (node shutting down)');
    for (const outcome of outcomes) {
      const item = outcome.item as SendItem;
      if (outcome.stored) {
        if (outcome.status !== 0) deps.log.warn(`${key} stored ${item.label} ${item.sopInstanceUid} with ${outcome.description}`, { sopInstanceUid: item.sopInstanceUid });
        continue;
      }
      failed++;
      last = outcome;
      if (!outcome.retryable) permanent ??= outcome;
      refusals.set(outcome.description, [...(refusals.get(outcome.description) ?? []), item]);
    }
    // One line per reason: an unreachable archive fails every object the same way, attempt after attempt for hours.
    for (const [description, refused] of refusals) {
      const first = refused[0];
      deps.log.warn(
        refused.length === 1
          ? `${key} did not store ${first.label} ${first.sopInstanceUid}: ${description}`
          : `${key} did not store ${refused.length} objects (first: ${first.label} ${first.sopInstanceUid}): ${description}`,
        { sopInstanceUid: first.sopInstanceUid, attempt },
      );
    }
    if (permanent) {
      const item = permanent.item as SendItem;
      const part = await partly();
      throw new DeliveryError(
        `${destination.aeTitle} refused ${item.label} ${item.sopInstanceUid}: ${permanent.description}; ${part.words}`,
        key,
        item.sopInstanceUid,
        permanent.status,
        false,
        part.n,
        items.length,
      );
    }
    if (failed === 0) continue; // the next round sends what waited (the SEG) or confirms the ledger holds everything
    const delay = backoffDelay(deps.policy, attempt);
    const outOfAttempts = deps.policy.maxAttempts > 0 && attempt >= deps.policy.maxAttempts;
    if (outOfAttempts || Date.now() + delay > giveUpAt) {
      const item = last!.item as SendItem;
      const why = outOfAttempts ? `after ${attempt} attempts` : `after ${attempt} attempts over ${formatDuration(Date.now() - started)}`;
      const part = await partly();
      throw new DeliveryError(
        `${destination.aeTitle} did not store ${failed} object(s) ${why}; last: ${item.label} ${item.sopInstanceUid}: ${last!.description}; ${part.words}`,
        key,
        item.sopInstanceUid,
        last!.status,
        true,
        part.n,
        items.length,
      );
    }
    deps.log.info(`${key}: ${failed} object(s) not stored, attempt ${attempt}${deps.policy.maxAttempts > 0 ? `/${deps.policy.maxAttempts}` : ''}; retrying in ${delay} ms`);
    await sleep(delay, deps.store.signal);
    attempt++;
  }
}

/** `items` split over up to `count` associations opened at once (interleaved, so each carries a spread of the set). */
async function storeOverAssociations(destination: Destination, items: SendItem[], count: number, options: StoreOptions): Promise<StoreOutcome[]> {
  const n = Math.max(1, Math.min(count, Math.ceil(items.length / 8)));
  if (n === 1) return storeOverAssociation(destination, items, options);
  const shares = Array.from({ length: n }, (_, a) => items.filter((_, i) => i % n === a));
  return (await Promise.all(shares.map((share) => storeOverAssociation(destination, share, options)))).flat();
}

function formatDuration(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
