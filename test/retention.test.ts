// Retention: delivered work goes after its configured time (derived images, spooled instances, the job itself),
// the audit log after its own; under disk pressure delivered work goes first, oldest first, whatever its age; work an
// archive has not confirmed (sending, held, failed) is never removed.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { dataFolder } from '../src/data-folder.js';
import type { JobState } from '../src/jobs/state/job.js';
import { SqliteJobStore } from '../src/jobs/state/sqlite/store.js';
import { logger } from '../src/log.js';
import { type HousekeepingConfig, cleanSpool } from '../src/scp/housekeeping.js';
import { Spool } from '../src/scp/spool.js';
import { tempDir } from './derived-fixtures.js';

const DAY = 86400_000;

async function setUp() {
  const root = tempDir('retention');
  const folder = dataFolder({ dataDir: root, receive: { spoolDir: 'spool' }, jobs: { database: 'jobs.sqlite' }, ops: { database: 'ops.sqlite' }, log: { file: '' } });
  const store = new SqliteJobStore(folder.jobsDatabase);
  const spool = new Spool(folder.spool);
  await spool.init();
  let n = 0;
  /** A job in `state`, finished (or last changed) `daysAgo`, with a spooled instance and a work folder. */
  const job = async (state: JobState, daysAgo: number) => {
    n++;
    const ids = { studyInstanceUid: `1.2.3.${n}`, seriesInstanceUid: `1.2.3.${n}.1`, sopInstanceUid: `1.2.3.${n}.1.1` };
    const { job } = await store.recordInstance({ ...ids, bytes: 10, modality: 'MR' });
    const dir = spool.seriesDir(ids.studyInstanceUid, ids.seriesInstanceUid);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${ids.sopInstanceUid}.dcm`), 'x');
    await store.markComplete(job.id);
    await store.claimNext();
    await store.transition(job.id, 'resultsReady');
    if (state === 'done') await store.transition(job.id, 'delivered');
    if (state === 'failed') await store.transition(job.id, 'fail', { reason: 'archive refused' });
    if (state === 'sending' && daysAgo > 0) await store.transition(job.id, 'hold', { heldFor: 'ARCHIVE@pacs:104' });
    fs.mkdirSync(path.join(folder.jobWorkDir(job.id), 'results'), { recursive: true });
    fs.writeFileSync(path.join(folder.jobWorkDir(job.id), 'results', 'seg.dcm'), 'x');
    const db = new Database(folder.jobsDatabase);
    const at = new Date(Date.now() - daysAgo * DAY).toISOString();
    db.prepare('UPDATE jobs SET finished_at = CASE WHEN finished_at IS NULL THEN NULL ELSE ? END, updated_at = ? WHERE id = ?').run(at, at, job.id);
    db.close();
    return { id: job.id, spooled: dir, work: folder.jobWorkDir(job.id) };
  };
  const config = (retention: Partial<HousekeepingConfig['retention']>, keepFinishedDays = 0): HousekeepingConfig => ({
    receive: { unroutedRetentionHours: 24 },
    jobs: { keepFinishedDays },
    retention: { resultsDays: 0, jobDays: 0, auditDays: 0, ...retention },
    ops: { spoolWarnFreeMegabytes: 100 },
  });
  return { store, spool, folder, job, config, log: logger('test.retention') };
}

describe('retention', () => {
  test('delivered work goes after its time; sending, held and failed work stays, whatever its age', async () => {
    const { store, spool, folder, job, config, log } = await setUp();
    const old = await job('done', 10);
    const recent = await job('done', 1);
    const held = await job('sending', 30);
    const failed = await job('failed', 30);
    await cleanSpool(config({ resultsDays: 7 }, 7), { store, spool, log, folder });
    expect(fs.existsSync(old.work)).toBe(false);
    expect(fs.existsSync(old.spooled)).toBe(false);
    for (const kept of [recent, held, failed]) {
      expect(fs.existsSync(kept.work), `job ${kept.id}`).toBe(true);
      expect(fs.existsSync(kept.spooled), `job ${kept.id}`).toBe(true);
    }
    expect((await store.get(old.id))?.state).toBe('done'); // the job itself has a longer retention

    await cleanSpool(config({ jobDays: 5 }), { store, spool, log, folder });
    expect(await store.get(old.id)).toBeUndefined();
    expect(await store.events(old.id)).toEqual([]);
    for (const kept of [recent, held, failed]) expect(await store.get(kept.id), `job ${kept.id}`).toBeDefined();
    await store.close();
  });

  test('the audit log is purged after its own retention', async () => {
    const { store, spool, folder, config, log } = await setUp();
    const before: Date[] = [];
    await cleanSpool(config({ auditDays: 30 }), { store, spool, log, folder, purgeAudit: async (date) => (before.push(date), 3) });
    expect(before).toHaveLength(1);
    expect(Math.abs(before[0].getTime() - (Date.now() - 30 * DAY))).toBeLessThan(60_000);
    await store.close();
  });

  test('under disk pressure delivered work goes first, oldest first, until there is room; nothing undelivered', async () => {
    const { store, spool, folder, job, config, log } = await setUp();
    const oldest = await job('done', 3);
    const older = await job('done', 2);
    const newest = await job('done', 1);
    const held = await job('sending', 5);
    const failed = await job('failed', 5);
    // Room comes back once two delivered jobs are cleared; no retention by age, so only the pressure removes anything.
    const cleared = () => [oldest, older, newest].filter((j) => !fs.existsSync(j.work)).length;
    await cleanSpool(config({}), { store, spool, log, folder, freeBytes: () => (cleared() >= 2 ? 1000 : 10) * 1048576 });
    expect(fs.existsSync(oldest.work)).toBe(false);
    expect(fs.existsSync(older.work)).toBe(false);
    expect(fs.existsSync(newest.work)).toBe(true);
    for (const kept of [held, failed]) {
      expect(fs.existsSync(kept.work), `job ${kept.id}`).toBe(true);
      expect(fs.existsSync(kept.spooled), `job ${kept.id}`).toBe(true);
    }
    await store.close();
  });

  test('a series an instance was stored to while the job store answered keeps its spool folder', async () => {
    const { store, spool, folder, job, config, log } = await setUp();
    const old = await job('done', 10);
    // The store's answer names the job as finished, but an instance of its series is stored before it arrives.
    const slow = Object.create(store) as SqliteJobStore;
    slow.finishedBefore = async (before) => {
      const answer = await store.finishedBefore(before);
      fs.writeFileSync(path.join(old.spooled, 'late.dcm'), 'x');
      spool.settled(old.spooled); // what the C-STORE does once the instance is recorded
      return answer;
    };
    await cleanSpool(config({}, 7), { store: slow, spool, log, folder });
    expect(fs.existsSync(path.join(old.spooled, 'late.dcm'))).toBe(true);
    await cleanSpool(config({}, 7), { store, spool, log, folder });
    expect(fs.existsSync(old.spooled)).toBe(false);
    await store.close();
  });
});
