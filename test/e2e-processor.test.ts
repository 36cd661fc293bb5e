// The series processor as the job runner calls it, with the real pipeline and a real archive (storescp): it
// computes once, keeps the objects in the job folder, and after a restart (a new processor on the same data)
// sends nothing that the archive already confirmed — while a destination added later still gets everything.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { createSeriesProcessor } from '../src/jobs/processing/process-series.js';
import type { JobContext } from '../src/jobs/processing/contract.js';
import { configureLogging, logger } from '../src/log.js';
import { fromPart10 } from '../src/pipeline/dicom/dcmjs.js';
import { tempDir } from './derived-fixtures.js';
import { sharedData, sharedDataMissing } from './shared-data.js';
import { e2eRequirements } from './e2e-fixtures.js';
import { processingJob } from './job-fixtures.js';
import { type Storescp, startStorescp } from './scu-fixtures.js';

configureLogging({ level: 'warn', stream: 'stderr' });
const seriesDir = path.join(sharedData, 'dicom/siemens-xa30-t1-classic/6001_anat-T1w_acq-tfl');
const missing = e2eRequirements() ?? sharedDataMissing('the series processor test', seriesDir);
if (missing) console.warn(`skipping the series processor test: ${missing}`);

describe.skipIf(missing !== undefined)('series processor', () => {
  const files = missing ? [] : fs.readdirSync(seriesDir).map((f) => path.join(seriesDir, f)).sort();
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  function context(workDir: string, states: string[]): JobContext {
    const header = fromPart10(fs.readFileSync(files[0]), true).dataset;
    const job = processingJob({
      studyInstanceUid: String(header.StudyInstanceUID),
      seriesInstanceUid: String(header.SeriesInstanceUID),
      seriesDescription: String(header.SeriesDescription),
      sopClassUid: String(header.SOPClassUID),
      instances: files.length,
    });
    return { job, instancePaths: files, workDir, log: logger('test-processor'), step: (step, detail) => states.push(`${step}: ${detail}`), progress: (detail) => states.push(`progress: ${detail}`) };
  }

  test('computes once, delivers once, and after a restart only serves a newly added destination', async () => {
    const dir = tempDir('processor');
    const first: Storescp = await startStorescp(path.join(dir, 'archive-1'));
    cleanups.push(() => first.stop());
    const destination1 = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port: first.port };
    const overrides = { dataDir: path.join(dir, 'data'), log: { file: '' }, results: { destinations: [destination1], retry: { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 200 } } };
    const workDir = path.join(dir, 'data', 'work', '1');
    fs.mkdirSync(workDir, { recursive: true });

    const states: string[] = [];
    const processor = createSeriesProcessor(loadConfig({ overrides }));
    try {
      await processor.process(context(workDir, states));
    } finally {
      await processor.close();
    }
    expect(states.some((s) => s.startsWith('extraction: brain extraction'))).toBe(true);
    expect(states.some((s) => s.startsWith('progress: '))).toBe(true);
    expect(first.files()).toHaveLength(files.length + 1);
    const manifest = JSON.parse(fs.readFileSync(path.join(workDir, 'results', 'manifest.json'), 'utf8'));
    expect(manifest.objects).toHaveLength(files.length + 1);

    // Restart with a second archive added: nothing is computed again, archive 1 gets nothing, archive 2 all.
    for (const f of first.files()) fs.rmSync(f);
    const second = await startStorescp(path.join(dir, 'archive-2'));
    cleanups.push(() => second.stop());
    const destination2 = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port: second.port };
    const restartedStates: string[] = [];
    const restarted = createSeriesProcessor(loadConfig({ overrides: { ...overrides, results: { ...overrides.results, destinations: [destination1, destination2] } } }));
    try {
      await restarted.process(context(workDir, restartedStates));
    } finally {
      await restarted.close();
    }
    expect(restartedStates.filter((s) => s.startsWith('processing'))).toEqual([]);
    expect(JSON.parse(fs.readFileSync(path.join(workDir, 'results', 'manifest.json'), 'utf8')).createdAt).toBe(manifest.createdAt);
    expect(first.files()).toHaveLength(0);
    expect(second.files()).toHaveLength(files.length + 1);
  }, 900_000);
});
