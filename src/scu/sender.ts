// Delivery of a set of objects to one archive, for sure or with a clear reason: objects the ledger already lists
// are skipped; the rest are sent; those refused for a transient reason (archive down, busy, out of resources)
// are sent again after an exponentially growing wait, up to the configured number of attempts; a permanent
// refusal ends delivery at once. The error names the archive's status and the UIDs concerned.
import type { Destination } from '../../config/sections/results.js';
import type { Logger } from '../log.js';
import { type StoredLedger, destinationKey } from './ledger.js';
import { type StoreItem, type StoreOptions, type StoreOutcome, storeOverAssociation } from './store.js';

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface SendItem extends StoreItem {
  /** What the object is, for messages ("skull-stripped series", "SEG"). */
  label: string;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly destination: string,
    readonly sopInstanceUid: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
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
  ledger: StoredLedger;
  policy: RetryPolicy;
  store: StoreOptions;
  log: Logger;
  /** Called before each attempt (e.g. to show "sending to ARCHIVE, attempt 2/6" on the job). */
  onAttempt?: (attempt: number, pending: number) => void;
}

/** Resolves when every item is in the ledger for `destination`; throws a DeliveryError otherwise. */
export async function deliver(destination: Destination, items: SendItem[], deps: DeliveryDeps): Promise<void> {
  const key = destinationKey(destination);
  let last: StoreOutcome | undefined;
  for (let attempt = 1; ; attempt++) {
    const pending = items.filter((item) => !deps.ledger.has(destination, item.sopInstanceUid));
    if (pending.length === 0) return;
    deps.onAttempt?.(attempt, pending.length);
    const outcomes = await storeOverAssociation(destination, pending, deps.store);
    let permanent: (StoreOutcome & { stored: false }) | undefined;
    let failed = 0;
    for (const outcome of outcomes) {
      const item = outcome.item as SendItem;
      if (outcome.stored) {
        deps.ledger.record(destination, item.sopInstanceUid, outcome.status, outcome.description);
        if (outcome.status !== 0) deps.log.warn(`${key} stored ${item.label} ${item.sopInstanceUid} with ${outcome.description}`, { sopInstanceUid: item.sopInstanceUid });
        continue;
      }
      failed++;
      last = outcome;
      if (!outcome.retryable) permanent ??= outcome;
      deps.log.warn(`${key} did not store ${item.label} ${item.sopInstanceUid}: ${outcome.description}`, { sopInstanceUid: item.sopInstanceUid, attempt });
    }
    if (permanent) {
      const item = permanent.item as SendItem;
      throw new DeliveryError(
        `${destination.aeTitle} refused ${item.label} ${item.sopInstanceUid}: ${permanent.description}`,
        key,
        item.sopInstanceUid,
        permanent.status,
        false,
      );
    }
    if (failed === 0) continue; // loop once more to confirm the ledger holds everything
    if (attempt >= deps.policy.maxAttempts) {
      const item = last!.item as SendItem;
      throw new DeliveryError(
        `${destination.aeTitle} did not store ${failed} object(s) after ${attempt} attempts; last: ${item.label} ${item.sopInstanceUid}: ${last!.description}`,
        key,
        item.sopInstanceUid,
        last!.status,
        true,
      );
    }
    const delay = backoffDelay(deps.policy, attempt);
    deps.log.info(`${key}: ${failed} object(s) not stored, attempt ${attempt}/${deps.policy.maxAttempts}; retrying in ${delay} ms`);
    await sleep(delay, deps.store.signal);
  }
}
