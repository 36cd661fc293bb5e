// Upgrading a node in place: the data folder of the last release (0.1.0: its database schemas exactly as that
// release created them, test/fixtures/release-0.1.0, with jobs in every state and their history), then the new node
// started on it. Every job keeps its state and history, waiting work resumes and is delivered once, finished work
// is not sent again; a database written by a newer release is refused with a clear message.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { colin27Available, writeHeadSeries } from '../bench/harness/head-series.js';
import { freePort } from '../bench/harness/peers.js';
import { JOB_SCHEMA } from '../src/jobs/state/sqlite/schema.js';
import { SqliteJobStore } from '../src/jobs/state/sqlite/store.js';
import { Accounts, hashPassword } from '../src/ops/accounts.js';
import { OPS_SCHEMA } from '../src/ops/accounts-schema.js';
import { fromPart10 } from '../src/pipeline/dicom/dcmjs.js';
import { SchemaTooNewError } from '../src/sqlite-schema.js';
import { repoRoot, tempDir } from './derived-fixtures.js';
import { type Node, type Orthanc, cliPath, createOrthanc, e2eRequirements, startNode, waitFor } from './e2e-fixtures.js';

const run = promisify(execFile);
const fixtures = path.join(repoRoot, 'test/fixtures/release-0.1.0');

function release010Database(file: string, schema: 'jobs' | 'ops'): Database.Database {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(fs.readFileSync(path.join(fixtures, `${schema}.sql`), 'utf8'));
  return db;
}

interface OldJob {
  state: string;
  /** The states it went through before, oldest first, each with its detail. */
  history: Array<[state: string, detail: string | null]>;
  reason?: string;
  series?: { studyInstanceUid: string; seriesInstanceUid: string; files: Array<{ sopInstanceUid: string; bytes: Buffer }> };
}

/** A job as release 0.1.0 wrote it: inserted receiving, then moved through its states (the triggers record them). */
function insertOldJob(db: Database.Database, job: OldJob, n: number): number {
  const study = job.series?.studyInstanceUid ?? `1.2.826.0.1.3680043.10.1234.1.${n}`;
  const series = job.series?.seriesInstanceUid ?? `1.2.826.0.1.3680043.10.1234.2.${n}`;
  const at = new Date(Date.UTC(2026, 10, 30, 10, n)).toISOString();
  const files = job.series?.files ?? [];
  const bytes = files.reduce((sum, f) => sum + f.bytes.length, 0);
  const { lastInsertRowid } = db
    .prepare(
      `INSERT INTO jobs (study_instance_uid, series_instance_uid, calling_ae, modality, series_description, sop_class_uid, state, detail,
         instances, bytes, created_at, updated_at, last_instance_at, patient_name, patient_id)
       VALUES (?, ?, 'PACS', 'MR', 't1_mprage_sag', '1.2.840.10008.5.1.4.1.1.4', 'receiving', NULL, ?, ?, ?, ?, ?, 'Upgrade^Test', ?)`,
    )
    .run(study, series, files.length, bytes, at, at, at, `P${n}`);
  const id = Number(lastInsertRowid);
  for (const file of files) {
    db.prepare('INSERT INTO instances (series_instance_uid, sop_instance_uid, bytes, received_at) VALUES (?, ?, ?, ?)').run(series, file.sopInstanceUid, file.bytes.length, at);
  }
  for (const [state, detail] of job.history) {
    db.prepare('UPDATE jobs SET state = ?, detail = ?, attempts = attempts + ?, updated_at = ? WHERE id = ?').run(state, detail, state === 'processing' ? 1 : 0, at, id);
  }
  if (job.reason) db.prepare('UPDATE jobs SET reason = ?, finished_at = ? WHERE id = ?').run(job.reason, at, id);
  if (job.state === 'done') db.prepare('UPDATE jobs SET finished_at = ? WHERE id = ?').run(at, id);
  return id;
}

describe('database schemas carry a version and migrate forward', () => {
  test('a 0.1.0 job database is adopted: every job and event kept, the version recorded', async () => {
    const file = path.join(tempDir('upgrade-unit'), 'jobs.sqlite');
    const db = release010Database(file, 'jobs');
    const states = ['receiving', 'complete', 'queued', 'processing', 'sending', 'done', 'failed'];
    const ids = states.map((state, n) =>
      insertOldJob(db, { state, history: states.slice(1, states.indexOf(state) + 1).map((s) => [s, `${s} step`]), reason: state === 'failed' ? 'it failed' : undefined }, n),
    );
    const eventsBefore = ids.map((id) => db.prepare('SELECT at, state, detail FROM job_events WHERE job_id = ? ORDER BY id').all(id));
    db.close();

    const store = new SqliteJobStore(file);
    try {
      for (const [n, id] of ids.entries()) {
        expect((await store.get(id))!.state).toBe(states[n]);
        expect((await store.events(id)).map(({ at, state, detail }) => ({ at, state, detail }))).toEqual(eventsBefore[n]);
      }
      expect((await store.get(ids[6]))!.reason).toBe('it failed');
    } finally {
      await store.close();
    }
    const reopened = new Database(file);
    expect(reopened.pragma('user_version', { simple: true })).toBe(JOB_SCHEMA.length);
    reopened.close();
  });

  test('a 0.1.0 operations database keeps its users, who can still log in', async () => {
    const file = path.join(tempDir('upgrade-unit'), 'ops.sqlite');
    const db = release010Database(file, 'ops');
    db.prepare('INSERT INTO users (name, role, password, created_at) VALUES (?, ?, ?, ?)').run('alice', 'admin', await hashPassword('correct horse battery'), '2026-11-30T10:00:00Z');
    db.close();
    const accounts = new Accounts(file);
    expect((await accounts.users()).map((u) => u.name)).toEqual(['alice']);
    expect(await accounts.login('alice', 'correct horse battery')).toBeDefined();
    await accounts.close();
    const reopened = new Database(file);
    expect(reopened.pragma('user_version', { simple: true })).toBe(OPS_SCHEMA.length);
    reopened.close();
  });

  test('a database of a newer release is refused, by the store and by the node, with what to do', async () => {
    const dataDir = tempDir('upgrade-newer');
    const file = path.join(dataDir, 'jobs.sqlite');
    await new SqliteJobStore(file).close();
    const db = new Database(file);
    db.pragma(`user_version = ${JOB_SCHEMA.length + 1}`);
    db.close();
    expect(() => new SqliteJobStore(file)).toThrow(SchemaTooNewError);
    expect(() => new SqliteJobStore(file)).toThrow(/schema version \d+, newer than this brainstrip knows/);

    fs.writeFileSync(path.join(dataDir, 'config.json'), JSON.stringify({ dataDir, log: { file: '' }, receive: { port: await freePort() }, http: { port: await freePort() } }));
    const failure = await run(process.execPath, [cliPath, 'serve', '--config', path.join(dataDir, 'config.json')], { timeout: 60_000 }).then(
      () => undefined,
      (error: { code: number; stderr: string; stdout: string }) => error,
    );
    expect(failure, 'the node must not start on a newer database').toBeDefined();
    expect(failure!.code).toBe(2);
    expect(failure!.stderr + failure!.stdout).toMatch(/newer than this brainstrip knows .*restore a backup/s);
  });
});

const missing = e2eRequirements() ?? (colin27Available() ? undefined : 'Colin27 (Debian package mricron-data) not installed');
if (missing && process.env.CI === 'true') throw new Error(`the upgrade test cannot run under CI: ${missing}`);
if (missing) console.warn(`skipping the end-to-end upgrade test: ${missing}`);

describe.skipIf(missing !== undefined)('a node started on the data folder of release 0.1.0', () => {
  let orthanc: Orthanc;
  let node: Node | undefined;

  beforeAll(async () => {
    orthanc = await createOrthanc();
    await orthanc.start();
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    await orthanc?.stop();
  });

  test('every job keeps its state and history; waiting work resumes and is delivered once; finished work is not sent again', async () => {
    const dataDir = tempDir('upgrade-node');
    const spoolSeries = path.join(dataDir, 'spool', 'series');
    // Series whose instances are in the spool: the work that was waiting when 0.1.0 stopped.
    const head = async (description: string) => {
      const written = await writeHeadSeries(tempDir('upgrade-series'), { rows: 96, columns: 96, slices: 150, pixelSpacing: 2.5, seriesDescription: description });
      const files = written.paths.map((file) => {
        const bytes = fs.readFileSync(file);
        return { sopInstanceUid: String(fromPart10(bytes, true).dataset.SOPInstanceUID), bytes };
      });
      const dir = path.join(spoolSeries, written.studyInstanceUid, written.seriesInstanceUid);
      fs.mkdirSync(dir, { recursive: true });
      for (const file of files) fs.writeFileSync(path.join(dir, `${file.sopInstanceUid}.dcm`), file.bytes);
      return { studyInstanceUid: written.studyInstanceUid, seriesInstanceUid: written.seriesInstanceUid, files };
    };
    const jobs: OldJob[] = [
      { state: 'receiving', history: [], series: await head('receiving') },
      { state: 'complete', history: [['complete', null]], series: await head('complete') },
      { state: 'queued', history: [['complete', null], ['queued', null]], series: await head('queued') },
      { state: 'processing', history: [['complete', null], ['queued', null], ['processing', 'registering to atlas']], series: await head('processing') },
      { state: 'sending', history: [['complete', null], ['queued', null], ['processing', 'segmenting'], ['sending', 'results ready']], series: await head('sending') },
      { state: 'done', history: [['complete', null], ['queued', null], ['processing', 'segmenting'], ['sending', 'results ready'], ['done', 'sent to ARCHIVE']] },
      { state: 'failed', history: [['complete', null], ['queued', null], ['processing', 'reading'], ['failed', 'reading']], reason: 'no pixel data' },
    ];
    const db = release010Database(path.join(dataDir, 'jobs.sqlite'), 'jobs');
    const ids = jobs.map((job, n) => insertOldJob(db, job, n));
    const historyBefore = ids.map((id) => db.prepare('SELECT at, state, detail FROM job_events WHERE job_id = ? ORDER BY id').all(id) as Array<{ at: string; state: string; detail: string | null }>);
    db.close();
    release010Database(path.join(dataDir, 'ops.sqlite'), 'ops').close();

    node = await startNode(
      { destinations: [{ aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort }], retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 2000 } },
      { dataDir },
    );
    const waiting = ids.slice(0, 5);
    const finished = await waitFor(
      'the waiting jobs to finish',
      async () => {
        const { jobs: now } = await node!.jobs();
        const mine = waiting.map((id) => now.find((j) => j.id === id));
        return mine.every((j) => j && ['done', 'failed'].includes(j.state)) ? mine : undefined;
      },
      600_000,
      1000,
    );
    for (const job of finished) expect(job!.state, `job ${job!.id}: ${job!.reason}\n${node.log().slice(-3000)}`).toBe('done');

    const { jobs: listed } = await node.jobs();
    expect(listed.map((j) => j.id).sort((a, b) => a - b)).toEqual(ids);
    expect(listed.find((j) => j.id === ids[5])!.state).toBe('done');
    const failed = listed.find((j) => j.id === ids[6])!;
    expect(failed.state).toBe('failed');
    expect(failed.reason).toBe('no pixel data');
    // History kept: every job's events begin with what 0.1.0 recorded; finished jobs got nothing new.
    for (const [n, id] of ids.entries()) {
      const events = (await (await fetch(`http://127.0.0.1:${node.httpPort}/api/jobs/${id}`)).json()).events as Array<{ at: string; state: string; detail: string | null }>;
      expect(events.slice(0, historyBefore[n].length).map(({ at, state, detail }) => ({ at, state, detail }))).toEqual(historyBefore[n]);
      if (n >= 5) expect(events).toHaveLength(historyBefore[n].length);
    }
    // Each waiting series delivered once: its skull-stripped series with one object per source instance, and a SEG.
    const series = await orthanc.get<Array<{ Instances: string[]; MainDicomTags: Record<string, string> }>>('/series?expand');
    expect(series.filter((s) => s.MainDicomTags.Modality === 'SEG')).toHaveLength(5);
    const derived = series.filter((s) => s.MainDicomTags.Modality === 'MR');
    expect(derived).toHaveLength(5);
    for (const s of derived) expect(s.Instances).toHaveLength(150);
    const statistics = await orthanc.get<{ CountInstances: number }>('/statistics');
    expect(statistics.CountInstances).toBe(5 * 151);
  });
});
