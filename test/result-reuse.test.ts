// Results computed earlier from the same instances are reused only when the same model computed them: the model
// is known by the checksum of its file, so an upgrade (new weights under the same name and precision) computes
// new results, with new UIDs, instead of sending the old model's objects again. And whichever step fails, the
// job's reason names the series.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { loadConfig } from '../config/schema.js';
import type { BrainExtractor } from '../src/jobs/processing/extractor.js';
import { createSeriesProcessor } from '../src/jobs/processing/process-series.js';
import type { JobContext } from '../src/jobs/processing/contract.js';
import { configureLogging, logger } from '../src/log.js';
import { DicomError } from '../src/dicom/errors.js';
import { resolveModel } from '../src/pipeline/segmentation/model-files.js';
import { writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { tempDir } from './derived-fixtures.js';
import { processingJob, standInExtractor, writeModels } from './job-fixtures.js';

configureLogging({ level: 'warn', stream: 'stderr' });

describe('result reuse', () => {
  test('a model upgrade (same name and precision, new weights) computes new results instead of reusing the old ones', async () => {
    const dir = tempDir('reuse');
    const modelsDir = path.join(dir, 'models');
    const oldSum = writeModels(modelsDir, '1.1.0', 'old weights');
    const series = await writeSyntheticSeries(path.join(dir, 'series'), {
      rows: 8,
      columns: 8,
      slices: 4,
      attributes: { Modality: 'MR', SeriesDescription: 'T1', SeriesNumber: 3 },
    });
    const job = processingJob({ ...series, seriesDescription: 'T1', instances: series.paths.length });
    const workDir = path.join(dir, 'data', 'work', '1');
    fs.mkdirSync(workDir, { recursive: true });
    const config = loadConfig({ overrides: { dataDir: path.join(dir, 'data'), log: { file: '' }, model: { dir: modelsDir, precision: 'FP32' }, results: { destinations: [] } } });
    const calls: string[] = [];
    const run = async () => {
      const context: JobContext = { job, instancePaths: series.paths, workDir, log: logger('test-reuse'), step: () => {}, progress: () => {} };
      const processor = createSeriesProcessor(config, { extractor: standInExtractor(modelsDir, (c) => calls.push(c.modelSha256)) });
      try {
        await processor.process(context);
      } finally {
        await processor.close();
      }
      return JSON.parse(fs.readFileSync(path.join(workDir, 'results', 'manifest.json'), 'utf8')) as {
        model: { version: string; sha256: string };
        objects: Array<{ sopInstanceUid: string }>;
      };
    };

    const first = await run();
    expect(first.model.sha256).toBe(oldSum);
    // The same model again: nothing is computed, the same objects are kept.
    const again = await run();
    expect(calls).toEqual([oldSum]);
    expect(again.objects).toEqual(first.objects);

    // Same name, precision and version, other weights: computed again, and the objects are new ones.
    const retrained = writeModels(modelsDir, '1.1.0', 'retrained weights');
    const second = await run();
    expect(calls).toEqual([oldSum, retrained]);
    expect(second.model.sha256).toBe(retrained);
    const oldUids = new Set(first.objects.map((o) => o.sopInstanceUid));
    expect(second.objects.every((o) => !oldUids.has(o.sopInstanceUid))).toBe(true);

    // An upgrade to a new version: computed again too.
    const upgraded = writeModels(modelsDir, '1.2.0', 'version 1.2.0 weights');
    const third = await run();
    expect(calls).toEqual([oldSum, retrained, upgraded]);
    expect(third.model).toMatchObject({ version: '1.2.0', sha256: upgraded });
  }, 120_000);

  test('the model is resolved once, when the processor is made: finding results on disk reads no model file', async () => {
    const dir = tempDir('model-once');
    const modelsDir = path.join(dir, 'models');
    const sum = writeModels(modelsDir, '2.0.0', 'weights');
    const series = await writeSyntheticSeries(path.join(dir, 'series'), { rows: 8, columns: 8, slices: 4, attributes: { Modality: 'MR' } });
    const job = processingJob({ ...series, instances: series.paths.length });
    const workDir = path.join(dir, 'data', 'work', '1');
    fs.mkdirSync(workDir, { recursive: true });
    const config = loadConfig({ overrides: { dataDir: path.join(dir, 'data'), log: { file: '' }, model: { dir: modelsDir, precision: 'FP32' }, results: { destinations: [] } } });
    const model = resolveModel({ dir: modelsDir, name: 'brainstrip-efficient', precision: 'FP32' });
    const processor = createSeriesProcessor(config, { models: [model], extractor: standInExtractor(modelsDir) });
    const context: JobContext = { job, instancePaths: series.paths, workDir, log: logger('test-model-once'), step: () => {}, progress: () => {} };
    try {
      await processor.process(context);
      // The models folder is gone, and any read of a file in it is seen: the lookups still find the results.
      fs.rmSync(modelsDir, { recursive: true });
      const reads = vi.spyOn(fs, 'readFileSync');
      try {
        expect(processor.hasResults(context)).toBe(true);
        expect(processor.hasResults({ ...context, workDir: path.join(dir, 'data', 'work', '2') })).toBe(true); // through the result index
        const files = reads.mock.calls.map(([file]) => String(file));
        expect(files.some((file) => file.endsWith('manifest.json'))).toBe(true); // the spy sees the reads
        expect(files.filter((file) => file.startsWith(modelsDir))).toEqual([]);
      } finally {
        reads.mockRestore();
      }
      await processor.send(context); // nothing to send to, but the results are found
      expect(JSON.parse(fs.readFileSync(path.join(workDir, 'results', 'manifest.json'), 'utf8')).model.sha256).toBe(sum);
    } finally {
      await processor.close();
    }
  }, 60_000);

  test("a failed step's reason names the series once, whether or not the error named it", async () => {
    const dir = tempDir('reason');
    const modelsDir = path.join(dir, 'models');
    writeModels(modelsDir, '1.1.0', 'weights');
    const series = await writeSyntheticSeries(path.join(dir, 'series'), { rows: 8, columns: 8, slices: 4, attributes: { Modality: 'MR' } });
    const job = processingJob({ ...series, instances: series.paths.length });
    const config = loadConfig({ overrides: { dataDir: path.join(dir, 'data'), log: { file: '' }, model: { dir: modelsDir, precision: 'FP32' }, results: { destinations: [] } } });
    const reasonOf = async (failure: Error) => {
      const workDir = path.join(dir, 'data', 'work', String(Math.random()).slice(2));
      fs.mkdirSync(workDir, { recursive: true });
      const extractor: BrainExtractor = { extract: async () => Promise.reject(failure), close: async () => {} };
      const processor = createSeriesProcessor(config, { extractor });
      try {
        await processor.process({ job, instancePaths: series.paths, workDir, log: logger('test-reason'), step: () => {}, progress: () => {} });
      } catch (error) {
        return (error as Error).message;
      } finally {
        await processor.close();
      }
      throw new Error('the processor did not fail');
    };
    expect(await reasonOf(new Error('worker died'))).toBe(`series ${series.seriesInstanceUid}: worker died`);
    const named = new DicomError('no head-like signal', { seriesInstanceUid: series.seriesInstanceUid });
    expect(await reasonOf(named)).toBe(`no head-like signal (series ${series.seriesInstanceUid})`);
  }, 60_000);
});
