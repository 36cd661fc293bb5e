// A series whose image is not a head: by default its results go out flagged for review with the reason; a site
// that sets results.nonHead to 'withhold' gets nothing sent and the job's reason says why.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../config/schema.js';
import type { BrainExtractor } from '../src/jobs/processing/extractor.js';
import { createSeriesProcessor } from '../src/jobs/processing/process-series.js';
import type { JobContext } from '../src/jobs/processing/contract.js';
import { configureLogging, logger } from '../src/log.js';
import { DicomError } from '../src/dicom/errors.js';
import { writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { tempDir } from './derived-fixtures.js';
import { processingJob, standInExtractor, writeModels } from './job-fixtures.js';

configureLogging({ level: 'error', stream: 'stderr' });

const REASON = 'not a head? neighbouring voxels are unrelated (correlation 0.00, below 0.5): noise or a uniform volume, not an image of anatomy';

/** The stand-in extraction, reporting what the review check says of noise. */
function noiseExtractor(modelsDir: string): BrainExtractor {
  const base = standInExtractor(modelsDir);
  return { ...base, extract: async (...args) => ({ ...(await base.extract(...args)), flaggedForReview: true, notAHead: true, reviewReason: REASON }) };
}

async function processNoise(nonHead: 'flag' | 'withhold') {
  const dir = tempDir(`non-head-${nonHead}`);
  const modelsDir = path.join(dir, 'models');
  writeModels(modelsDir, '1.0.0', 'weights');
  const series = await writeSyntheticSeries(path.join(dir, 'series'), { rows: 8, columns: 8, slices: 4, value: () => Math.floor(Math.random() * 1000) });
  const job = processingJob({ ...series, seriesDescription: 'noise', instances: series.paths.length });
  const workDir = path.join(dir, 'data', 'work', '1');
  fs.mkdirSync(workDir, { recursive: true });
  const config = loadConfig({ overrides: { dataDir: path.join(dir, 'data'), log: { file: '' }, model: { dir: modelsDir, precision: 'FP32' }, results: { destinations: [], nonHead } } });
  const context: JobContext = { job, instancePaths: series.paths, workDir, log: logger('test-non-head'), step: () => {}, progress: () => {} };
  const processor = createSeriesProcessor(config, { extractor: noiseExtractor(modelsDir) });
  try {
    const outcome = await processor.process(context).then(
      () => undefined,
      (error: unknown) => error,
    );
    return { outcome, series, manifest: path.join(workDir, 'results', 'manifest.json') };
  } finally {
    await processor.close();
  }
}

describe('results of an image that is not a head', () => {
  test("are flagged for review with the reason by default ('flag')", async () => {
    const { outcome, manifest } = await processNoise('flag');
    expect(outcome).toBeUndefined();
    const written = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { summary: { flaggedForReview: boolean; reviewReason: string } };
    expect(written.summary.flaggedForReview).toBe(true);
    expect(written.summary.reviewReason).toBe(REASON);
  });

  test("are not made or sent with 'withhold', and the job's reason says why and names the series", async () => {
    const { outcome, series, manifest } = await processNoise('withhold');
    expect(outcome).toBeInstanceOf(DicomError);
    expect((outcome as Error).message).toContain('results withheld');
    expect((outcome as Error).message).toContain(REASON);
    expect((outcome as Error).message).toContain(series.seriesInstanceUid);
    expect(fs.existsSync(manifest)).toBe(false);
  });
});
