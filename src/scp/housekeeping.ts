// Retention, run periodically by the node: acknowledged but unrouted instances and refused ones after
// receive.unroutedRetentionHours; the spooled series of jobs done more than jobs.keepFinishedDays ago; the derived
// images of delivered jobs after retention.resultsDays; delivered jobs themselves after retention.jobDays; the
// audit log after retention.auditDays. When the spool's file system runs short of space
// (ops.spoolWarnFreeMegabytes), delivered work goes first, oldest first, whatever its age. Work an archive has not
// confirmed (sending, held for review, failed) is never removed here.
import fs from 'node:fs';
import type { DataFolder } from '../data-folder.js';
import type { Job } from '../jobs/state/job.js';
import type { JobStore } from '../jobs/state/store.js';
import type { Logger } from '../log.js';
import type { Spool } from './spool.js';

export interface HousekeepingConfig {
  receive: { unroutedRetentionHours: number };
  jobs: { keepFinishedDays: number };
  retention: { resultsDays: number; jobDays: number; auditDays: number };
  ops: { spoolWarnFreeMegabytes: number };
}

export interface HousekeepingDeps {
  spool: Spool;
  store: JobStore;
  log: Logger;
  folder: Pick<DataFolder, 'jobWorkDir'>;
  /** Deletes audit entries older than the date (the operations page's log); returns how many. */
  purgeAudit?(before: Date): Promise<number>;
  /** Free bytes for the spool; undefined when it cannot be read (no pressure then). */
  freeBytes?(): number | undefined;
  /** Whether this node cleans now (in a cluster, one node at a time); absent: always. */
  due?: () => boolean;
}

const DAY = 86400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY);

/** Removes a job's work folder (its derived images and SEG); true when there was one. */
function removeWork(folder: HousekeepingDeps['folder'], job: Job): boolean {
  const dir = folder.jobWorkDir(job.id);
  if (!fs.existsSync(dir)) return false;
  fs.rmSync(dir, { recursive: true, force: true });
  return true;
}

/**
 * Removes a delivered job's spooled series unless an instance of it is being stored, or was stored since `mark`
 * (the spool's activityMark taken before the store named the job: its answer may predate that instance's job);
 * true when removed.
 */
async function removeSpooled(deps: HousekeepingDeps, job: Job, mark: number): Promise<boolean> {
  if (!deps.spool.removeSeriesIfIdle(job.studyInstanceUid, job.seriesInstanceUid, mark)) return false;
  await deps.store.forgetSeriesInstances(job.seriesInstanceUid);
  return true;
}

/** One round of clean-up; errors are logged, never thrown. */
export async function cleanSpool(config: HousekeepingConfig, deps: HousekeepingDeps): Promise<void> {
  const { spool, store, log } = deps;
  const retentionMs = config.receive.unroutedRetentionHours * 3600_000;
  void spool.cleanUnrouted(retentionMs).catch((e: Error) => log.warn(`cleanup: ${e.message}`));
  void spool.errors.clean(retentionMs).catch((e: Error) => log.warn(`cleanup: ${e.message}`));
  const step = async (what: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      log.warn(`cleanup (${what}): ${(error as Error).message}`);
    }
  };
  if (config.jobs.keepFinishedDays > 0) {
    await step('spool', async () => {
      const mark = spool.activityMark();
      for (const job of await store.finishedBefore(ago(config.jobs.keepFinishedDays))) {
        if (await removeSpooled(deps, job, mark)) log.info('spooled series removed after retention', { jobId: job.id, seriesInstanceUid: job.seriesInstanceUid });
      }
    });
  }
  if (config.retention.resultsDays > 0) {
    await step('results', async () => {
      for (const job of await store.finishedBefore(ago(config.retention.resultsDays))) {
        if (removeWork(deps.folder, job)) log.info('derived images removed after retention (delivered)', { jobId: job.id, seriesInstanceUid: job.seriesInstanceUid });
      }
    });
  }
  if (config.retention.jobDays > 0) {
    await step('jobs', async () => {
      const mark = spool.activityMark();
      for (const job of await store.purgeDeliveredBefore(ago(config.retention.jobDays))) {
        removeWork(deps.folder, job);
        await removeSpooled(deps, job, mark);
        log.info('delivered job removed after retention', { jobId: job.id, seriesInstanceUid: job.seriesInstanceUid });
      }
    });
  }
  if (config.retention.auditDays > 0 && deps.purgeAudit) {
    await step('audit', async () => {
      const removed = await deps.purgeAudit!(ago(config.retention.auditDays));
      if (removed > 0) log.info(`${removed} audit log entries removed after retention`);
    });
  }
  await step('disk pressure', () => relievePressure(config, deps));
}

/** While the spool has less free space than it should, removes delivered work, oldest first. */
async function relievePressure(config: HousekeepingConfig, deps: HousekeepingDeps): Promise<void> {
  const wanted = config.ops.spoolWarnFreeMegabytes * 1048576;
  const short = () => {
    const free = deps.freeBytes?.();
    return free !== undefined && free < wanted;
  };
  if (!short()) return;
  const mark = deps.spool.activityMark();
  for (const job of await deps.store.finishedBefore(new Date())) {
    const removed = [removeWork(deps.folder, job) && 'derived images', (await removeSpooled(deps, job, mark)) && 'spooled instances'].filter(Boolean);
    if (removed.length) deps.log.warn(`disk pressure: ${removed.join(' and ')} of delivered job ${job.id} removed`, { jobId: job.id, seriesInstanceUid: job.seriesInstanceUid });
    if (!short()) return;
  }
  deps.log.warn('disk pressure: no delivered work left to remove; the spool stays short of space');
}

/** Runs cleanSpool every hour, or as often as the shortest retention needs (at most every second). */
export function startHousekeeping(config: HousekeepingConfig, deps: HousekeepingDeps): { stop(): void } {
  const periods = [
    config.receive.unroutedRetentionHours * 3600_000,
    config.jobs.keepFinishedDays * DAY,
    config.retention.resultsDays * DAY,
    config.retention.jobDays * DAY,
    config.retention.auditDays * DAY,
  ].filter((ms) => ms > 0);
  const every = Math.min(3600_000, Math.max(1000, Math.min(...periods, 3600_000)));
  const due = deps.due ?? (() => true);
  const timer = setInterval(() => {
    if (due()) void cleanSpool(config, deps);
  }, every);
  // Space runs out faster than retention periods pass: pressure is looked at every half minute.
  const pressure = setInterval(() => {
    if (due()) void relievePressure(config, deps).catch((e: Error) => deps.log.warn(`cleanup (disk pressure): ${e.message}`));
  }, 30_000);
  timer.unref();
  pressure.unref();
  return {
    stop: () => {
      clearInterval(timer);
      clearInterval(pressure);
    },
  };
}
