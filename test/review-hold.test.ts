// The review flag everywhere a person looks, and a destination that takes flagged results only once a person has
// released them: a phantom (flagged) waits, held, while a normal head goes straight to the archive; the flag is a
// column and a filter of the jobs list, a field and a filter of the jobs API and a metric; the release is an audited
// action after which the archive receives the results once. Retention removes delivered derived images, never the
// held ones.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Node, type Orthanc, cliPath, createOrthanc, e2eRequirements, startNode, storescu, waitFor, waitForJob } from './e2e-fixtures.js';
import { sharedData, sharedDataMissing } from './shared-data.js';

const phantomDir = path.join(sharedData, 'dicom/siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');
const headDir = path.join(sharedData, 'dicom/siemens-xa30-t1-enhanced/5_anat-T1w_acq-tfl');
const missing = e2eRequirements() ?? sharedDataMissing('the review hold test', phantomDir, headDir);
if (missing) console.warn(`skipping the review hold test: ${missing}`);

const ADMIN = { user: 'neuroradiologist', password: 'reviewed-and-released' };

describe.skipIf(missing !== undefined)('results flagged for review, held until released', () => {
  let orthanc: Orthanc;
  let node: Node;
  let base: string;
  let cookie = '';
  const files = (dir: string) => fs.readdirSync(dir).map((f) => path.join(dir, f));
  const api = async (query: string) => ((await (await fetch(`${base}/api/jobs${query}`)).json()) as { jobs: any[] }).jobs;
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${base}/metrics`)).text())?.[1]);

  beforeAll(async () => {
    orthanc = await createOrthanc();
    await orthanc.start();
    node = await startNode(
      {
        destinations: [{ aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort, holdFlagged: true }],
        retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 2000 },
      },
      // Derived images of delivered jobs are kept about three seconds: retention must spare the held ones.
      { retention: { resultsDays: 3 / 86400 } },
    );
    base = `http://127.0.0.1:${node.httpPort}`;
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [cliPath, 'user', 'add', ADMIN.user, '--role', 'admin', '--config', path.join(node.dataDir, 'config.json')], { stdio: ['pipe', 'ignore', 'ignore'] });
      child.stdin.end(`${ADMIN.password}\n`);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`user add exited ${code}`))));
    });
    const login = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams(ADMIN), redirect: 'manual' });
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
    await orthanc?.stop();
  });

  test('a flagged phantom waits, held; a normal head goes straight to the archive; a person releases the phantom', async () => {
    await storescu(node.dicomPort, 'BRAINSTRIP', files(phantomDir));
    await storescu(node.dicomPort, 'BRAINSTRIP', files(headDir));
    const [phantomJob, headJob] = (await api('')).sort((a, b) => a.id - b.id);
    const head = await waitForJob(node, headJob.seriesInstanceUid);
    expect(head.state, head.reason).toBe('done');
    expect(head.review).toBeNull();
    const held = await waitFor('the phantom to be held', async () => (await api('?review=held')).find((j) => j.id === phantomJob.id), 600_000, 1000);
    expect(held).toMatchObject({ state: 'sending', stage: 'held', heldFor: `ARCHIVE@127.0.0.1:${orthanc.dicomPort}` });
    expect(held.review).toMatch(/\w/);
    expect((await api('?review=flagged')).map((j) => j.id)).toEqual([phantomJob.id]);
    // Only the normal head's results are in the archive.
    const series = await orthanc.get<Array<{ MainDicomTags: Record<string, string> }>>('/series?expand');
    expect(series.map((s) => s.MainDicomTags.Modality).sort()).toEqual(['MR', 'SEG']);
    await waitFor('the review metrics', async () => ((await metric('brainstrip_jobs_held_for_review')) === 1 ? true : undefined), 15_000);
    expect(await metric('brainstrip_jobs_flagged_for_review')).toBe(1);

    // Retention removes the delivered head's derived images, never the held phantom's.
    const work = (id: number) => path.join(node.dataDir, 'work', String(id));
    await waitFor('the delivered results to be removed', async () => (fs.existsSync(work(headJob.id)) ? undefined : true), 60_000, 500);
    expect(fs.existsSync(path.join(work(phantomJob.id), 'results'))).toBe(true);

    // The list shows the flag, filters by it, and the job page offers the release.
    const list = await (await fetch(`${base}/jobs?review=held`, { headers: { cookie } })).text();
    expect(list).toMatch(/<th>review<\/th>/);
    expect(list).toMatch(new RegExp(`<a href="/jobs/${phantomJob.id}">${phantomJob.id}</a>[\\s\\S]*<span class="warn" title="[^"]+">flagged</span> <span class="bad">held</span>`));
    expect(list).not.toMatch(new RegExp(`<a href="/jobs/${headJob.id}">`));
    const jobPage = await (await fetch(`${base}/jobs/${phantomJob.id}`, { headers: { cookie } })).text();
    expect(jobPage).toContain(`action="/jobs/${phantomJob.id}/release"`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(jobPage)![1];
    const release = await fetch(`${base}/jobs/${phantomJob.id}/release`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ csrf, back: `/jobs/${phantomJob.id}` }), redirect: 'manual' });
    expect(release.status).toBe(303);

    const released = await waitForJob(node, phantomJob.seriesInstanceUid);
    expect(released.state, released.reason).toBe('done');
    expect(released.releasedBy).toMatch(new RegExp(`^${ADMIN.user} at \\d{4}-`));
    const after = await orthanc.get<Array<{ Instances: string[]; MainDicomTags: Record<string, string> }>>('/series?expand');
    expect(after.map((s) => s.MainDicomTags.Modality).sort()).toEqual(['MR', 'MR', 'SEG', 'SEG']);
    expect(after.filter((s) => s.MainDicomTags.Modality === 'SEG').every((s) => s.Instances.length === 1)).toBe(true);
    expect(after.some((s) => s.MainDicomTags.Modality === 'MR' && s.Instances.length === files(phantomDir).length)).toBe(true);
    const audit = await (await fetch(`${base}/audit.csv`, { headers: { cookie } })).text();
    expect(audit).toMatch(new RegExp(`,${ADMIN.user},/jobs/:id/release,job ${phantomJob.id} \\([^)]*\\),job ${phantomJob.id}: flagged result released by ${ADMIN.user}`));
  });
});
