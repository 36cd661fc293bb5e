// The job store's interface is asynchronous so that a store on a database server can implement it. Here every
// call of the SQLite store is put off by macrotasks and answered macrotasks later, as a server's would be: the
// SCP, the series completion and the runner must not rely on an answer (or a write) being there on return. Two
// associations deliver one series at once, the runner is woken several times at once, and each job must still be
// one job, computed once and sent once, with its changes recorded in the order they happened.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobContext, SeriesProcessor } from '../../src/jobs/processing/contract.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { SqliteJobStore } from '../../src/jobs/state/sqlite/store.js';
import type { JobStore } from '../../src/jobs/state/store.js';
import { MetricsRegistry } from '../../src/metrics.js';
import { SeriesCompletion } from '../../src/scp/series-completion.js';
import { startScp } from '../../src/scp/scp.js';
import { Spool } from '../../src/scp/spool.js';
import { mrInstance } from './hostile-corpus.js';
import { EXPLICIT_LE, MR_STORAGE, RawConnection } from './raw-scu.js';

/** One to three macrotasks, in turn: calls made one after the other may run and be answered in another order. */
let turn = 0;
async function later(): Promise<void> {
  for (let n = (turn++ % 3) + 1; n > 0; n--) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** `inner`, with every call started late and answered later still, as over a network. */
function remoteStore(inner: SqliteJobStore): JobStore {
  return new Proxy(inner, {
    get(target, name) {
      const member = Reflect.get(target, name, target);
      if (typeof member !== 'function') return member;
      return async (...args: unknown[]) => {
        await later();
        const answer = await member.apply(target, args);
        await later();
        return answer;
      };
    },
  }) as unknown as JobStore;
}

async function until(what: string, probe: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a job store that answers asynchronously', () => {
  it('takes a series from two associations at once, queues, computes and sends it once, in order', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-async-store-'));
    const spool = new Spool(path.join(root, 'spool'));
    await spool.init();
    const sqlite = new SqliteJobStore(path.join(root, 'jobs.sqlite'));
    const store = remoteStore(sqlite);
    const computed: number[] = [];
    const sent: number[] = [];
    let computing = 0;
    let mostComputing = 0;
    const processor: SeriesProcessor = {
      async compute(ctx: JobContext) {
        computed.push(ctx.job.id);
        mostComputing = Math.max(mostComputing, ++computing);
        ctx.step('reading', `reading ${ctx.instancePaths.length} instance(s)`);
        ctx.step('registration', 'registering');
        ctx.progress('registered');
        ctx.step('segmentation', 'segmenting');
        await new Promise((r) => setTimeout(r, 30));
        computing--;
      },
      async send(ctx: JobContext) {
        sent.push(ctx.job.id);
        ctx.progress('1 of 2 object(s) to ARCHIVE');
        ctx.progress('2 of 2 object(s) to ARCHIVE');
      },
      hasResults: () => true,
    };
    const runner = new JobRunner(store, processor, {
      concurrency: 1,
      sendConcurrency: 2,
      workDir: (job) => path.join(root, 'work', String(job.id)),
      instancePaths: (job) => spool.seriesInstancePaths(job.studyInstanceUid, job.seriesInstanceUid),
      pollMs: 25,
    });
    const completion = new SeriesCompletion(store, 300, () => {
      // Wake-ups that overlap: each must not take a slot or a job another one took.
      runner.wake();
      runner.wake();
      runner.wake();
    });
    completion.start();
    const metrics = new MetricsRegistry();
    const scp = await startScp(
      {
        aeTitle: 'BRAINSTRIP',
        port: 0,
        allowedCallers: [],
        maxAssociations: 4,
        maxPduLength: 262144,
        timeoutMs: 10_000,
        routing: { sopClasses: [MR_STORAGE], excludeImageTypes: [], include: [{ modality: 'MR' }], exclude: [], ownUidRoot: '1.2.826.0.1.3680043.10.999' },
      },
      { spool, store, completion, metrics },
    );
    runner.start();
    try {
      const deliver = async (series: string, sops: number[]) => {
        const c = await RawConnection.connect(scp.port);
        expect(await c.associate([{ abstractSyntax: MR_STORAGE, transferSyntaxes: [EXPLICIT_LE] }])).toBe('accepted');
        for (const n of sops) {
          const sopInstanceUid = `${series}.${n}`;
          const { bytes } = mrInstance({ studyInstanceUid: '1.2.3', seriesInstanceUid: series, sopInstanceUid });
          expect(await c.store(bytes, { sopClassUid: MR_STORAGE, sopInstanceUid })).toMatchObject({ status: 0 });
          // Acknowledged means recorded: the answer came after the store's.
          expect(await sqlite.hasInstance(series, sopInstanceUid)).toBe(true);
        }
        await c.release();
      };
      await Promise.all([deliver('1.2.3.4', [1, 2, 3, 4, 5]), deliver('1.2.3.4', [6, 7, 8, 9, 10]), deliver('1.2.3.5', [1, 2, 3])]);

      await until('both jobs to be done', async () => (await sqlite.list()).every((j) => j.state === 'done') && sent.length >= 2);
      await new Promise((r) => setTimeout(r, 200)); // a duplicate would show by now
      const jobs = (await sqlite.list()).sort((a, b) => a.id - b.id);
      expect(jobs.map((j) => [j.seriesInstanceUid, j.instances, j.state])).toEqual(
        expect.arrayContaining([
          ['1.2.3.4', 10, 'done'],
          ['1.2.3.5', 3, 'done'],
        ]),
      );
      expect(jobs).toHaveLength(2);
      expect(computed.sort()).toEqual(jobs.map((j) => j.id));
      expect(sent.sort()).toEqual(jobs.map((j) => j.id));
      expect(mostComputing).toBe(1);
      for (const job of jobs) {
        const details = (await sqlite.events(job.id)).map((e) => `${e.state}: ${e.detail ?? ''}`);
        expect(details).toEqual([
          'receiving: ',
          'complete: ',
          'queued: ',
          'processing: ',
          `processing: reading ${job.instances} instance(s)`,
          'processing: registering',
          'processing: registered',
          'processing: segmenting',
          'sending: results ready; waiting to send',
          'sending: 1 of 2 object(s) to ARCHIVE',
          'sending: 2 of 2 object(s) to ARCHIVE',
          'done: ',
        ]);
      }
    } finally {
      await scp.close();
      completion.stop();
      await runner.close(100);
      await sqlite.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
