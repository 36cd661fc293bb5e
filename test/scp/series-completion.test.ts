// When a series is complete, and what a late instance does: a provably whole series completes a short grace after
// the association that delivered it is released (never after an abort, never while another instance arrives);
// otherwise the idle time decides. A late instance never makes a second derived series: a job still computing
// stops as superseded and one new job takes the whole series; a job with results keeps it, noted, unprocessed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../../src/jobs/state/job.js';
import { SqliteJobStore } from '../../src/jobs/state/sqlite/store.js';
import type { WholeSeriesEvidence } from '../../src/pipeline/dicom/series-whole.js';
import { SeriesCompletion } from '../../src/scp/series-completion.js';

const SERIES = '1.2.3.4.5';
const instance = (sop: string) => ({ studyInstanceUid: '1.2.3.4', seriesInstanceUid: SERIES, sopInstanceUid: sop, modality: 'MR', bytes: 100 });
const stores: SqliteJobStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});
function newStore(): SqliteJobStore {
  const store = new SqliteJobStore(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-completion-')), 'jobs.sqlite'));
  stores.push(store);
  return store;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A completion with an idle time no test waits for, a 100 ms grace and the evidence the test sets. */
function completionOf(store: SqliteJobStore, evidence: WholeSeriesEvidence, graceMs = 100) {
  const queued: Job[] = [];
  const completion = new SeriesCompletion(store, { idleMs: 60_000, graceMs, wholeSeries: async () => evidence }, (job) => queued.push(job));
  return { completion, queued };
}

async function receive(store: SqliteJobStore, completion: SeriesCompletion, sops: string[], associationId: number) {
  let job: Job | undefined;
  for (const sop of sops) {
    job = (await store.recordInstance(instance(sop))).job;
    completion.instanceArrived(job, associationId);
  }
  return job!;
}

describe('early completion of a whole series', () => {
  const whole = { whole: true, reason: '3 of 3 declared images' };

  it('completes a provably whole series a grace after its association is released, long before the idle time', async () => {
    const store = newStore();
    const { completion, queued } = completionOf(store, whole);
    const job = await receive(store, completion, ['1', '2', '3'], 7);
    completion.associationEnded(7, true);
    await sleep(50);
    expect(queued).toEqual([]);
    await sleep(200);
    expect(queued.map((j) => j.id)).toEqual([job.id]);
    expect((await store.get(job.id))?.state).toBe('queued');
    completion.stop();
  });

  it('an instance arriving during the grace cancels it: the series waits again', async () => {
    const store = newStore();
    const { completion, queued } = completionOf(store, whole);
    await receive(store, completion, ['1', '2', '3'], 7);
    completion.associationEnded(7, true);
    await sleep(20);
    await receive(store, completion, ['4'], 8);
    await sleep(250);
    expect(queued).toEqual([]);
    completion.stop();
  });

  it('an aborted association, a series another association still delivers, a part of a series or grace 0 wait for the idle time', async () => {
    const cases: Array<[string, WholeSeriesEvidence, number, (c: SeriesCompletion) => void]> = [
      ['aborted', whole, 100, (c) => c.associationEnded(7, false)],
      ['still delivered by another association', whole, 100, (c) => c.associationEnded(7, true)],
      ['not whole', { whole: false, reason: '2 of 3 declared images' }, 100, (c) => c.associationEnded(7, true)],
      ['grace 0', whole, 0, (c) => c.associationEnded(7, true)],
    ];
    for (const [what, evidence, grace, end] of cases) {
      const store = newStore();
      const { completion, queued } = completionOf(store, evidence, grace);
      await receive(store, completion, ['1', '2'], 7);
      if (what.startsWith('still delivered')) await receive(store, completion, ['3'], 9);
      end(completion);
      await sleep(250);
      expect(queued, what).toEqual([]);
      completion.stop();
    }
  });
});

describe('a late instance never makes a second derived series', () => {
  it('while its series is computed: that job fails as superseded and a new job takes the whole series', async () => {
    const store = newStore();
    const first = (await store.recordInstance(instance('1'))).job;
    await store.recordInstance(instance('2'));
    await store.markComplete(first.id);
    await store.claimNext();
    const late = await store.recordInstance(instance('3'));
    expect(late).toMatchObject({ created: true, superseded: { id: first.id } });
    expect(late.job.instances).toBe(3);
    expect(await store.get(first.id)).toMatchObject({ state: 'failed', reason: expect.stringContaining('superseded') });
    // The superseded job's results are never sent: the store refuses to move it to sending.
    expect(await store.transition(first.id, 'resultsReady')).toBe(false);
  });

  it('once its results are being sent or stored: kept in the spool and noted on that job, no new job', async () => {
    for (const state of ['sending', 'done'] as const) {
      const store = newStore();
      const first = (await store.recordInstance(instance('1'))).job;
      await store.recordInstance(instance('2'));
      await store.markComplete(first.id);
      await store.claimNext();
      await store.transition(first.id, 'resultsReady');
      if (state === 'done') await store.transition(first.id, 'delivered');
      const late = await store.recordInstance(instance('3'));
      expect(late, state).toMatchObject({ created: false, late: 'new', job: { id: first.id, state, instances: 2 } });
      expect(late.job.detail).toMatch(/1 instance arrived .*kept in the spool, not processed/);
      expect((await store.list()).map((j) => j.id)).toEqual([first.id]);
      expect(await store.hasInstance(SERIES, '3')).toBe(true);
    }
  });

  it('an instance sent again to a started job changes nothing: no new job, nothing superseded', async () => {
    for (const state of ['processing', 'sending', 'done'] as const) {
      const store = newStore();
      const first = (await store.recordInstance(instance('1'))).job;
      await store.recordInstance(instance('2'));
      await store.markComplete(first.id);
      await store.claimNext();
      if (state !== 'processing') await store.transition(first.id, 'resultsReady');
      if (state === 'done') await store.transition(first.id, 'delivered');
      expect(await store.recordInstance(instance('2')), state).toMatchObject({ created: false, late: 'again', job: { id: first.id, state } });
      expect((await store.list()).map((j) => [j.id, j.state])).toEqual([[first.id, state]]);
    }
  });
});
