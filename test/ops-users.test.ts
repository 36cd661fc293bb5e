// Users and the audit log as a privacy officer needs them: a disabled or removed user is out at once (open logins
// end, new ones are refused), the audit log records who viewed which patient's job, and it exports as CSV that a
// spreadsheet cannot mistake for formulas.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { NodeControls } from '../src/jobs/controls.js';
import { SqliteJobStore } from '../src/jobs/state/sqlite/store.js';
import { MetricsRegistry } from '../src/metrics.js';
import { Accounts, auditCsv } from '../src/ops/accounts.js';
import { type OpsServer, startOpsServer } from '../src/ops/http.js';
import { createWebHandler } from '../src/ops/web.js';
import { cliPath } from './e2e-fixtures.js';
import { tempDir } from './derived-fixtures.js';

const run = promisify(execFile);
const ADMIN = { user: 'privacy-officer', password: 'correct horse battery' };
const READER = { user: 'radiographer', password: 'another good password' };

describe('users and the audit log', () => {
  let dir: string;
  let server: OpsServer;
  let base: string;
  let accounts: Accounts;
  let store: SqliteJobStore;
  let jobId: number;

  const login = async (who: { user: string; password: string }) => {
    const response = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams(who), redirect: 'manual' });
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0];
    return response.status === 303 && cookie.includes('=') ? cookie : undefined;
  };
  const get = (route: string, cookie: string) => fetch(`${base}${route}`, { headers: { cookie }, redirect: 'manual' });

  beforeAll(async () => {
    dir = tempDir('ops-users');
    const config = loadConfig({ file: '', overrides: { dataDir: dir } });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ dataDir: dir }));
    store = new SqliteJobStore(path.join(dir, 'jobs.sqlite'));
    accounts = new Accounts(path.join(dir, 'ops.sqlite'));
    await accounts.setUser(ADMIN.user, 'admin', ADMIN.password);
    await accounts.setUser(READER.user, 'viewer', READER.password);
    const { job } = await store.recordInstance({
      studyInstanceUid: '1.2.3',
      seriesInstanceUid: '1.2.3.4',
      sopInstanceUid: '1.2.3.4.5',
      modality: 'MR',
      seriesDescription: 't1_mprage',
      callingAe: 'PACS',
      bytes: 1000,
    });
    jobId = job.id;
    await store.describe(jobId, { patientName: 'Doe^Jane', patientId: 'PID-0042', accessionNumber: 'A1', studyDescription: 'MR head', studyDate: '20261201', seriesNumber: '3' });
    const runner = { active: 0, concurrency: 1, isRunning: () => false, interrupt: () => false, retry: async () => undefined, wake: () => undefined };
    const web = createWebHandler({ config, store, accounts, controls: new NodeControls(), runner, instancePaths: async () => [], spoolRoot: path.join(dir, 'spool'), dicomPort: () => 11112 });
    server = await startOpsServer({ port: 0, host: '127.0.0.1' }, { metrics: new MetricsRegistry(), readiness: { checks: () => ({ dicom: true }) }, web });
    base = `http://127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    await server?.close();
    accounts?.close();
    await store?.close();
  });

  test("viewing a job is audited with the patient it concerns, and the log exports as CSV", async () => {
    const cookie = (await login(READER))!;
    expect((await get(`/jobs/${jobId}`, cookie)).status).toBe(200);
    const admin = (await login(ADMIN))!;
    const csv = await (await get('/audit.csv', admin)).text();
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('at,user,action,target,outcome');
    expect(lines.some((l) => l.includes(`,${READER.user},view job,job ${jobId}: patient PID-0042 Doe^Jane,viewed`))).toBe(true);
    expect((await get('/audit.csv', admin)).headers.get('content-disposition')).toMatch(/^attachment; filename="brainstrip-audit-\d{4}-\d{2}-\d{2}\.csv"$/);
  });

  test('the configuration page says what is kept about patients and for how long', async () => {
    const page = await (await get('/config', (await login(ADMIN))!)).text();
    const table = page.slice(page.indexOf('<table id="retention">'));
    expect(table).toMatch(/derived images and SEG of delivered jobs \(work\/\)<\/td><td>7 days<\/td><td><code>retention.resultsDays<\/code>/);
    expect(table).toMatch(/audit log[^<]*<\/td><td>2190 days/);
    expect(table).toMatch(/work not yet delivered[^<]*<\/td><td>kept until delivered/);
  });

  test('a CSV cell is quoted where needed and never read as a formula', () => {
    const csv = auditCsv([{ at: '2026-12-01T00:00:00Z', user: '=cmd|calc', action: 'login', target: 'a,"b"', outcome: '@x' }]);
    expect(csv.split('\r\n')[1]).toBe(`2026-12-01T00:00:00Z,'=cmd|calc,login,"a,""b""",'@x`);
  });

  test('a disabled user is logged out at once and cannot log in; enabled again, can; removed, is gone', async () => {
    const config = path.join(dir, 'config.json');
    const cookie = (await login(READER))!;
    expect((await get('/', cookie)).status).toBe(200);

    await run(process.execPath, [cliPath, 'user', 'disable', READER.user, '--config', config]);
    expect((await get('/', cookie)).status).toBe(303); // back to the login page
    expect(await login(READER)).toBeUndefined();
    const { stdout } = await run(process.execPath, [cliPath, 'user', 'list', '--config', config]);
    expect(stdout).toMatch(new RegExp(`^${READER.user}\\tviewer\\tdisabled \\d{4}-`, 'm'));

    await run(process.execPath, [cliPath, 'user', 'enable', READER.user, '--config', config]);
    const again = (await login(READER))!;
    expect((await get('/', again)).status).toBe(200);

    await run(process.execPath, [cliPath, 'user', 'remove', READER.user, '--config', config]);
    expect((await get('/', again)).status).toBe(303);
    expect(await login(READER)).toBeUndefined();
    expect((await accounts.users()).map((u) => u.name)).toEqual([ADMIN.user]);
    const trail = (await accounts.auditLog(50)).map((e) => `${e.user} ${e.action} ${e.target}`);
    for (const action of ['disable', 'enable', 'remove']) expect(trail).toContain(`(command line) user ${action} ${READER.user}`);
    await expect(run(process.execPath, [cliPath, 'user', 'remove', READER.user, '--config', config])).rejects.toMatchObject({ code: 1 });
  });
});
