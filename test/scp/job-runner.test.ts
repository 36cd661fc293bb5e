// The job runner: a queued series reaches the processor with its spooled files; resolving is done, throwing is
// failed with the reason, a processor that hangs fails after jobs.timeoutMinutes, and a shutdown queues it again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobRunner } from '../../src/jobs/runner.js';
import { SqliteJobStore } from '../../src/jobs/state/sqlite/store.js';
import { MetricsRegistry } from '../../src/metrics.js';
import type { JobContext, SeriesProcessor } from '../../src/jobs/processing/contract.js';

/** A processor whose computation is `compute` and whose sending is `send` (nothing, by default). */
function setUp(compute: SeriesProcessor['compute'], timeoutMs = 0, send: SeriesProcessor['send'] = async () => undefined) {
  const processor: SeriesProcessor = { compute, send, hasResults: () => false };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-runner-'));
  const store = new SqliteJobStore(path.join(dir, 'jobs.sqlite'));
  const metrics = new MetricsRegistry();
  const runner = new JobRunner(
    store,
    processor,
    {
      concurrency: 1,
      workDir: (job) => path.join(dir, 'work', String(job.id)),
      instancePaths: async (job) => [`/spool/${job.seriesInstanceUid}/1.dcm`],
      timeoutMs,
      pollMs: 50,
    },
    metrics,
  );
  const queue = async (series: string) => {
    const { job } = await store.recordInstance({ studyInstanceUid: '1.2', seriesInstanceUid: series, sopInstanceUid: `${series}.1`, bytes: 10 });
    await store.markComplete(job.id);
    return job.id;
  };
  const until = async (what: () => Promise<boolean>) => {
    for (let i = 0; i < 200 && !(await what()); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await what()).toBe(true);
  };
  return { store, runner, queue, until, metrics };
}

describe('job runner', () => {
  it('hands a queued job to the processor and records done, with states set on the way', async () => {
    const seen: JobContext[] = [];
    const { store, runner, queue, until, metrics } = setUp(
      async (ctx) => {
        seen.push(ctx);
        ctx.step('reading', 'reading 1 instance(s)');
        expect(await store.get(ctx.job.id)).toMatchObject({ state: 'processing', stage: 'reading', detail: 'reading 1 instance(s)' });
        expect(fs.existsSync(ctx.workDir)).toBe(true);
      },
      0,
      async (ctx) => {
        ctx.progress('to ARCHIVE');
        expect(await store.get(ctx.job.id)).toMatchObject({ state: 'sending', stage: 'sending', detail: 'to ARCHIVE' });
      },
    );
    const id = await queue('1.2.3');
    runner.start();
    await until(async () => (await store.get(id))?.state === 'done');
    expect(seen[0].instancePaths).toEqual(['/spool/1.2.3/1.dcm']);
    expect(seen[0].job).toMatchObject({ id, state: 'processing', attempts: 1 });
    // Each stage's duration is in the histogram of /metrics.
    const text = await metrics.render();
    expect(text).toMatch(/brainstrip_job_stage_seconds_count\{stage="processing"\} 1/);
    expect(text).toMatch(/brainstrip_job_stage_seconds_count\{stage="reading"\} 1/);
    expect(text).toMatch(/brainstrip_job_stage_seconds_count\{stage="sending"\} 1/);
    await runner.close();
  });

  it('records failed with the error message, and goes on with the next job', async () => {
    const { store, runner, queue, until } = setUp(async (ctx) => {
      if (ctx.job.seriesInstanceUid === 'bad') throw new Error('series 1.2.bad: no 3D volume');
    });
    const bad = await queue('bad');
    const good = await queue('good');
    runner.start();
    await until(async () => (await store.get(good))?.state === 'done');
    expect(await store.get(bad)).toMatchObject({ state: 'failed', reason: 'series 1.2.bad: no 3D volume' });
    await runner.close();
  });

  it('fails a job that runs past the time limit and frees the slot for the next one', async () => {
    const { store, runner, queue, until } = setUp(async (ctx) => {
      if (ctx.job.seriesInstanceUid === 'stuck') await new Promise(() => undefined); // ignores its signal
    }, 200);
    const stuck = await queue('stuck');
    const next = await queue('next');
    runner.start();
    await until(async () => (await store.get(next))?.state === 'done');
    expect(await store.get(stuck)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/longer than/) });
    await runner.close(50);
  });

  it('queues a running job again when the node shuts down', async () => {
    let started = false;
    const { store, runner, queue, until } = setUp(
      (ctx) =>
        new Promise<void>((resolve, reject) => {
          started = true;
          ctx.signal?.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    );
    const id = await queue('long');
    runner.start();
    await until(async () => started);
    await runner.close();
    expect(await store.get(id)).toMatchObject({ state: 'queued', detail: expect.stringMatching(/shutdown/) });
  });
});
