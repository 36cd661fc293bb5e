// A series is complete as soon as it is whole, with Orthanc as the archive: a whole series sent in one association
// is processed right after the association is released (the idle time, 30 s, is not waited for); a series sent in
// two associations 10 s apart becomes one job and one complete derived series; a late instance after the job
// started never puts a second derived series in the archive.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { colin27Available, writeHeadSeries } from '../bench/harness/head-series.js';
import { newUid } from '../src/ops/synthetic-series.js';
import { tempDir } from './derived-fixtures.js';
import { sharedData, sharedDataMissing } from './shared-data.js';
import { requirementMissing } from './tools.js';
import { type Node, type Orthanc, createOrthanc, e2eRequirements, startNode, storescu, waitFor, waitForJob } from './e2e-fixtures.js';

const classic = (n: number) => path.join(sharedData, `dicom/siemens-xa30-t1-classic/${n}001_anat-T1w_acq-tfl`);
const missing =
  e2eRequirements() ??
  sharedDataMissing('the series-completion end-to-end test', classic(5), classic(6)) ??
  (colin27Available() ? undefined : requirementMissing('the series-completion end-to-end test', 'Colin27 (Debian mricron-data)'));
if (missing) console.warn(`skipping the series-completion end-to-end test: ${missing}`);
const filesOf = (dir: string) => fs.readdirSync(dir).map((f) => path.join(dir, f)).sort();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(missing !== undefined)('series completion with Orthanc as the archive', () => {
  let orthanc: Orthanc;
  let node: Node;
  const destinations = () => [{ aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort }];

  /** The series Orthanc holds (brainstrip's outputs only: the sources are never sent there), with instance counts. */
  async function archived(): Promise<Array<{ id: string; modality: string; instances: number; study: string }>> {
    const series = await orthanc.get<any[]>('/series?expand');
    return series.map((s) => ({ id: s.ID, modality: s.MainDicomTags.Modality, instances: s.Instances.length, study: s.ParentStudy }));
  }
  async function jobsOf(n: Node, seriesUid: string) {
    return (await n.jobs()).jobs.filter((j) => j.seriesInstanceUid === seriesUid).sort((a, b) => a.id - b.id);
  }

  beforeAll(async () => {
    orthanc = await createOrthanc();
    await orthanc.start();
    // The default idle time: only early completion can complete a series within seconds.
    node = await startNode({ destinations: destinations() }, { receive: { seriesIdleSeconds: 30 } });
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    await orthanc?.stop();
  });

  test('a whole series sent in one association is complete right after the release, and stored in the archive once', async () => {
    const files = filesOf(classic(5));
    await storescu(node.dicomPort, 'BRAINSTRIP', files);
    const released = Date.now();
    const [job] = await waitFor('the job to leave receiving', async () => {
      const j = (await node.jobs()).jobs;
      return j.length === 1 && j[0].state !== 'receiving' ? j : undefined;
    }, 20_000);
    // 30 s without an instance have not passed: only the whole-series rule can have completed it.
    expect(Date.now() - released).toBeLessThan(20_000);
    expect(node.log()).toMatch(/series complete \(whole: 96 of 96 declared images \(Siemens protocol: 1 slab × 96 images\)/);
    const done = await waitForJob(node, job.seriesInstanceUid, 0, 600_000);
    expect(done.state, `job ${done.id}: ${done.reason}\n${node.log().slice(-3000)}`).toBe('done');
    const series = await archived();
    expect(series.map((s) => [s.modality, s.instances]).sort()).toEqual([['MR', 96], ['SEG', 1]]);
  }, 660_000);

  test('a series sent in two associations 10 s apart becomes one job and one complete derived series', async () => {
    const files = filesOf(classic(6));
    const before = await archived();
    await storescu(node.dicomPort, 'BRAINSTRIP', files.slice(0, 48));
    await sleep(10_000);
    const seriesUid = (await node.jobs()).jobs.find((j) => j.instances === 48)?.seriesInstanceUid;
    expect(seriesUid).toBeDefined();
    // Half a series is a regular stack, but 48 of 96 declared images: it keeps waiting.
    expect((await jobsOf(node, seriesUid)).map((j) => j.state)).toEqual(['receiving']);
    expect(node.log()).toMatch(/series not provably whole \(48 of 96 declared images/);
    await storescu(node.dicomPort, 'BRAINSTRIP', files.slice(48));
    const done = await waitForJob(node, seriesUid, 0, 600_000);
    expect(done.state, `job ${done.id}: ${done.reason}`).toBe('done');
    expect((await jobsOf(node, seriesUid)).map((j) => [j.state, j.instances])).toEqual([['done', 96]]);
    const added = (await archived()).filter((s) => !before.some((b) => b.id === s.id));
    expect(added.map((s) => [s.modality, s.instances]).sort()).toEqual([['MR', 96], ['SEG', 1]]);
  }, 660_000);

  test('a late instance after the job started puts no second derived series in the archive', async () => {
    const head = await writeHeadSeries(tempDir('late-instance'), { rows: 96, columns: 96, slices: 150, pixelSpacing: 2.5 });
    const files = head.paths;
    // A short idle time, so that the series missing its last instance completes and starts computing.
    const quick = await startNode({ destinations: destinations() }, { receive: { seriesIdleSeconds: 2 } });
    try {
      await storescu(quick.dicomPort, 'BRAINSTRIP', files.slice(0, -1));
      const first = await waitFor('the first job to start', async () => {
        const [job] = await jobsOf(quick, head.seriesInstanceUid);
        return job && !['receiving', 'complete', 'queued'].includes(job.state) ? job : undefined;
      }, 120_000, 100);
      await storescu(quick.dicomPort, 'BRAINSTRIP', files.slice(-1));
      await waitFor('every job of the series to finish', async () => {
        const jobs = await jobsOf(quick, head.seriesInstanceUid);
        return jobs.every((j) => j.state === 'done' || j.state === 'failed') ? jobs : undefined;
      }, 600_000, 1000);
      const jobs = await jobsOf(quick, head.seriesInstanceUid);
      if (jobs.length === 2) {
        // It was still computing: it stopped as superseded, and one new job computed the whole series.
        expect(jobs[0]).toMatchObject({ id: first.id, state: 'failed', reason: expect.stringContaining('superseded') });
        expect(jobs[1]).toMatchObject({ state: 'done', instances: 150 });
      } else {
        // It was already sending: the late instance is kept in the spool and noted; its results stand.
        expect(jobs).toEqual([expect.objectContaining({ id: first.id, state: 'done', instances: 149 })]);
      }
      // After the job is done: the series sent again changes nothing, and an instance never seen before is kept
      // in the spool and noted on the job, not processed.
      const unseen = path.join(tempDir('late-unseen'), 'unseen.dcm');
      fs.copyFileSync(files[0], unseen);
      execFileSync('dcmodify', ['-nb', '-m', `(0008,0018)=${newUid()}`, unseen]);
      await storescu(quick.dicomPort, 'BRAINSTRIP', [...files, unseen]);
      await sleep(4000);
      const after = await jobsOf(quick, head.seriesInstanceUid);
      expect(after.map((j) => [j.id, j.state])).toEqual(jobs.map((j) => [j.id, j.state]));
      expect(after[after.length - 1].detail).toMatch(/1 instance arrived after its results were stored: kept in the spool, not processed/);
      const log = quick.log();
      const study = (await orthanc.get<any[]>('/studies?expand')).find((s) => s.MainDicomTags.StudyInstanceUID === head.studyInstanceUid);
      const series = (await archived()).filter((s) => s.study === study.ID);
      expect(series.map((s) => s.modality).sort(), log.slice(-3000)).toEqual(['MR', 'SEG']);
    } finally {
      await quick.stop();
    }
  }, 900_000);
});
