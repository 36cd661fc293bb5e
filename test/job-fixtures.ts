// A job record as the job store hands it to the series processor, for tests that call the processor directly,
// a stand-in for brain extraction (no worker pool, no network), and a models folder for it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { BrainExtractor } from '../src/jobs/processing/extractor.js';
import type { Job } from '../src/jobs/state/job.js';
import { resolveModel } from '../src/pipeline/segmentation/model-files.js';
import { gridOf, withData } from '../src/pipeline/space/volume.js';
import { MR_IMAGE_STORAGE } from '../src/dicom/uids.js';

/**
 * Extraction that masks the whole volume, computed by whatever model `modelsDir` lists now (FP32). It reports its
 * registration and segmentation steps, and `during` runs between them (a spy, a delay).
 */
export function standInExtractor(modelsDir: string, during: (call: { modelSha256: string; seriesInstanceUid?: string }) => unknown = () => undefined): BrainExtractor {
  return {
    async extract(volume, context, onStep) {
      const model = resolveModel({ dir: modelsDir, name: 'brainstrip-efficient', precision: 'FP32', verify: false });
      onStep?.('registration');
      await during({ modelSha256: model.sha256, seriesInstanceUid: context?.seriesInstanceUid });
      onStep?.('segmentation');
      return {
        mask: withData(gridOf(volume), new Uint8Array(volume.data.length).fill(1)),
        brain: volume,
        brainVolumeMl: 1,
        atlasAgreementDice: 0.95,
        atlasScale: 1,
        flaggedForReview: false,
        notAHead: false,
        model: { name: model.name, version: model.version, precision: model.precision, sha256: model.sha256 },
      };
    },
    async close() {},
  };
}

export function processingJob(series: { studyInstanceUid: string; seriesInstanceUid: string; seriesDescription?: string; sopClassUid?: string; instances: number }): Job {
  const now = new Date().toISOString();
  return {
    id: 1,
    studyInstanceUid: series.studyInstanceUid,
    seriesInstanceUid: series.seriesInstanceUid,
    callingAe: 'PACS',
    modality: 'MR',
    seriesDescription: series.seriesDescription ?? null,
    sopClassUid: series.sopClassUid ?? MR_IMAGE_STORAGE,
    state: 'processing',
    stage: 'processing',
    detail: null,
    reason: null,
    instances: series.instances,
    bytes: 0,
    attempts: 1,
    createdAt: now,
    updatedAt: now,
    lastInstanceAt: now,
    finishedAt: null,
  };
}

/** A models folder listing one FP32 model whose file holds `weights`. */
export function writeModels(dir: string, version: string, weights: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'brainstrip-efficient-fp32.onnx'), weights);
  const sha256 = crypto.createHash('sha256').update(weights).digest('hex');
  const models = [{ name: 'brainstrip-efficient', version, precision: 'FP32', file: 'brainstrip-efficient-fp32.onnx' }];
  fs.writeFileSync(path.join(dir, 'checksums.json'), JSON.stringify({ files: { 'brainstrip-efficient-fp32.onnx': sha256 }, models }));
  return sha256;
}

/** A processor for `startNode` that computes nothing and sends nothing, noting the ids of the jobs it computed. */
export function recordingProcessor() {
  const computed: number[] = [];
  const processor = {
    async compute(ctx: { job: { id: number } }) {
      computed.push(ctx.job.id);
    },
    async send() {},
    hasResults: () => false,
    async close() {},
  };
  return { computed, processor };
}
