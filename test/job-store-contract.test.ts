// The job store's contract, run against SQLite and PostgreSQL alike: the same calls give the same answers, so the
// node behaves the same whichever database holds its job state. And on PostgreSQL, two nodes claiming at the same
// time never take the same job.
import { describe, expect, test } from 'vitest';
import type { JobState } from '../src/jobs/state/job.js';
import type { JobStore, ReceivedInstance } from '../src/jobs/state/store.js';
import type { TransitionName } from '../src/jobs/state/transitions.js';
import { configureLogging } from '../src/log.js';
import { PATH_TO, jobStoreKinds } from './job-stores.js';

configureLogging({ level: 'warn', stream: 'stderr' });
const STORES = jobStoreKinds('the job store contract tests');

const instance = (series: number, n: number, more: Partial<ReceivedInstance> = {}): ReceivedInstance => ({
  studyInstanceUid: '1.2',
  seriesInstanceUid: `1.2.${series}`,
  sopInstanceUid: `1.2.${series}.${n}`,
  bytes: 100 + n,
  ...more,
});

async function moveTo(store: JobStore, id: number, ...steps: TransitionName[]): Promise<void> {
  for (const step of steps) expect(await store.transition(id, step)).toBe(true);
}

/** A new job of `series` in `state`, by legal transitions. */
async function jobIn(store: JobStore, series: number, state: JobState, more: Partial<ReceivedInstance> = {}): Promise<number> {
  const { job } = await store.recordInstance(instance(series, 1, more));
  await moveTo(store, job.id, ...PATH_TO[state]);
  return job.id;
}

describe.each(STORES)('the job store on $kind', ({ missing, open, reopen }) => {
  const withStore = (name: string, body: (store: JobStore) => Promise<void>) =>
    test.skipIf(missing)(name, async () => {
      const store = await open(name.replace(/\W+/g, '_').slice(0, 40));
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });

  withStore('recordInstance: a series gathers into one job, re-opened by a late instance, superseded while computing, noted once it sends', async (store) => {
    const first = await store.recordInstance(instance(1, 1, { callingAe: 'MODALITY' }));
    expect(first).toMatchObject({ created: true, reopened: false, job: { state: 'receiving', instances: 1, bytes: 101, callingAe: 'MODALITY' } });
    expect(await store.recordInstance(instance(1, 2))).toMatchObject({ created: false, job: { id: first.job.id, instances: 2, bytes: 203 } });
    expect(await store.recordInstance(instance(1, 2))).toMatchObject({ job: { instances: 2 } }); // the same instance again counts once
    expect(await store.hasInstance('1.2.1', '1.2.1.2')).toBe(true);
    expect(await store.hasInstance('1.2.1', '1.2.1.9')).toBe(false);
    expect(await store.seriesInstances('1.2.1')).toEqual(new Set(['1.2.1.1', '1.2.1.2']));
    expect(await store.seriesInstances('1.2.9')).toEqual(new Set());

    expect(await store.markComplete(first.job.id)).toMatchObject({ state: 'queued', stage: 'waiting' });
    expect(await store.markComplete(first.job.id)).toBeUndefined();
    expect(await store.recordInstance(instance(1, 3))).toMatchObject({ created: false, reopened: true, job: { id: first.job.id, state: 'receiving', instances: 3 } });

    await moveTo(store, first.job.id, 'complete', 'enqueue', 'claim');
    // Sent again while computing: the job has it, nothing changes.
    expect(await store.recordInstance(instance(1, 3))).toMatchObject({ late: 'again', created: false, job: { id: first.job.id, state: 'processing' } });
    const superseding = await store.recordInstance(instance(1, 4));
    expect(superseding).toMatchObject({ created: true, superseded: { id: first.job.id, state: 'failed' }, job: { state: 'receiving', instances: 4 } });
    expect(superseding.superseded!.reason).toMatch(/^superseded/);
    expect(superseding.job.detail).toBe(`series received again after job ${first.job.id} (processing)`);

    const second = superseding.job.id;
    await moveTo(store, second, 'complete', 'enqueue', 'claim', 'resultsReady');
    const late = await store.recordInstance(instance(1, 5));
    expect(late).toMatchObject({ late: 'new', created: false, job: { id: second, state: 'sending', instances: 4 } });
    expect(late.job.detail).toMatch(/^1 instance arrived while its results are being sent/);
    await moveTo(store, second, 'delivered');
    expect(await store.recordInstance(instance(1, 6))).toMatchObject({ late: 'new', job: { id: second, state: 'done', detail: expect.stringMatching(/^2 instances arrived after/) } });

    expect(await store.recordInstance(instance(1, 6))).toMatchObject({ late: 'again', job: { id: second, instances: 4 } });
    expect(await store.latestJobOfSeries('1.2.1')).toMatchObject({ id: second });
    expect(await store.studyOfSeries('1.2.1')).toBe('1.2');
    expect(await store.studyOfSeries('9.9')).toBeUndefined();
    await store.recordProcessedInstance(second, instance(1, 7));
    expect(await store.get(second)).toMatchObject({ state: 'done', instances: 7 });
    await store.forgetSeriesInstances('1.2.1');
    expect(await store.hasInstance('1.2.1', '1.2.1.1')).toBe(false);
    // A failed job's series starts afresh.
    const failed = await jobIn(store, 2, 'failed');
    expect(await store.recordInstance(instance(2, 2))).toMatchObject({ created: true, job: { detail: `series received again after job ${failed} (failed)` } });
  });

  withStore('the queue: oldest first, one claim per job, the next to send passes over busy and held jobs; counts and lists', async (store) => {
    const queued = [await jobIn(store, 1, 'queued'), await jobIn(store, 2, 'queued')];
    expect(await store.claimNext()).toMatchObject({ id: queued[0], state: 'processing', attempts: 1 });
    expect(await store.claimNext()).toMatchObject({ id: queued[1] });
    expect(await store.claimNext()).toBeUndefined();
    const sending = [await jobIn(store, 3, 'sending'), await jobIn(store, 4, 'sending'), await jobIn(store, 5, 'sending')];
    expect(await store.transition(sending[0], 'hold', { heldFor: 'ARCHIVE@pacs:104' })).toBe(true);
    expect(await store.nextToSend([])).toMatchObject({ id: sending[1] });
    expect(await store.nextToSend([sending[1]])).toMatchObject({ id: sending[2] });
    expect(await store.nextToSend(sending)).toBeUndefined();
    expect(await store.transition(sending[0], 'release', { releasedBy: 'anna at noon' })).toBe(true);
    expect(await store.get(sending[0])).toMatchObject({ heldFor: null, releasedBy: 'anna at noon' });
    expect(await store.countsByState()).toEqual({ receiving: 0, complete: 0, queued: 0, processing: 2, sending: 3, done: 0, failed: 0 });
    expect((await store.list({ state: 'processing' })).map((j) => j.id)).toEqual([queued[1], queued[0]]);
    expect((await store.list({ seriesInstanceUid: '1.2.4' })).map((j) => j.id)).toEqual([sending[1]]);
    expect(await store.list({ limit: 2 })).toHaveLength(2);
    expect((await store.events(queued[0])).map((e) => [e.state, e.stage])).toEqual([
      ['receiving', 'receiving'],
      ['complete', 'receiving'],
      ['queued', 'waiting'],
      ['processing', 'processing'],
    ]);
    await store.restrictDestination('1.2.3', 'ONE@host:104');
    await store.restrictDestination('1.2.3', 'TWO@host:104');
    expect(await store.destinationOf('1.2.3')).toBe('TWO@host:104');
    expect(await store.destinationOf('1.2.4')).toBeUndefined();
    await store.probeWrite();
  });

  withStore('recoverAfterRestart: sending jobs with results go on, poison jobs fail, the others are queued again', async (store) => {
    const canSend = await jobIn(store, 1, 'sending');
    const resultsGone = await jobIn(store, 2, 'sending');
    const processing = await jobIn(store, 3, 'processing');
    const poison = await jobIn(store, 4, 'processing');
    for (let n = 0; n < 2; n++) await moveTo(store, poison, 'requeue', 'claim');
    const complete = await jobIn(store, 5, 'complete');
    const receiving = await jobIn(store, 6, 'receiving');
    await jobIn(store, 7, 'done');
    const result = await store.recoverAfterRestart(3, (job) => job.id === canSend);
    const ids = Object.fromEntries(Object.entries(result).map(([k, jobs]) => [k, jobs.map((j) => [j.id, j.state])]));
    expect(ids).toEqual({
      resending: [[canSend, 'sending']],
      poisoned: [[poison, 'failed']],
      requeued: [
        [resultsGone, 'queued'],
        [processing, 'queued'],
        [complete, 'queued'],
      ],
      receiving: [[receiving, 'receiving']],
    });
    expect(result.poisoned[0].reason).toMatch(/cut short by 3 restarts/);
    expect(result.resending[0].detail).toMatch(/sends again/);
  });

  withStore('search, identification, review and activity', async (store) => {
    const a = await jobIn(store, 1, 'done', { callingAe: 'MR1', seriesDescription: 'T1 MPRAGE' });
    const b = await jobIn(store, 2, 'sending', { callingAe: 'MR2', seriesDescription: 'FLAIR 100%_x' });
    const c = await jobIn(store, 3, 'failed', { callingAe: 'MR1' });
    await store.describe(a, { patientName: 'Müller^Anna', patientId: 'P-1', accessionNumber: 'ACC1', studyDescription: 'Head', studyDate: '20260101', seriesNumber: '3' });
    expect((await store.undescribed()).map((j) => j.id)).toEqual([c, b]);
    const ids = async (filter: Parameters<JobStore['search']>[0]) => (await store.search(filter)).map((j) => j.id);
    expect(await ids({})).toEqual([c, b, a]);
    expect(await ids({ state: 'failed' })).toEqual([c]);
    expect(await ids({ callingAe: ' MR1 ' })).toEqual([c, a]);
    expect(await ids({ text: 'mprage' })).toEqual([a]);
    expect(await ids({ text: 'müller' })).toEqual([a]);
    expect(await ids({ text: 'p-1' })).toEqual([a]);
    expect(await ids({ text: '100%_' })).toEqual([b]);
    expect(await ids({ text: '%' })).toEqual([b]);
    expect(await ids({ text: '_' })).toEqual([b]);
    expect(await ids({ from: '2000-01-01', to: '2999-01-01', limit: 2 })).toEqual([c, b]);
    expect(await ids({ to: '2000-01-01' })).toEqual([]);
    expect(await store.callingAes()).toEqual(['MR1', 'MR2']);
    await store.setReview(a, 'mask volume 900 ml');
    await store.setReview(b, 'mask touches the edge');
    expect(await store.transition(b, 'hold', { heldFor: 'ARCHIVE@pacs:104' })).toBe(true);
    expect(await ids({ review: 'flagged' })).toEqual([b, a]);
    expect(await ids({ review: 'held' })).toEqual([b]);
    expect(await store.reviewCounts()).toEqual({ flagged: 2, held: 1 });
    await store.setReview(a, null);
    expect(await store.reviewCounts()).toEqual({ flagged: 1, held: 1 });
    const activity = await store.activity(new Date(Date.now() - 60_000));
    expect(activity).toMatchObject({ received: 3, done: 1, failed: 1 });
    expect(activity.turnaroundSeconds).toHaveLength(1);
    expect(activity.turnaroundSeconds[0]).toBeGreaterThanOrEqual(0);
    expect(await store.activity(new Date(Date.now() + 60_000))).toEqual({ received: 0, done: 0, failed: 0, turnaroundSeconds: [] });
  });

  withStore('purgeDeliveredBefore and finishedBefore: delivered jobs go with their timeline; a series keeps its instances while it has a job', async (store) => {
    const delivered = await jobIn(store, 1, 'done');
    const failed = await jobIn(store, 2, 'failed');
    const olderOfSeries = await jobIn(store, 3, 'done');
    const newerOfSeries = await store.recordInstance(instance(3, 2)); // late: noted on the done job
    expect(newerOfSeries.late).toBe('new');
    await moveTo(store, olderOfSeries, 'retry');
    const retried = await store.claimNext();
    expect(retried?.id).toBe(olderOfSeries);
    await store.restrictDestination('1.2.1', 'ONE@host:104');
    expect((await store.finishedBefore(new Date(Date.now() + 60_000))).map((j) => j.id)).toEqual([delivered]);
    expect(await store.finishedBefore(new Date(Date.now() - 60_000))).toEqual([]);
    expect(await store.purgeDeliveredBefore(new Date(Date.now() - 60_000))).toEqual([]);
    expect((await store.purgeDeliveredBefore(new Date(Date.now() + 60_000))).map((j) => j.id)).toEqual([delivered]);
    expect(await store.get(delivered)).toBeUndefined();
    expect(await store.events(delivered)).toEqual([]);
    expect(await store.hasInstance('1.2.1', '1.2.1.1')).toBe(false);
    expect(await store.destinationOf('1.2.1')).toBeUndefined();
    expect(await store.get(failed)).toMatchObject({ state: 'failed' });
    expect(await store.hasInstance('1.2.3', '1.2.3.2')).toBe(true);
  });

  test.skipIf(missing)('two connections (two nodes) claiming at the same time never take the same job', async () => {
    const first = await open('two_nodes');
    const second = await reopen('two_nodes');
    try {
      for (let n = 0; n < 20; n++) await jobIn(first, n, 'queued');
      // 30 claims for 20 jobs: a claim comes back empty only when every queued job was being taken by another.
      const claims = await Promise.all(Array.from({ length: 30 }, (_, n) => (n % 2 ? first : second).claimNext()));
      const ids = claims.filter((j) => j !== undefined).map((j) => j.id);
      expect(ids).toHaveLength(20);
      expect(new Set(ids).size).toBe(20);
      expect((await first.list({ state: 'processing' })).map((j) => j.attempts)).toEqual(Array(20).fill(1));
      expect(await second.claimNext()).toBeUndefined();
    } finally {
      await first.close();
      await second.close();
    }
  });
});
