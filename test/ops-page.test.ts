// The operations page in a real browser (Debian's chromium, driven by playwright-core; nothing is downloaded)
// against a running node with Orthanc as the archive: an administrator logs in, watches a series sent by storescu
// arrive and finish, looks at its QC picture, sees a job wait in sending while the archive is down and retries it
// when it is back, tests a destination with C-ECHO and pauses intake; a viewer cannot act, and a form without the
// session's CSRF token is refused.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { repoRoot } from './derived-fixtures.js';
import { toolsMissing } from './tools.js';
import { sharedData, sharedDataMissing } from './shared-data.js';
import { type Node, type Orthanc, cliPath, createOrthanc, e2eRequirements, startNode, storescu, waitFor } from './e2e-fixtures.js';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const seriesDir = path.join(sharedData, 'dicom/siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');
const screenshots = path.join(repoRoot, 'docs/screenshots');
const missing =
  toolsMissing('the operations page browser test', CHROMIUM) ??
  e2eRequirements() ??
  sharedDataMissing('the operations page browser test', seriesDir);
if (missing) console.warn(`skipping the operations page browser test: ${missing}`);

const ADMIN = { name: 'ris-admin', password: 'correct horse battery' };
const VIEWER = { name: 'ris-viewer', password: 'viewer password 1' };

/** `brainstrip user add`, the password on standard input, as an administrator scripts it. */
function addUser(configFile: string, user: { name: string; password: string }, role: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'user', 'add', user.name, '--role', role, '--config', configFile], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`user add exited ${code}: ${out}`))));
    child.stdin.end(`${user.password}\n`);
  });
}

async function logIn(context: BrowserContext, base: string, user: { name: string; password: string }): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}/jobs`);
  expect(new URL(page.url()).pathname).toBe('/login');
  await page.fill('input[name=user]', user.name);
  await page.fill('input[name=password]', user.password);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/jobs`);
  return page;
}

/** Reloads `page` until `probe` answers something truthy. */
async function reloadUntil<T>(page: Page, what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  return waitFor(
    what,
    async () => {
      await page.reload();
      return (await probe()) || undefined;
    },
    timeoutMs,
    1500,
  );
}

describe.skipIf(missing !== undefined)('the operations page in a browser', () => {
  const files = missing ? [] : fs.readdirSync(seriesDir).map((f) => path.join(seriesDir, f)).sort();
  let orthanc: Orthanc;
  let node: Node;
  let base: string;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let jobId: number;

  beforeAll(async () => {
    fs.mkdirSync(screenshots, { recursive: true });
    orthanc = await createOrthanc();
    await orthanc.start();
    node = await startNode(
      {
        destinations: [{ aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort }],
        // A long wait before the second attempt: only the operator's retry can end it within the test.
        retry: { maxAttempts: 100, initialDelayMs: 120_000, maxDelayMs: 120_000 },
        timeouts: { connectMs: 3000, associationMs: 60_000 },
      },
      { ops: { apiWithoutLogin: false } },
    );
    base = `http://127.0.0.1:${node.httpPort}`;
    const configFile = path.join(node.dataDir, 'config.json');
    expect(await addUser(configFile, ADMIN, 'admin')).toContain('added with role admin');
    await addUser(configFile, VIEWER, 'viewer');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    admin = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
    await orthanc?.stop();
  });

  test('only /health and /metrics are open; pages and the API need a login', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    const home = await fetch(`${base}/`, { redirect: 'manual' });
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toMatch(/^\/login/);
    expect((await fetch(`${base}/api/jobs`)).status).toBe(401);
    const wrong = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ user: ADMIN.name, password: 'not it' }), redirect: 'manual' });
    expect(wrong.status).toBe(401);
    // Guessing is stopped after a few tries, for that user name only.
    for (let n = 0; n < 5; n++) await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ user: 'guessed', password: `try ${n}` }) });
    const locked = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ user: 'guessed', password: 'another' }) });
    expect(locked.status).toBe(429);
  });

  test('an administrator logs in and sees the node healthy, its AE title and port', async () => {
    page = await logIn(admin, base, ADMIN);
    const cookie = (await admin.cookies()).find((c) => c.name === 'brainstrip_session')!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
    await page.goto(`${base}/`);
    await expect.poll(() => page.textContent('main')).toContain('healthy');
    const main = (await page.textContent('main'))!;
    expect(main).toContain('BRAINSTRIP');
    expect(main).toContain(`port ${node.dicomPort}`);
    expect(main).toMatch(/free of/);
  });

  test('a series sent by storescu appears in the job list and finishes', async () => {
    await storescu(node.dicomPort, 'BRAINSTRIP', files);
    await page.goto(`${base}/jobs`);
    const row = page.locator('#jobs tr', { hasText: 'anat-T1w_acq-tfl' });
    await reloadUntil(page, 'the job in the list', async () => (await row.count()) > 0, 30_000);
    // The patient as the scanner wrote it, and the sender's AE title.
    expect(await row.first().textContent()).toContain('PACS');
    jobId = Number(await row.first().locator('td').first().textContent());
    const state = () => row.first().locator('.state').textContent();
    await reloadUntil(page, 'the job to finish', async () => ['done', 'failed'].includes((await state()) ?? ''), 900_000);
    expect(await state(), (await row.first().textContent()) ?? '').toBe('done');
    await page.screenshot({ path: path.join(screenshots, 'jobs.png'), fullPage: true });
    await page.goto(`${base}/`);
    await page.screenshot({ path: path.join(screenshots, 'overview.png'), fullPage: true });
  }, 960_000);

  test('its detail shows the timeline, the QC picture, the brain volume and what the archive answered', async () => {
    await page.goto(`${base}/jobs/${jobId}`);
    const text = (await page.textContent('main'))!;
    for (const state of ['receiving', 'queued', 'processing', 'sending', 'done']) expect(await page.textContent('#timeline')).toContain(state);
    expect(text).toMatch(/Brain volume\s*\d+ ml/);
    expect(text).toMatch(/not flagged|flagged for review/);
    expect(text).toMatch(/ARCHIVE@127\.0\.0\.1:\d+: (\d+) of \1 objects confirmed/);
    expect(text).toContain('Success (0x0000)');
    expect(await page.textContent('#log')).toContain('job done');
    // The QC picture is a PNG the browser decoded.
    const qc = page.locator('img#qc');
    await expect.poll(() => qc.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(100);
    const png = await page.request.get(`${base}/jobs/${jobId}/qc.png`);
    expect(png.headers()['content-type']).toBe('image/png');
    expect((await png.body()).subarray(1, 4).toString()).toBe('PNG');
    await page.screenshot({ path: path.join(screenshots, 'job-detail.png'), fullPage: true });
    await page.goto(`${base}/jobs/${jobId}/qc.png`);
    await page.screenshot({ path: path.join(screenshots, 'qc.png') });
  });

  test('with the archive stopped the job waits in sending; retried after the archive is back, it finishes', async () => {
    await orthanc.stop();
    await page.goto(`${base}/jobs/${jobId}`);
    await page.click('button:has-text("Re-send results")');
    await expect.poll(() => page.textContent('.note')).toMatch(/queued to send its results again/);
    await reloadUntil(page, 'the job to wait in sending', async () => /did not store/.test((await page.textContent('#log')) ?? '') && /sending/.test((await page.textContent('h1')) ?? ''), 120_000);
    await page.screenshot({ path: path.join(screenshots, 'job-waiting-in-sending.png'), fullPage: true });
    await orthanc.start();
    await page.click('button:has-text("Retry sending now")');
    // Well before the 120 s back-off would have sent it again by itself.
    const started = Date.now();
    await reloadUntil(page, 'the retried job to be done', async () => (await page.textContent('h1 .state')) === 'done', 60_000);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await page.textContent('#timeline')).toContain(`retry requested by ${ADMIN.name}`);
    const stats = await orthanc.get<{ CountSeries: number }>('/statistics');
    expect(stats.CountSeries).toBe(2);
  }, 240_000);

  test('a destination answers the C-ECHO button', async () => {
    await page.goto(`${base}/destinations`);
    await page.click('#destinations button:has-text("C-ECHO")');
    await expect.poll(() => page.textContent('.note')).toMatch(/C-ECHO ARCHIVE@127\.0\.0\.1:\d+: C-ECHO status 0x0000 \(Success\)/);
    expect(await page.textContent('#destinations')).toMatch(/OK: C-ECHO status 0x0000/);
  });

  test('pausing intake makes the node refuse associations until it is resumed', async () => {
    const echo = () => run('echoscu', ['-aec', 'BRAINSTRIP', '127.0.0.1', String(node.dicomPort)]).then(() => true, () => false);
    await page.goto(`${base}/`);
    await page.click('button:has-text("Pause intake")');
    await expect.poll(() => page.textContent('.note')).toContain('intake paused');
    expect(await echo()).toBe(false);
    await page.click('button:has-text("Resume intake")');
    expect(await echo()).toBe(true);
  });

  test('paused sending holds a job re-sent from its results; cancelled, it fails; a bulk retry of the failed jobs shown sends it on resume', async () => {
    // Its results are on disk: a re-send or a retry goes straight to sending, whatever processing does.
    await page.goto(`${base}/`);
    await page.click('button:has-text("Pause sending")');
    await expect.poll(() => page.textContent('.note')).toContain('sending paused');
    await page.goto(`${base}/jobs/${jobId}`);
    await page.click('button:has-text("Re-send results")');
    await new Promise((r) => setTimeout(r, 3000));
    await page.reload();
    expect(await page.textContent('h1')).toMatch(/sending/);
    await page.click('button:has-text("Cancel")');
    await expect.poll(() => page.textContent('h1')).toMatch(/failed/);
    expect(await page.textContent('main')).toContain(`cancelled by ${ADMIN.name}`);

    await page.goto(`${base}/jobs?state=failed`);
    expect(await page.locator('#jobs tr').count()).toBe(2); // the header and the cancelled job
    await page.click('button:has-text("Retry the 1 failed job(s) shown")');
    await expect.poll(() => page.textContent('.note')).toContain('1 failed job(s) queued again');
    await page.goto(`${base}/jobs/${jobId}`);
    expect(await page.textContent('h1')).toMatch(/sending/);
    await page.goto(`${base}/`);
    await page.click('button:has-text("Resume sending")');
    await page.goto(`${base}/jobs/${jobId}`);
    await reloadUntil(page, 'the job to be done again', async () => (await page.textContent('h1 .state')) === 'done', 120_000);
    expect(await page.textContent('#timeline')).not.toMatch(/re-send requested[\s\S]*processing/);
  }, 180_000);

  test('the self-test sends a synthetic head through the node to the chosen archive and reports each stage', async () => {
    await page.goto(`${base}/self-test`);
    await page.click('button:has-text("Run the self-test")');
    await reloadUntil(page, 'the self-test to end', async () => /passed|failed/.test((await page.textContent('h2')) ?? ''), 600_000);
    const report = (await page.textContent('table.self-test'))!;
    expect(await page.textContent('h2'), report).toContain('passed');
    for (const stage of ['C-ECHO of the destination', 'sent to our own DICOM port', 'processed', 'results sent to the destination']) expect(report).toContain(stage);
    expect(report).not.toMatch(/\bfailed\b/);
    await page.screenshot({ path: path.join(screenshots, 'self-test.png'), fullPage: true });
    await page.goto(`${base}/jobs`);
    await page.screenshot({ path: path.join(screenshots, 'jobs.png'), fullPage: true });
    const studies = await orthanc.post<unknown[]>('/tools/find', JSON.stringify({ Level: 'Study', Query: { PatientID: 'BRAINSTRIP-SELF-TEST' } }));
    expect(studies).toHaveLength(1);
  }, 660_000);

  test('a viewer sees the job but cannot retry, cancel or re-send it', async () => {
    const context = await browser.newContext();
    const viewer = await logIn(context, base, VIEWER);
    await viewer.goto(`${base}/jobs/${jobId}`);
    expect(await viewer.textContent('h1')).toContain('anat-T1w_acq-tfl');
    expect(await viewer.locator('form[action$="/resend"], form[action$="/retry"], form[action$="/cancel"]').count()).toBe(0);
    // Even with a valid session and its CSRF token, the action is refused.
    const csrf = await viewer.inputValue('form[action="/logout"] input[name=csrf]');
    const response = await viewer.request.post(`${base}/jobs/${jobId}/retry`, { form: { csrf }, maxRedirects: 0 });
    expect(response.status()).toBe(403);
    await context.close();
  });

  test('a POST without the session CSRF token is refused and changes nothing', async () => {
    const before = (await page.request.get(`${base}/api/jobs/${jobId}`).then((r) => r.json())) as { state: string; updatedAt: string };
    for (const form of [{}, { csrf: 'forged' }] as Record<string, string>[]) {
      const response = await page.request.post(`${base}/jobs/${jobId}/resend`, { form, maxRedirects: 0 });
      expect(response.status()).toBe(403);
    }
    const after = (await page.request.get(`${base}/api/jobs/${jobId}`).then((r) => r.json())) as { state: string; updatedAt: string };
    expect(after).toEqual(before);
    await page.goto(`${base}/audit`);
    const audit = (await page.textContent('#audit'))!;
    expect(audit).toContain('refused: missing or wrong CSRF token');
    expect(audit).toContain('refused: admin role needed');
    expect(audit).toMatch(/\/jobs\/:id\/retry/);
  });
});
