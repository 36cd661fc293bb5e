// Backup and restore as the README describes them: `brainstrip backup` taken from a running node while a job is in
// flight, the node then lost, the backup copied into a new data folder and a node started on it. The restored node
// lists every job, finishes the interrupted one, and the archive holds each result object once.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir } from './derived-fixtures.js';
import { type Node, type Orthanc, cliPath, createOrthanc, e2eRequirements, startNode, storescu, waitFor, waitForJob } from './e2e-fixtures.js';
import { sharedData, sharedDataMissing } from './shared-data.js';

const run = promisify(execFile);
const done = path.join(sharedData, 'dicom/siemens-t1-patient-positions/HFS/3_t1_fl2d_sag');
const interrupted = path.join(sharedData, 'dicom/siemens-t1-patient-positions/HFP');
const missing = e2eRequirements() ?? sharedDataMissing('the backup test', done, interrupted);
if (missing) console.warn(`skipping the backup test: ${missing}`);

function seriesFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)).sort();
}

describe.skipIf(missing !== undefined)('backup of a running node and restore into a new data folder', () => {
  let orthanc: Orthanc;
  let node: Node | undefined;
  let restored: Node | undefined;
  const results = () => ({
    destinations: [{ aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort }],
    retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 2000 },
  });

  beforeAll(async () => {
    orthanc = await createOrthanc();
    await orthanc.start();
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    await restored?.stop();
    await orthanc?.stop();
  });

  test('the restored node lists every job and finishes the interrupted one, each object once in the archive', async () => {
    node = await startNode(results());
    const first = seriesFiles(done);
    await storescu(node.dicomPort, 'BRAINSTRIP', first);
    const firstJob = await waitForJob(node, (await node.jobs()).jobs[0].seriesInstanceUid);
    expect(firstJob.state, firstJob.reason).toBe('done');

    // The second series is caught in flight.
    const second = seriesFiles(interrupted);
    await storescu(node.dicomPort, 'BRAINSTRIP', second);
    const inFlight = await waitFor(
      'the second job to be in flight',
      async () => (await node!.jobs()).jobs.find((j) => j.id !== firstJob.id && ['complete', 'queued', 'processing', 'sending'].includes(j.state)),
      120_000,
      100,
    );
    const backupDir = path.join(tempDir('backup'), 'copy');
    const { stdout } = await run(process.execPath, [cliPath, 'backup', backupDir, '--config', path.join(node.dataDir, 'config.json')]);
    const manifest = JSON.parse(stdout);
    expect(manifest.databases).toContain('jobs.sqlite');
    expect(fs.existsSync(path.join(backupDir, 'backup.json'))).toBe(true);

    // The machine is lost.
    process.kill(node.pid, 'SIGKILL');
    await waitFor('the node to be gone', async () => {
      try {
        process.kill(node!.pid, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 10_000);
    node = undefined;

    // Restore: the backup's contents into an empty data folder, then a node on it.
    const dataDir = tempDir('restored');
    fs.cpSync(backupDir, dataDir, { recursive: true });
    restored = await startNode(results(), { dataDir });
    const { jobs } = await restored.jobs();
    expect(jobs.map((j) => j.id).sort()).toEqual([firstJob.id, inFlight.id].sort());
    expect(jobs.find((j) => j.id === firstJob.id)!.state).toBe('done');
    const finished = await waitForJob(restored, inFlight.seriesInstanceUid, inFlight.id - 1);
    expect(finished.id).toBe(inFlight.id);
    expect(finished.state, finished.reason).toBe('done');

    // Each source series has one skull-stripped series and one SEG in the archive, every object once.
    const series = await orthanc.get<Array<{ ID: string; Instances: string[]; MainDicomTags: Record<string, string> }>>('/series?expand');
    const segs = series.filter((s) => s.MainDicomTags.Modality === 'SEG');
    const derived = series.filter((s) => s.MainDicomTags.Modality === 'MR');
    expect(segs).toHaveLength(2);
    expect(segs.every((s) => s.Instances.length === 1)).toBe(true);
    expect(derived.map((s) => s.Instances.length).sort((a, b) => a - b)).toEqual([first.length, second.length].sort((a, b) => a - b));
    const statistics = await orthanc.get<{ CountInstances: number }>('/statistics');
    expect(statistics.CountInstances).toBe(first.length + second.length + 2);
  });
});
