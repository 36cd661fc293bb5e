// What makes a ready node one that someone should look at: an archive that has stored nothing for longer than
// ops.destinationFailingSeconds, an operator's pause, a spool running out of room. /health reports these as
// `degraded` (the node stays ready and receives), the overview page shows them, and /metrics carries the figures
// that alert rules (docs/monitoring) watch.
import fs from 'node:fs';
import { PAUSABLE, type NodeControls } from '../jobs/controls.js';
import type { MetricsRegistry } from '../metrics.js';
import type { DestinationHealth } from '../scu/destination-health.js';

export interface NodeHealthDeps {
  controls: NodeControls;
  destinations: DestinationHealth;
  spoolRoot: string;
  failingAfterMs: number;
  spoolWarnFreeBytes: number;
}

/** Free bytes for the spool's file system (for an unprivileged process), or undefined when it cannot be read. */
export function freeBytes(dir: string): number | undefined {
  try {
    const stats = fs.statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

export function degradedReasons(deps: NodeHealthDeps): string[] {
  const reasons: string[] = [];
  for (const d of deps.destinations.failing(deps.failingAfterMs)) {
    reasons.push(
      `archive ${d.key} has stored nothing since ${new Date(d.failingSince!).toISOString()} (${d.consecutiveFailures} attempt(s), ` +
        `${d.objectsWaiting} object(s) waiting): ${d.lastError ?? 'no answer'}`,
    );
  }
  for (const what of PAUSABLE) {
    const state = deps.controls.get(what);
    if (state.paused) reasons.push(`${what} is paused (by ${state.by ?? 'an operator'} since ${state.at ?? '?'})`);
  }
  const free = freeBytes(deps.spoolRoot);
  if (free !== undefined && free < deps.spoolWarnFreeBytes) {
    reasons.push(`the spool has ${Math.round(free / 1048576)} MB free (warning below ${Math.round(deps.spoolWarnFreeBytes / 1048576)} MB)`);
  }
  return reasons;
}

/** Registers the figures on `metrics`; returns what stops the refresh of the review counts. */
export function registerHealthMetrics(metrics: MetricsRegistry, deps: NodeHealthDeps & { reviewCounts(): Promise<{ flagged: number; held: number }> }): () => void {
  let review = { flagged: 0, held: 0 };
  const refresh = () => void deps.reviewCounts().then((r) => (review = r), () => undefined);
  refresh();
  // The store answers asynchronously and a scrape wants an answer now: the counts are refreshed every few seconds.
  const timer = setInterval(refresh, 5000);
  timer.unref();
  metrics.gauge('brainstrip_jobs_flagged_for_review', 'Jobs whose brain mask the quality check flagged for review', () => review.flagged);
  metrics.gauge('brainstrip_jobs_held_for_review', 'Jobs whose flagged results wait for a person to release them', () => review.held);
  const perDestination = (name: string, help: string, value: (s: ReturnType<DestinationHealth['snapshot']>[number]) => number | undefined) =>
    metrics.gauge(
      name,
      help,
      () => deps.destinations.snapshot().flatMap((s) => (value(s) === undefined ? [] : [[{ destination: s.key }, value(s)!] as [Record<string, string>, number]])),
      ['destination'],
    );
  perDestination('brainstrip_destination_last_success_timestamp_seconds', 'When the archive last stored an object (Unix time)', (s) => s.lastSuccessAt && s.lastSuccessAt / 1000);
  perDestination('brainstrip_destination_last_failure_timestamp_seconds', 'When the archive last failed to store an object (Unix time)', (s) => s.lastFailureAt && s.lastFailureAt / 1000);
  perDestination('brainstrip_destination_consecutive_failures', 'Delivery rounds in a row in which the archive stored nothing', (s) => s.consecutiveFailures);
  perDestination('brainstrip_destination_objects_waiting', 'Objects waiting to be stored by the archive', (s) => s.objectsWaiting);
  perDestination('brainstrip_destination_failing', `1 while the archive has stored nothing for longer than the configured time`, (s) =>
    deps.destinations.failing(deps.failingAfterMs).some((f) => f.key === s.key) ? 1 : 0,
  );
  metrics.gauge('brainstrip_spool_free_bytes', 'Free bytes on the spool file system', () => freeBytes(deps.spoolRoot) ?? 0);
  metrics.gauge('brainstrip_paused', '1 while an operator has paused intake, processing or sending', () => PAUSABLE.map((what) => [{ what }, deps.controls.isPaused(what) ? 1 : 0]), ['what']);
  return () => clearInterval(timer);
}
