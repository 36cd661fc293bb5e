// Sending is a stage of its own: a job whose results are on disk frees its processing slot and waits in `sending`
// for a sending slot, so an archive that is down holds up no computation; a sending job resumes sending after a
// restart, and a job that failed in sending is retried (POST /api/jobs/:id/retry) without computing again. Each
// archive receives every object exactly once. The node runs in this process with the real series processor, a
// real archive (DCMTK's storescp) and a stand-in for the worker pool, so that computing takes no model.
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { type RunningNode, startNode } from '../src/cli/serve.js';
import { createSeriesProcessor } from '../src/jobs/processing/process-series.js';
import { stageDurations } from '../src/jobs/state/stages.js';
import { JobRunner } from '../src/jobs/runner.js';
import { SqliteJobStore } from '../src/jobs/state/sqlite/store.js';
import type { Job } from '../src/jobs/state/job.js';
import { type JobContext, ResultsMissingError, type SeriesProcessor } from '../src/jobs/processing/contract.js';
import { configureLogging } from '../src/log.js';
import { Accounts } from '../src/ops/accounts.js';
import { writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { fromPart10 } from '../src/pipeline/dicom/dcmjs.js';
import { tempDir } from './derived-fixtures.js';
import { toolsMissing } from './tools.js';
import { storescu } from './e2e-fixtures.js';
import { freePort, waitForPort } from './scu-fixtures.js';
import { standInExtractor } from './job-fixtures.js';

configureLogging({ level: 'warn', stream: 'stderr' });

const SLICES = 4;
/** Objects sent per series: one skull-stripped image per slice and the SEG. */
const OBJECTS = SLICES + 1;

/** A models folder listing one FP32 model (results are reused only for the model that computed them). */
function writeModels(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const weights = 'weights';
  fs.writeFileSync(path.join(dir, 'brainstrip-efficient-fp32.onnx'), weights);
  const sha256 = crypto.createHash('sha256').update(weights).digest('hex');
  const models = [{ name: 'brainstrip-efficient', version: '2.0.0', precision: 'FP32', file: 'brainstrip-efficient-fp32.onnx' }];
  fs.writeFileSync(path.join(dir, 'checksums.json'), JSON.stringify({ files: { 'brainstrip-efficient-fp32.onnx': sha256 }, models }));
}

/** DCMTK's storescp keeping every object it receives in a file of its own (a duplicate would be a second file). */
async function startArchive(dir: string, port: number): Promise<{ sopInstanceUids(): string[]; stop(): Promise<void> }> {
  fs.mkdirSync(dir, { recursive: true });
  const child: ChildProcess = spawn('storescp', ['+uf', '--aetitle', 'ARCHIVE', '--output-directory', dir, String(port)], { stdio: 'ignore' });
  await waitForPort(port);
  return {
    sopInstanceUids: () =>
      fs
        .readdirSync(dir)
        .filter((f) => !f.startsWith('.'))
        .map((f) => String(fromPart10(fs.readFileSync(path.join(dir, f)), true).dataset.SOPInstanceUID)),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const missing = toolsMissing('the send stage tests', 'storescp', 'storescu');
if (missing) console.warn(`skipping the send stage tests: ${missing}`);

describe.skipIf(missing !== undefined)('sending is a stage of its own', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setUp(options: { sendConcurrency?: number; maxAttempts?: number; apiWithoutLogin?: boolean } = {}) {
    const dir = tempDir('send-stage');
    const modelsDir = path.join(dir, 'models');
    writeModels(modelsDir);
    const archivePort = await freePort(); // nothing listens there until the test starts the archive
    const config = loadConfig({
      overrides: {
        dataDir: path.join(dir, 'data'),
        log: { file: '' },
        receive: { aeTitle: 'BRAINSTRIP', port: 0, seriesIdleSeconds: 1 },
        http: { port: 0, host: '127.0.0.1' },
        model: { dir: modelsDir, precision: 'FP32' },
        jobs: { concurrency: 1 },
        ops: { apiWithoutLogin: options.apiWithoutLogin ?? true },
        results: {
          uidRoot: '1.2.826.0.1.3680043.10.1234',
          destinations: [{ aeTitle: 'ARCHIVE', host: '127.0.0.1', port: archivePort }],
          sendConcurrency: options.sendConcurrency ?? 2,
          retry: { maxAttempts: options.maxAttempts ?? 0, initialDelayMs: 100, maxDelayMs: 300 },
          timeouts: { connectMs: 1000 },
        },
      },
    });
    const computed: string[] = [];
    let node: RunningNode | undefined;
    const start = async () => {
      node = await startNode(config, { processor: createSeriesProcessor(config, {
          extractor: standInExtractor(modelsDir, async (c) => {
            computed.push(c.seriesInstanceUid ?? '?');
            await new Promise((r) => setTimeout(r, 50));
          }),
        }) });
      return node;
    };
    cleanups.push(async () => node?.stop());
    const series = async (name: string) =>
      writeSyntheticSeries(path.join(dir, 'series', name), {
        rows: 8,
        columns: 8,
        slices: SLICES,
        attributes: { Modality: 'MR', SeriesDescription: `T1 ${name}`, SeriesNumber: 3 },
      });
    const archive = async () => {
      const a = await startArchive(path.join(dir, 'archive'), archivePort);
      cleanups.push(() => a.stop());
      return a;
    };
    const jobOf = async (seriesInstanceUid: string): Promise<Job | undefined> => await node!.store.latestJobOfSeries(seriesInstanceUid);
    const api = (route: string, init?: RequestInit) => fetch(`http://127.0.0.1:${node!.httpPort}${route}`, init);
    return { dir, config, computed, start, series, archive, jobOf, api, node: () => node! };
  }

  test('with the archive down, the next series is computed while the first waits in sending; both arrive once, each object once', async () => {
    const t = await setUp();
    const node = await t.start();
    const first = await t.series('first');
    const second = await t.series('second');

    await storescu(node.dicomPort, 'BRAINSTRIP', first.paths);
    // The first job's results are ready and delivery has failed at least once.
    await until('the first job to retry sending', async () => /attempt [2-9]/.test((await t.jobOf(first.seriesInstanceUid))?.detail ?? ''));

    await storescu(node.dicomPort, 'BRAINSTRIP', second.paths);
    // One processing slot (jobs.concurrency 1): the second series is computed all the same, and waits in sending too.
    await until('the second job to be computed', async () => (await t.jobOf(second.seriesInstanceUid))?.state === 'sending');
    expect((await t.jobOf(first.seriesInstanceUid))!.state).toBe('sending');
    expect(t.computed.sort()).toEqual([first.seriesInstanceUid, second.seriesInstanceUid].sort());

    const archive = await t.archive();
    for (const s of [first, second]) await until(`series ${s.seriesInstanceUid} to be done`, async () => (await t.jobOf(s.seriesInstanceUid))?.state === 'done');
    const received = archive.sopInstanceUids();
    expect(received).toHaveLength(2 * OBJECTS);
    expect(new Set(received).size).toBe(2 * OBJECTS);
    expect(t.computed).toHaveLength(2);

    // Every stage a job went through was measured, under the stage's name; the queue depth per state is there too.
    const metrics = await (await t.api('/metrics')).text();
    for (const stage of ['waiting', 'reading', 'registration', 'segmentation', 'building', 'sending']) {
      expect(metrics).toMatch(new RegExp(`brainstrip_job_stage_seconds_count\\{stage="${stage}"\\} 2`));
    }
    expect(metrics).toMatch(/brainstrip_jobs_done_total 2/);
    expect(metrics).toMatch(/brainstrip_jobs\{state="sending"\} 0/);
  }, 120_000);

  test('a job sending at shutdown resumes sending after the restart, without computing again', async () => {
    const t = await setUp();
    let node = await t.start();
    const s = await t.series('restart');
    await storescu(node.dicomPort, 'BRAINSTRIP', s.paths);
    await until('the job to retry sending', async () => /attempt [2-9]/.test((await t.jobOf(s.seriesInstanceUid))?.detail ?? ''));
    const job = (await t.jobOf(s.seriesInstanceUid))!;
    const manifest = path.join(t.config.dataDir, 'work', String(job.id), 'results', 'manifest.json');
    const createdAt = JSON.parse(fs.readFileSync(manifest, 'utf8')).createdAt;
    await node.stop();
    expect(t.computed).toHaveLength(1);

    const archive = await t.archive();
    node = await t.start();
    await until('the job to be done', async () => (await t.jobOf(s.seriesInstanceUid))?.state === 'done');
    expect(t.computed).toHaveLength(1);
    expect(JSON.parse(fs.readFileSync(manifest, 'utf8')).createdAt).toBe(createdAt);
    const timeline = await node.store.events(job.id);
    const restarted = timeline.findIndex((e) => e.detail === 'interrupted while sending by a restart; sends again');
    expect(restarted).toBeGreaterThan(0);
    expect(timeline.slice(restarted).map((e) => e.state)).not.toContain('processing');
    expect((await node.store.get(job.id))!.attempts).toBe(1);
    const received = archive.sopInstanceUids();
    expect(received).toHaveLength(OBJECTS);
    expect(new Set(received).size).toBe(OBJECTS);
  }, 120_000);

  test('a job that failed in sending is retried from the API: it sends without computing again, under the page’s access rules', async () => {
    const t = await setUp({ maxAttempts: 2, apiWithoutLogin: false });
    const accounts = new Accounts(path.resolve(t.config.dataDir, t.config.ops.database));
    cleanups.push(() => accounts.close());
    await accounts.setUser('alice', 'admin', 'correct horse battery');
    const node = await t.start();
    const s = await t.series('retry');
    await storescu(node.dicomPort, 'BRAINSTRIP', s.paths);
    const failed = await until('the job to fail', async () => {
      const job = await t.jobOf(s.seriesInstanceUid);
      return job?.state === 'failed' ? job : undefined;
    });
    expect(failed.reason).toMatch(/not delivered/);
    await t.archive();

    // Without a login the API refuses; with one, a POST needs the session's CSRF token.
    expect((await t.api(`/api/jobs/${failed.id}/retry`, { method: 'POST' })).status).toBe(401);
    const login = await t.api('/login', {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user: 'alice', password: 'correct horse battery', next: '/' }).toString(),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    expect(cookie).toMatch(/^brainstrip_session=/);
    expect((await t.api(`/api/jobs/${failed.id}/retry`, { method: 'POST', headers: { cookie } })).status).toBe(403);
    const { csrf } = (await (await t.api('/api/session', { headers: { cookie } })).json()) as { csrf: string };
    const retried = await t.api(`/api/jobs/${failed.id}/retry`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } });
    expect(retried.status).toBe(200);
    expect(((await retried.json()) as { job: Job }).job.state).toBe('sending');

    await until('the retried job to be done', async () => (await t.jobOf(s.seriesInstanceUid))?.state === 'done');
    expect(t.computed).toHaveLength(1);
    const timeline = await node.store.events(failed.id);
    const retry = timeline.findIndex((e) => e.detail === 'retry requested by alice');
    expect(timeline[retry].state).toBe('sending');
    expect(timeline.slice(retry).map((e) => e.state)).not.toContain('processing');
    expect((await accounts.auditLog(10)).some((e) => e.user === 'alice' && e.action === '/api/jobs/:id/retry' && /sends its results again/.test(e.outcome))).toBe(true);

    // GET /api/jobs/:id: seconds per stage, named, and the changes they come from.
    const detail = (await (await t.api(`/api/jobs/${failed.id}`, { headers: { cookie } })).json()) as { stages: Record<string, number>; events: unknown[] };
    expect(Object.keys(detail.stages)).toEqual(['receiving', 'waiting', 'processing', 'reading', 'extraction', 'registration', 'segmentation', 'building', 'sending']);
    for (const seconds of Object.values(detail.stages)) expect(seconds).toBeGreaterThanOrEqual(0);
    expect(detail.events).toHaveLength(timeline.length);
  }, 120_000);
});

describe('stage durations and recovery of sending jobs', () => {
  test('a job’s events give the seconds per stage, retries summed, ends not counted', () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const events = [
      { at: at(0), stage: 'receiving' },
      { at: at(2), stage: 'receiving' },
      { at: at(2), stage: 'waiting' },
      { at: at(5), stage: 'processing' },
      { at: at(5), stage: 'reading' },
      { at: at(6), stage: 'registration' },
      { at: at(10), stage: 'segmentation' },
      { at: at(30), stage: 'building' },
      { at: at(31), stage: 'sending' },
      { at: at(40), stage: null },
      { at: at(100), stage: 'sending' },
      { at: at(103), stage: null },
    ] as const;
    expect(stageDurations(events, Date.parse(at(200)))).toEqual({
      receiving: 2,
      waiting: 3,
      processing: 0,
      reading: 1,
      registration: 4,
      segmentation: 20,
      building: 1,
      sending: 12,
    });
  });

  test('after a restart a sending job with results goes on sending; one without goes back to the queue', async () => {
    const store = new SqliteJobStore(path.join(tempDir('send-recover'), 'jobs.sqlite'));
    try {
      const job = async (n: number) => {
        const { job } = await store.recordInstance({ studyInstanceUid: '1.2', seriesInstanceUid: `1.2.${n}`, sopInstanceUid: `1.2.${n}.1`, bytes: 1 });
        await store.markComplete(job.id);
        await store.claimNext();
        await store.transition(job.id, 'resultsReady', { detail: '0 of 5 object(s) to ARCHIVE, attempt 3' });
        return job.id;
      };
      const withResults = await job(1);
      const without = await job(2);
      const { resending, requeued } = await store.recoverAfterRestart(2, (j) => j.id === withResults);
      expect(resending.map((j) => j.id)).toEqual([withResults]);
      expect(requeued.map((j) => j.id)).toEqual([without]);
      expect(await store.get(withResults)).toMatchObject({ state: 'sending', detail: 'interrupted while sending by a restart; sends again' });
      expect(await store.get(without)).toMatchObject({ state: 'queued' });
      expect((await store.nextToSend([]))?.id).toBe(withResults);
      expect(await store.nextToSend([withResults])).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});

describe('the runner’s two queues', () => {
  function setUp(processor: SeriesProcessor, sendConcurrency = 1) {
    const dir = tempDir('send-queues');
    const store = new SqliteJobStore(path.join(dir, 'jobs.sqlite'));
    const runner = new JobRunner(store, processor, { concurrency: 1, sendConcurrency, workDir: (job) => path.join(dir, 'work', String(job.id)), instancePaths: async () => [], pollMs: 50 });
    const queue = async (n: number) => {
      const { job } = await store.recordInstance({ studyInstanceUid: '1.2', seriesInstanceUid: `1.2.${n}`, sopInstanceUid: `1.2.${n}.1`, bytes: 1 });
      await store.markComplete(job.id);
      return job.id;
    };
    return { store, runner, queue };
  }

  test('a send that waits frees the processing slot at once; the send slots bound how many jobs send', async () => {
    const computed: number[] = [];
    const sends: number[] = [];
    let release = () => {};
    const archiveUp = new Promise<void>((resolve) => (release = resolve));
    const { store, runner, queue } = setUp({
      async compute(ctx) {
        computed.push(ctx.job.id);
        ctx.step('reading', 'reading 1 instance(s)');
      },
      async send(ctx: JobContext) {
        sends.push(ctx.job.id);
        ctx.progress('1 of 1 object(s) to ARCHIVE');
        await archiveUp;
      },
      hasResults: () => true,
    });
    const a = await queue(1);
    const b = await queue(2);
    runner.start();
    try {
      await until('both jobs to be computed', async () => computed.length === 2 && (await store.get(b))!.state === 'sending');
      expect(runner.active).toBe(0);
      expect((await store.get(a))!.state).toBe('sending');
      expect(sends).toEqual([a]); // one send slot: b waits for it
      expect((await store.get(b))!.detail).toBe('results ready; waiting to send');
      release();
      await until('both jobs to be done', async () => (await store.get(a))!.state === 'done' && (await store.get(b))!.state === 'done');
      expect(sends).toEqual([a, b]);
    } finally {
      await runner.close(100);
      await store.close();
    }
  });

  test('sending without results on disk computes the job again; a shutdown while sending leaves it sending', async () => {
    let computed = 0;
    let onDisk = false;
    const { store, runner, queue } = setUp({
      async compute() {
        computed++;
        onDisk = computed > 1; // the first results are lost before sending
      },
      async send(ctx) {
        if (!onDisk) throw new ResultsMissingError('no results on disk');
        await new Promise((_, reject) => ctx.signal!.addEventListener('abort', () => reject(new Error('aborted'))));
      },
      hasResults: () => onDisk,
    });
    const id = await queue(1);
    runner.start();
    try {
      await until('the job to send its recomputed results', () => computed === 2 && runner.activeSends === 1);
      expect((await store.events(id)).some((e) => e.state === 'queued' && e.detail === 'results not on disk any more; computed again')).toBe(true);
    } finally {
      await runner.close(100);
    }
    expect(await store.get(id)).toMatchObject({ state: 'sending', detail: 'interrupted by shutdown; sends again at the next start' });
    await store.close();
  });
});
