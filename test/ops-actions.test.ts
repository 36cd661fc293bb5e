// What the operations page's buttons do to the job queue, without a browser: pauses are honoured by the runner
// and the processor, cancel and retry end or restart a job, and every change lands in the job's timeline. And the
// access rules underneath: scrypt-hashed passwords, sessions, and where each configuration value came from.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { configSources } from '../config/sources.js';
import { dataFolder } from '../src/data-folder.js';
import { NodeControls } from '../src/jobs/controls.js';
import { StoredLedger } from '../src/scu/ledger.js';
import { JobRunner } from '../src/jobs/runner.js';
import { SqliteJobStore } from '../src/jobs/state/sqlite/store.js';
import type { JobContext } from '../src/jobs/processing/contract.js';
import { hashPassword, verifyPassword } from '../src/ops/accounts.js';
import { personName } from '../src/ops/html.js';
import { describeJobs } from '../src/ops/job-facts.js';
import { writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { hasTool, tempDir } from './derived-fixtures.js';

const until = async (what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function queuedJob(store: SqliteJobStore, n = 1) {
  const uid = `1.2.3.${n}`;
  const { job } = await store.recordInstance({ studyInstanceUid: '1.2.3', seriesInstanceUid: uid, sopInstanceUid: `${uid}.1`, bytes: 10, callingAe: 'PACS' });
  await store.markComplete(job.id);
  return job.id;
}

describe('operator actions on the job queue', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function setUp(compute: (ctx: JobContext) => Promise<void>, send: (ctx: JobContext) => Promise<void> = async () => undefined) {
    const processor = { compute, send, hasResults: () => false };
    const dir = tempDir('ops-actions');
    const store = new SqliteJobStore(path.join(dir, 'jobs.sqlite'));
    const controls = new NodeControls(path.join(dir, 'paused.json'));
    const runner = new JobRunner(store, processor, { concurrency: 1, workDir: (job) => path.join(dir, 'work', String(job.id)), instancePaths: async () => [], controls, pollMs: 50 });
    cleanups.push(async () => await store.close(), () => runner.close(100));
    return { dir, store, controls, runner };
  }

  test('paused processing starts no job; resuming starts the queued one', async () => {
    const { store, controls, runner } = setUp(async () => undefined);
    await controls.set('processing', true, 'alice');
    const id = await queuedJob(store);
    runner.start();
    await new Promise((r) => setTimeout(r, 300));
    expect((await store.get(id))!.state).toBe('queued');
    await controls.set('processing', false, 'alice');
    await until('the job to be done', async () => (await store.get(id))!.state === 'done');
  });

  test('a pause survives a restart of the node', async () => {
    const dir = tempDir('ops-pause');
    await new NodeControls(path.join(dir, 'paused.json')).set('intake', true, 'alice');
    const again = new NodeControls(path.join(dir, 'paused.json'));
    expect(again.isPaused('intake')).toBe(true);
    expect(again.get('intake').by).toBe('alice');
    expect(again.isPaused('sending')).toBe(false);
  });

  test('paused sending holds a job with results before it sends, and lets it go on resume', async () => {
    let sent = false;
    const { store, controls, runner } = setUp(
      async (ctx) => ctx.step('extraction', 'brain extraction'),
      async (ctx) => {
        await ctx.whenSendingAllowed?.();
        sent = true;
      },
    );
    await controls.set('sending', true, 'alice');
    const id = await queuedJob(store);
    runner.start();
    await until('the job to wait', async () => (await store.get(id))!.detail === 'waiting: sending is paused');
    expect((await store.get(id))!.state).toBe('sending');
    expect(sent).toBe(false);
    await controls.set('sending', false, 'alice');
    await until('the job to be done', async () => (await store.get(id))!.state === 'done');
    expect(sent).toBe(true);
  });

  test('cancel ends a running job as failed with who cancelled it; retry queues it again and it completes', async () => {
    let calls = 0;
    const { store, runner } = setUp(async (ctx) => {
      calls++;
      if (calls === 1) await new Promise((_, reject) => ctx.signal!.addEventListener('abort', () => reject(new Error('aborted'))));
    });
    const id = await queuedJob(store);
    runner.start();
    await until('the job to run', () => runner.isRunning(id));
    expect(runner.interrupt(id, { state: 'failed', reason: 'cancelled by alice' })).toBe(true);
    await until('the job to fail', async () => (await store.get(id))!.state === 'failed');
    expect((await store.get(id))!.reason).toBe('cancelled by alice');

    expect(await store.transition(id, 'retry', { detail: 'retry requested by alice' })).toBe(true);
    runner.wake();
    await until('the retried job to be done', async () => (await store.get(id))!.state === 'done');
    const timeline = (await store.events(id)).map((e) => `${e.state}${e.detail ? `: ${e.detail}` : ''}${e.reason ? ` (${e.reason})` : ''}`);
    expect(timeline).toEqual([
      'receiving',
      'complete',
      'queued',
      'processing',
      'failed (cancelled by alice)',
      'queued: retry requested by alice',
      'processing',
      'sending: results ready; waiting to send',
      'done',
    ]);
  });

  test('a waiting job is cancelled without running; a running job restarted on request runs again', async () => {
    let calls = 0;
    const { store, runner } = setUp(async (ctx) => {
      calls++;
      if (calls === 1) await new Promise((_, reject) => ctx.signal!.addEventListener('abort', () => reject(new Error('aborted'))));
    });
    const first = await queuedJob(store, 1);
    const second = await queuedJob(store, 2);
    expect(await store.transition(second, 'cancel', { reason: 'cancelled by bob' })).toBe(true);
    expect(await store.transition(second, 'cancel', { reason: 'again' })).toBe(false);
    runner.start();
    await until('the first job to run', () => runner.isRunning(first));
    runner.interrupt(first, { state: 'queued', detail: 'retry requested by bob' });
    await until('the first job to be done', async () => (await store.get(first))!.state === 'done');
    expect(calls).toBe(2);
    expect((await store.get(second))!.state).toBe('failed');
  });

  test('jobs are found by patient ID, accession number or series description, state and calling AE', async () => {
    const { store } = setUp(async () => undefined);
    const a = await queuedJob(store, 1);
    const b = await queuedJob(store, 2);
    await store.describe(a, { patientName: 'Müller^Jürgen', patientId: 'P-100', accessionNumber: 'ACC7', studyDescription: 'Kopf', studyDate: '20260101', seriesNumber: '3' });
    await store.describe(b, { patientName: 'Yamada^Tarou=山田^太郎', patientId: 'P-200', accessionNumber: 'ACC8', studyDescription: '', studyDate: '', seriesNumber: '' });
    expect((await store.search({ text: 'p-100' })).map((j) => j.id)).toEqual([a]);
    expect((await store.search({ text: 'ACC8' })).map((j) => j.id)).toEqual([b]);
    expect((await store.search({ text: '山田' })).map((j) => j.id)).toEqual([b]);
    expect(await store.search({ text: '%' })).toEqual([]);
    expect(await store.search({ callingAe: 'PACS', state: 'queued' })).toHaveLength(2);
    expect(await store.search({ callingAe: 'OTHER' })).toHaveLength(0);
    expect(await store.search({ from: new Date(Date.now() + 60_000).toISOString() })).toHaveLength(0);
  });
});

describe('access to the operations page', () => {
  test('passwords are stored as scrypt hashes that verify only the right password', async () => {
    const hash = await hashPassword('correct horse');
    expect(hash).toMatch(/^scrypt\$32768\$8\$3\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(hash).not.toContain('correct horse');
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsE', hash)).toBe(false);
    expect(await hashPassword('correct horse')).not.toBe(hash); // salted
  });

  test('the configuration page names each value’s source and masks secrets', () => {
    const dir = tempDir('ops-config');
    const file = path.join(dir, 'site.json');
    // The configuration refuses TLS files it cannot read, so these exist (their content is not looked at).
    for (const pem of ['cert.pem', 'key.pem']) fs.writeFileSync(path.join(dir, pem), '');
    fs.writeFileSync(file, JSON.stringify({ receive: { aeTitle: 'NODE1' }, tls: { certificate: path.join(dir, 'cert.pem'), privateKey: path.join(dir, 'key.pem') } }));
    const env = { BRAINSTRIP_HTTP_PORT: '9090' };
    const config = loadConfig({ file, overrides: { http: { port: 9090 } } });
    const values = new Map(configSources(config as unknown as Record<string, unknown>, file, env).map((v) => [v.key, v]));
    expect(values.get('receive.aeTitle')).toMatchObject({ value: 'NODE1', source: 'file' });
    expect(values.get('http.port')).toMatchObject({ value: 9090, source: 'environment', env: 'BRAINSTRIP_HTTP_PORT' });
    expect(values.get('receive.port')).toMatchObject({ value: 11112, source: 'default' });
    expect(values.get('tls.privateKey')).toMatchObject({ source: 'file', secret: true });
    expect(JSON.stringify([...values.values()])).not.toContain('key.pem');
  });
});

describe.skipIf(!hasTool('dcmodify') || !hasTool('iconv'))('names on the page are the ones the scanner wrote', () => {
  // DCMTK writes the raw bytes given to it: Latin-1 for ISO_IR 100, ISO 2022 escapes for Japanese (IR 87).
  for (const [charset, encoded, shown] of [
    ['ISO_IR 100', Buffer.from('Müller^Jörg', 'latin1'), 'Müller, Jörg'],
    [
      '\\ISO 2022 IR 87',
      execFileSync('iconv', ['-f', 'UTF-8', '-t', 'ISO-2022-JP'], { input: 'Yamada^Tarou=山田^太郎=やまだ^たろう' }),
      'Yamada, Tarou / 山田, 太郎 / やまだ, たろう',
    ],
  ] as [string, Buffer, string][]) {
    test(`${charset}: ${shown}`, async () => {
      const dir = tempDir('ops-names');
      const series = await writeSyntheticSeries(path.join(dir, 'series'), { rows: 4, columns: 4, slices: 3 });
      const script = path.join(dir, 'name.sh');
      fs.writeFileSync(`${script}.name`, encoded);
      fs.writeFileSync(script, `dcmodify -nb -m "(0008,0005)=${charset.replace(/\\/g, '\\\\')}" -m "(0010,0010)=$(cat '${script}.name')" -m "(0008,0050)=ACC-42" "$@"\n`);
      execFileSync('bash', [script, ...series.paths]);
      const store = new SqliteJobStore(path.join(dir, 'jobs.sqlite'));
      try {
        const { job } = await store.recordInstance({ studyInstanceUid: series.studyInstanceUid, seriesInstanceUid: series.seriesInstanceUid, sopInstanceUid: '1.2.3', bytes: 1 });
        const folder = dataFolder(loadConfig({ overrides: { dataDir: dir } }));
        await describeJobs({ store, folder, destinations: [], ledger: new StoredLedger(folder.storedLedger), instancePaths: async () => series.paths }, await store.undescribed());
        const described = (await store.get(job.id))!;
        expect(personName(described.patientName)).toBe(shown);
        expect(described.patientId).toBe('SYNTH-1');
        expect((await store.search({ text: 'acc-42' })).map((j) => j.id)).toEqual([job.id]);
        expect(await store.undescribed()).toHaveLength(0);
      } finally {
        await store.close();
      }
    });
  }
});
