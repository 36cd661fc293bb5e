// A job record as the job store hands it to the series processor, for tests that call the processor directly.
import type { Job } from '../src/jobs/types.js';

export function processingJob(series: { studyInstanceUid: string; seriesInstanceUid: string; seriesDescription?: string; sopClassUid?: string; instances: number }): Job {
  const now = new Date().toISOString();
  return {
    id: 1,
    studyInstanceUid: series.studyInstanceUid,
    seriesInstanceUid: series.seriesInstanceUid,
    callingAe: 'PACS',
    modality: 'MR',
    seriesDescription: series.seriesDescription ?? null,
    sopClassUid: series.sopClassUid ?? '1.2.840.10008.5.1.4.1.1.4',
    state: 'processing',
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
