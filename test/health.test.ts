// Health that tells the truth, against a real archive: Orthanc stopped while results wait for it → /health degraded
// with the reason and the destination red on the overview and destinations pages, per-destination figures on
// /metrics; Orthanc back → the waiting results are delivered and /health is ready again; intake paused → degraded.
// The node runs with model.precision 'auto': ready only once it has timed FP32 and INT8 and chosen, which /health,
// brainstrip_build_info and the configuration page show with both timings and the CPU.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Node, type Orthanc, cliPath, createOrthanc, e2eRequirements, startNode, storescu, waitFor, waitForJob } from './e2e-fixtures.js';
import { sharedData, sharedDataMissing } from './shared-data.js';
import type { PrecisionChoice } from '../src/pipeline/segmentation/precision-choice.js';

const seriesDir = path.join(sharedData, 'dicom/siemens-t1-patient-positions/HFS/3_t1_fl2d_sag');
const missing = e2eRequirements() ?? sharedDataMissing('the health test', seriesDir);
if (missing) console.warn(`skipping the health test: ${missing}`);

const ADMIN = { name: 'admin', password: 'health-check-admin' };

interface Health {
  status: string;
  ready: boolean;
  degraded: boolean;
  reasons: string[];
  checks: Record<string, boolean>;
  build: { precision: string; precisionChoice: PrecisionChoice };
}

describe.skipIf(missing !== undefined)('health, metrics and the page while the archive fails and recovers', () => {
  let orthanc: Orthanc;
  let node: Node;
  let base: string;
  let cookie = '';
  const health = async () => (await (await fetch(`${base}/health`)).json()) as Health;
  const metric = async (name: string) => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{destination="ARCHIVE@127.0.0.1:${orthanc.dicomPort}"}`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };
  const page = async (route: string) => (await fetch(`${base}${route}`, { headers: { cookie } })).text();

  beforeAll(async () => {
    orthanc = await createOrthanc();
    await orthanc.start();
    node = await startNode(
      {
        destinations: [{ aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort }],
        retry: { maxAttempts: 0, initialDelayMs: 500, maxDelayMs: 1000, giveUpAfterHours: 1 },
      },
      { ops: { apiWithoutLogin: true, destinationFailingSeconds: 3 }, model: { precision: 'auto' } },
    );
    base = `http://127.0.0.1:${node.httpPort}`;
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [cliPath, 'user', 'add', ADMIN.name, '--role', 'admin', '--config', path.join(node.dataDir, 'config.json')], { stdio: ['pipe', 'ignore', 'ignore'] });
      child.stdin.end(`${ADMIN.password}\n`);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`user add exited ${code}`))));
    });
    const login = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ user: ADMIN.name, password: ADMIN.password }), redirect: 'manual' });
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    expect(cookie).toMatch(/=/);
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
    await orthanc?.stop();
  });

  test('ready once the model is loaded, with nothing to report', async () => {
    const h = await waitFor('the model to load', async () => {
      const now = await health();
      return now.ready ? now : undefined;
    }, 120_000);
    expect(h.checks.model).toBe(true);
    expect(h).toMatchObject({ status: 'ready', degraded: false, reasons: [] });
  });

  test("model.precision 'auto': the faster precision runs, with both timings and the CPU in /health, on /metrics and the page", async () => {
    const { build } = await health();
    const choice = build.precisionChoice;
    expect(['FP32', 'INT8']).toContain(build.precision);
    expect(choice).toMatchObject({ configured: 'auto', by: 'measurement', precision: build.precision, intraOpThreads: expect.any(Number), runs: expect.any(Number) });
    expect(choice.milliseconds?.FP32).toBeGreaterThan(0);
    expect(choice.milliseconds?.INT8).toBeGreaterThan(0);
    expect(choice.cpu.name).not.toBe('');
    expect(Array.isArray(choice.cpu.instructionSets)).toBe(true);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(new RegExp(`^brainstrip_build_info\\{.*precision="${build.precision}".*\\} 1$`, 'm'));
    const config = await page('/config');
    for (const p of ['FP32', 'INT8'] as const) expect(config).toContain(`<tr><th>${p}</th><td>${choice.milliseconds![p]} ms per inference at ${choice.intraOpThreads} thread(s)`);
    expect(config).toContain(`${build.precision}, the faster on this CPU`);
    expect(config).toContain(choice.cpu.name);
    expect(node.log()).toContain(`runs ${build.precision}, the faster on this CPU: INT8 ${choice.milliseconds!.INT8} ms, FP32 ${choice.milliseconds!.FP32} ms per inference`);
  });

  test('archive stopped: degraded with the reason, red on the pages, counted on /metrics; back: delivered and ready', async () => {
    await orthanc.stop();
    const files = fs.readdirSync(seriesDir).map((f) => path.join(seriesDir, f));
    await storescu(node.dicomPort, 'BRAINSTRIP', files);
    const degraded = await waitFor('/health to report the archive', async () => {
      const h = await health();
      return h.status === 'degraded' ? h : undefined;
    }, 180_000, 500);
    expect(degraded.ready).toBe(true); // still receiving: degraded is not down
    expect(degraded.reasons.join('\n')).toMatch(new RegExp(`archive ARCHIVE@127\\.0\\.0\\.1:${orthanc.dicomPort} has stored nothing since .*object\\(s\\) waiting`));
    expect(await metric('brainstrip_destination_consecutive_failures')).toBeGreaterThan(0);
    expect(await metric('brainstrip_destination_objects_waiting')).toBe(files.length + 1);
    expect(await metric('brainstrip_destination_failing')).toBe(1);
    expect(await metric('brainstrip_destination_last_failure_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 300);
    for (const route of ['/', '/destinations']) {
      const html = await page(route);
      expect(html, route).toMatch(/<tr class="failing">/);
      expect(html, route).toMatch(/<span class="bad">failing<\/span> since/);
    }
    expect(await page('/')).toMatch(/<div class="big warn">degraded<\/div>/);

    await orthanc.start();
    const job = await waitForJob(node, (await node.jobs()).jobs[0].seriesInstanceUid);
    expect(job.state, job.reason).toBe('done');
    const recovered = await health();
    expect(recovered).toMatchObject({ status: 'ready', degraded: false, reasons: [] });
    expect(await metric('brainstrip_destination_failing')).toBe(0);
    expect(await metric('brainstrip_destination_consecutive_failures')).toBe(0);
    expect(await metric('brainstrip_destination_objects_waiting')).toBe(0);
    expect(await metric('brainstrip_destination_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 300);
    expect(await page('/destinations')).not.toMatch(/<tr class="failing">/);
  });

  test('intake paused: degraded, saying who paused it; resumed: ready', async () => {
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page('/'))![1];
    const pause = (paused: '0' | '1') =>
      fetch(`${base}/pause`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ csrf, what: 'intake', paused, back: '/' }), redirect: 'manual' });
    expect((await pause('1')).status).toBe(303);
    const h = await health();
    expect(h.status).toBe('degraded');
    expect(h.reasons).toEqual([expect.stringMatching(/^intake is paused \(by admin since /)]);
    expect((await fetch(`${base}/metrics`).then((r) => r.text())).split('\n')).toContain('brainstrip_paused{what="intake"} 1');
    await pause('0');
    expect((await health()).status).toBe('ready');
  });
});
