// Retention in the spool, run periodically by the node: acknowledged but unrouted instances and refused ones after
// receive.unroutedRetentionHours, and the spooled series of jobs done more than jobs.keepFinishedDays ago.
import type { JobStore } from '../jobs/state/store.js';
import type { Logger } from '../log.js';
import type { Spool } from './spool.js';

export interface HousekeepingConfig {
  receive: { unroutedRetentionHours: number };
  jobs: { keepFinishedDays: number };
}

/** One round of clean-up; errors are logged, never thrown. */
export function cleanSpool(config: HousekeepingConfig, deps: { spool: Spool; store: JobStore; log: Logger }): void {
  const { spool, store, log } = deps;
  const retentionMs = config.receive.unroutedRetentionHours * 3600_000;
  void spool.cleanUnrouted(retentionMs).catch((e: Error) => log.warn(`cleanup: ${e.message}`));
  void spool.errors.clean(retentionMs).catch((e: Error) => log.warn(`cleanup: ${e.message}`));
  if (config.jobs.keepFinishedDays > 0) {
    // Check and removal in one synchronous step: no instance of the series can arrive in between.
    for (const job of store.finishedBefore(new Date(Date.now() - config.jobs.keepFinishedDays * 86400_000))) {
      if (spool.removeSeriesIfIdle(job.studyInstanceUid, job.seriesInstanceUid)) {
        store.forgetSeriesInstances(job.seriesInstanceUid);
        log.info('spooled series removed after retention', { jobId: job.id, seriesInstanceUid: job.seriesInstanceUid });
      }
    }
  }
}

/** Runs cleanSpool every hour (more often when the retention is shorter, at most every second). */
export function startHousekeeping(config: HousekeepingConfig, deps: { spool: Spool; store: JobStore; log: Logger }): { stop(): void } {
  const every = Math.min(3600_000, Math.max(1000, config.receive.unroutedRetentionHours * 3600_000));
  const timer = setInterval(() => cleanSpool(config, deps), every);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
