// The job's state: it changes only by the named transitions, which the store refuses from a state the table does
// not list; every change is an event carrying the stage as a typed value, so the stage figures (the histogram, the
// job page) do not depend on the words of the detail text; and a job database of an earlier version still opens.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import type { JobContext, SeriesProcessor } from '../src/jobs/processing/contract.js';
import { JobRunner } from '../src/jobs/runner.js';
import { JOB_STATES, type JobState, PROCESSING_STEPS } from '../src/jobs/state/job.js';
import { SqliteJobStore } from '../src/jobs/state/sqlite/store.js';
import type { JobStore } from '../src/jobs/state/store.js';
import { stageDurations } from '../src/jobs/state/stages.js';
import { TRANSITIONS, type TransitionName, isAllowed } from '../src/jobs/state/transitions.js';
import { MetricsRegistry } from '../src/metrics.js';
import { configureLogging } from '../src/log.js';
import { tempDir } from './derived-fixtures.js';
import { PATH_TO, jobStoreKinds } from './job-stores.js';

configureLogging({ level: 'warn', stream: 'stderr' });
const STORES = jobStoreKinds('the job state tests');

async function newJob(store: JobStore, n: number, state: JobState): Promise<number> {
  const { job } = await store.recordInstance({ studyInstanceUid: '1.2', seriesInstanceUid: `1.2.${n}`, sopInstanceUid: `1.2.${n}.1`, bytes: 1 });
  for (const step of PATH_TO[state]) expect(await store.transition(job.id, step)).toBe(true);
  expect((await store.get(job.id))!.state).toBe(state);
  return job.id;
}

async function until(what: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await what()); i++) await new Promise((r) => setTimeout(r, 25));
  expect(await what()).toBe(true);
}

describe('job state', () => {
  test('the transition table: where each transition leads, and from which states', () => {
    const table = Object.fromEntries(Object.entries(TRANSITIONS).map(([name, t]) => [name, `${[...t.from].join('|')} → ${t.to}`]));
    expect(table).toEqual({
      reopen: 'complete|queued → receiving',
      complete: 'receiving → complete',
      enqueue: 'complete → queued',
      claim: 'queued → processing',
      step: 'processing → processing',
      resultsReady: 'processing → sending',
      sendProgress: 'sending → sending',
      hold: 'sending → sending',
      release: 'sending → sending',
      delivered: 'sending → done',
      fail: 'processing|sending → failed',
      cancel: 'receiving|complete|queued|sending → failed',
      requeue: 'processing|sending → queued',
      retry: 'done|failed → queued',
      resend: 'done|failed → sending',
    });
    // Nothing leads from an end but an operator's retry or re-send, and nothing skips the computation.
    for (const [name, t] of Object.entries(TRANSITIONS)) {
      if (t.from.some((s) => s === 'done' || s === 'failed')) expect(['retry', 'resend']).toContain(name);
      if (t.to === 'processing') expect(t.from.every((s) => s === 'queued' || s === 'processing')).toBe(true);
    }
  });
});

describe.each(STORES)('job state on $kind', ({ missing, open }) => {

  test.skipIf(missing)('the store applies a transition only from the states the table allows; a refused one changes nothing', async () => {
    const store = await open('transitions');
    try {
      let n = 0;
      for (const name of Object.keys(TRANSITIONS) as TransitionName[]) {
        for (const from of JOB_STATES) {
          const id = await newJob(store, n++, from);
          const before = (await store.get(id))!;
          const events = (await store.events(id)).length;
          const applied = await store.transition(id, name, { detail: 'changed' });
          expect({ name, from, applied }).toEqual({ name, from, applied: isAllowed(name, from) });
          const after = (await store.get(id))!;
          if (applied) {
            expect(after.state).toBe(TRANSITIONS[name].to);
            expect(after.detail).toBe('changed');
            expect(after.finishedAt !== null).toBe(after.state === 'done' || after.state === 'failed');
          } else {
            expect(after).toEqual(before);
            expect(await store.events(id)).toHaveLength(events);
          }
        }
      }
    } finally {
      await store.close();
    }
  });

  test.skipIf(missing)('stages are typed values from the processing to the histogram and the page: reworded details change no figure', async () => {
    const stagesMeasured = async (words: (step: string) => string) => {
      const dir = tempDir('job-stages');
      const store = await open('stages');
      const metrics = new MetricsRegistry();
      const processor: SeriesProcessor = {
        async compute(ctx: JobContext) {
          for (const step of PROCESSING_STEPS) {
            ctx.step(step, words(step));
            await new Promise((r) => setTimeout(r, 5));
          }
        },
        async send(ctx: JobContext) {
          ctx.progress(words('sending'));
        },
        hasResults: () => false,
      };
      const runner = new JobRunner(store, processor, { concurrency: 1, workDir: (job) => path.join(dir, 'work', String(job.id)), instancePaths: async () => [], pollMs: 20 }, metrics);
      try {
        const id = await newJob(store, 1, 'queued');
        runner.start();
        await until(async () => (await store.get(id))!.state === 'done');
        const events = await store.events(id);
        const text = await metrics.render();
        const histogram = [...text.matchAll(/brainstrip_job_stage_seconds_count\{stage="([a-z]+)"\} (\d+)/g)].map((m) => `${m[1]} ${m[2]}`);
        return { stages: events.map((e) => e.stage), durations: Object.keys(stageDurations(events)), histogram };
      } finally {
        await runner.close(100);
        await store.close();
      }
    };
    const plain = await stagesMeasured((step) => `now ${step}`);
    const reworded = await stagesMeasured(() => 'etwas ganz anderes');
    expect(plain.stages).toEqual(['receiving', 'receiving', 'waiting', 'processing', ...PROCESSING_STEPS, 'sending', 'sending', null]);
    expect(plain.durations).toEqual(['receiving', 'waiting', 'processing', ...PROCESSING_STEPS, 'sending']);
    expect(plain.histogram).toEqual(expect.arrayContaining(['waiting 1', 'processing 1', ...PROCESSING_STEPS.map((s) => `${s} 1`), 'sending 1']));
    expect(reworded).toEqual(plain);
  });
});

describe('the SQLite job database', () => {

  test('a job database of the version before stages opens: its events get their stages, new events carry theirs', async () => {
    const file = path.join(tempDir('job-migration'), 'jobs.sqlite');
    const old = new Database(file);
    old.exec(`
      CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, study_instance_uid TEXT NOT NULL, series_instance_uid TEXT NOT NULL,
        calling_ae TEXT, modality TEXT, series_description TEXT, sop_class_uid TEXT, state TEXT NOT NULL, detail TEXT, reason TEXT,
        instances INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_instance_at TEXT, finished_at TEXT);
      CREATE TABLE job_events (id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL, at TEXT NOT NULL, state TEXT NOT NULL, detail TEXT, reason TEXT);
      CREATE TRIGGER job_created AFTER INSERT ON jobs BEGIN
        INSERT INTO job_events (job_id, at, state, detail, reason) VALUES (NEW.id, NEW.created_at, NEW.state, NEW.detail, NEW.reason);
      END;
      CREATE TRIGGER job_changed AFTER UPDATE OF state, detail ON jobs WHEN NEW.state IS NOT OLD.state OR NEW.detail IS NOT OLD.detail BEGIN
        INSERT INTO job_events (job_id, at, state, detail, reason) VALUES (NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), NEW.state, NEW.detail, NEW.reason);
      END;
      INSERT INTO jobs (study_instance_uid, series_instance_uid, state, created_at, updated_at) VALUES ('1.2', '1.2.3', 'receiving', '2026-01-01T10:00:00.000Z', '2026-01-01T10:00:00.000Z');
    `);
    for (const [state, detail] of [['queued', null], ['processing', null], ['processing', 'registering to the atlas'], ['processing', 'segmenting the brain'], ['sending', 'to ARCHIVE']]) {
      old.prepare('UPDATE jobs SET state = ?, detail = ? WHERE id = 1').run(state, detail);
    }
    old.close();

    const store = new SqliteJobStore(file);
    try {
      expect((await store.events(1)).map((e) => e.stage)).toEqual(['receiving', 'waiting', 'processing', 'registration', 'segmentation', 'sending']);
      expect(await store.get(1)).toMatchObject({ state: 'sending', stage: 'sending' });
      expect(await store.transition(1, 'delivered')).toBe(true);
      // One event per change (the earlier version's triggers are gone), with its stage.
      expect((await store.events(1)).slice(6)).toEqual([expect.objectContaining({ state: 'done', stage: null })]);
      const { job } = await store.recordInstance({ studyInstanceUid: '1.2', seriesInstanceUid: '1.2.4', sopInstanceUid: '1.2.4.1', bytes: 1 });
      expect(await store.events(job.id)).toEqual([expect.objectContaining({ state: 'receiving', stage: 'receiving' })]);
    } finally {
      await store.close();
    }
    expect(fs.existsSync(file)).toBe(true);
  });
});
