// Delivery faults end to end: the archive is down when results are ready (the job retries and completes once it
// is back), and the archive refuses the objects (the job fails with the archive's status and comment, visible in
// /api/jobs). In both cases nothing is recorded as stored that the archive did not confirm.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { fromPart10 } from '../src/pipeline/dicom/dcmjs.js';
import { sharedData, sharedDataMissing } from './shared-data.js';
import { type Node, type Orthanc, createOrthanc, e2eRequirements, startNode, storescu, waitFor, waitForJob } from './e2e-fixtures.js';
import { startRefusingArchive } from './scu-fixtures.js';
import { DimseStatus } from '../src/dicom/status.js';

const seriesDir = path.join(sharedData, 'dicom/siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');
const missing = e2eRequirements() ?? sharedDataMissing('the end-to-end fault tests', seriesDir);
if (missing) console.warn(`skipping the end-to-end fault tests: ${missing}`);

/** SOP Instance UIDs the node's ledger says each archive confirmed (its journals, forgotten ones left out). */
function ledgerEntries(node: Node): string[] {
  const root = path.join(node.dataDir, 'results', 'stored');
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).flatMap((folder) => {
    const journal = path.join(root, folder, 'stored.jsonl');
    if (!fs.existsSync(journal)) return [];
    const held = new Set<string>();
    for (const line of fs.readFileSync(journal, 'utf8').split('\n').filter(Boolean)) {
      const entry = JSON.parse(line) as { sopInstanceUid?: string; forget?: string };
      if (entry.forget) held.delete(entry.forget);
      else if (entry.sopInstanceUid) held.add(entry.sopInstanceUid);
    }
    return [...held];
  });
}

describe.skipIf(missing !== undefined)('delivery faults, end to end', () => {
  const files = missing ? [] : fs.readdirSync(seriesDir).map((f) => path.join(seriesDir, f)).sort();
  const seriesUid = missing ? '' : String(fromPart10(fs.readFileSync(files[0]), true).dataset.SeriesInstanceUID);
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test('the archive is down when results are ready: the job retries and completes when it is back', async () => {
    const orthanc: Orthanc = await createOrthanc();
    cleanups.push(() => orthanc.stop());
    const node = await startNode({
      destinations: [{ aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort }],
      retry: { maxAttempts: 100, initialDelayMs: 1000, maxDelayMs: 2000 },
    });
    cleanups.push(() => node.stop());
    await storescu(node.dicomPort, 'BRAINSTRIP', files);

    // Wait until delivery has failed at least once: the job is `sending` on its second attempt.
    const sending = await waitFor(
      'the job to retry sending',
      async () => (await node.jobs()).jobs.find((j) => j.seriesInstanceUid === seriesUid && j.state === 'sending' && /attempt [2-9]/.test(j.detail ?? '')),
      900_000,
      500,
    );
    expect(sending.detail).toMatch(/to ARCHIVE/);
    expect(ledgerEntries(node)).toHaveLength(0);

    await orthanc.start();
    const job = await waitForJob(node, seriesUid);
    expect(job.state, `${job.reason}\n${node.log().slice(-3000)}`).toBe('done');
    const stats = await orthanc.get<{ CountSeries: number; CountInstances: number }>('/statistics');
    expect(stats.CountSeries).toBe(2);
    expect(stats.CountInstances).toBe(files.length + 1);
    // Everything the ledger reports stored is in the archive.
    const stored = ledgerEntries(node);
    expect(stored).toHaveLength(files.length + 1);
    for (const uid of stored) {
      const found = await fetch(`http://127.0.0.1:${orthanc.httpPort}/tools/lookup`, { method: 'POST', body: uid }).then((r) => r.json());
      expect(found, `${uid} is in the archive`).toHaveLength(1);
    }
  }, 1_200_000);

  test('the archive refuses the objects: the job fails with its status and reason, shown in /api/jobs', async () => {
    const archive = await startRefusingArchive(DimseStatus.DataSetDoesNotMatchSopClass, 'rejected by archive policy');
    cleanups.push(() => archive.stop());
    const node = await startNode({
      destinations: [{ aeTitle: 'ARCHIVE', host: '127.0.0.1', port: archive.port }],
      retry: { maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 500 },
    });
    cleanups.push(() => node.stop());
    await storescu(node.dicomPort, 'BRAINSTRIP', files);
    const job = await waitForJob(node, seriesUid);
    expect(job.state).toBe('failed');
    expect(job.reason).toContain(seriesUid);
    expect(job.reason).toMatch(/0xA900/);
    expect(job.reason).toContain('rejected by archive policy');
    const listed = (await node.jobs()).jobs.find((j) => j.id === job.id);
    expect(listed.reason).toBe(job.reason);
    expect(ledgerEntries(node)).toHaveLength(0);
    expect(archive.received).toBeGreaterThan(0);
  }, 1_200_000);
});
