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
export async function cleanSpool(config: HousekeepingConfig, deps: { spool: Spool; store: JobStore; log: Logger }): Promise<void> {
  const { spool, store, log } = deps;
  const retentionMs = config.receive.unroutedRetentionHours * 3600_000;
  void spool.cleanUnrouted(retentionMs).catch((e: Error) => log.warn(`cleanup: ${e.message}`));
  void spool.errors.clean(retentionMs).catch((e: Error) => log.warn(`cleanup: ${e.message}`));
  if (config.jobs.keepFinishedDays > 0) {
    try {
      // An instance stored while the store answers makes its series' folder stay (the answer may predate its job).
      const mark = spool.activityMark();
      for (const job of await store.finishedBefore(new Date(Date.now() - config.jobs.keepFinishedDays * 86400_000))) {
        if (spool.removeSeriesIfIdle(job.studyInstanceUid, job.seriesInstanceUid, mark)) {
          await store.forgetSeriesInstances(job.seriesInstanceUid);
          log.info('spooled series removed after retention', { jobId: job.id, seriesInstanceUid: job.seriesInstanceUid });
        }
      }
    } catch (error) {
      log.warn(`cleanup: ${(error as Error).message}`);
    }
  }
}

/** Runs cleanSpool every hour (more often when the retention is shorter, at most every second). */
export function startHousekeeping(config: HousekeepingConfig, deps: { spool: Spool; store: JobStore; log: Logger }): { stop(): void } {
  const every = Math.min(3600_000, Math.max(1000, config.receive.unroutedRetentionHours * 3600_000));
  const timer = setInterval(() => void cleanSpool(config, deps), every);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
