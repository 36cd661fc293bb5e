// The operations page over HTTP, without a browser: what it does with what a client sends it. A `next` after the
// login leads to a page of this node only, however a browser would read it; a cookie that does not decode is
// ignored; and password guessing is limited per user name and per client address, refused before any hash.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { NodeControls } from '../src/jobs/controls.js';
import { SqliteJobStore } from '../src/jobs/state/sqlite/store.js';
import { MetricsRegistry } from '../src/metrics.js';
import { Accounts } from '../src/ops/accounts.js';
import { type OpsServer, startOpsServer } from '../src/ops/http.js';
import { LoginThrottle } from '../src/ops/login-throttle.js';
import { createWebHandler } from '../src/ops/web.js';
import { repoRoot, tempDir } from './derived-fixtures.js';

const ADMIN = { user: 'ris-admin', password: 'correct horse battery' };

/** Values of `next` that a browser reads as another site, a script, or nothing of ours. */
const FOREIGN = [
  '//evil.example/x',
  '/\\evil.example/x',
  '\\\\evil.example/x',
  '/\t/evil.example',
  '/\n/evil.example',
  '\t//evil.example',
  ' //evil.example',
  ' /x',
  '/\\/evil.example',
  'https://evil.example/x',
  'http:evil.example',
  'javascript:alert(1)',
  'evil.example',
  '',
];

/** Same-origin paths, kept as they are. */
const LOCAL = ['/jobs/3?x=1', '/', '/jobs?state=failed&q=M%C3%BCller', '/%5Cevil.example', '/%09/evil.example', '/.//evil.example'];

describe('the operations page over HTTP', () => {
  let server: OpsServer;
  let base: string;
  let accounts: Accounts;
  let store: SqliteJobStore;

  beforeAll(async () => {
    const dir = tempDir('ops-web');
    const config = loadConfig({ file: '', overrides: { dataDir: dir, ops: { loginFailuresPerUser: 5, loginFailuresPerClient: 12, loginWindowMinutes: 15 } } });
    store = new SqliteJobStore(path.join(dir, 'jobs.sqlite'));
    accounts = new Accounts(path.join(dir, 'ops.sqlite'));
    await accounts.setUser(ADMIN.user, 'admin', ADMIN.password);
    const runner = { active: 0, concurrency: 1, isRunning: () => false, interrupt: () => false, retry: async () => undefined, wake: () => undefined };
    const web = createWebHandler({ config, store, accounts, controls: new NodeControls(), runner, instancePaths: async () => [], spoolRoot: path.join(dir, 'spool'), dicomPort: () => 11112 });
    const deps = { store, metrics: new MetricsRegistry(), readiness: { checks: () => ({ dicom: true }) }, web };
    server = await startOpsServer({ port: 0, host: '127.0.0.1' }, deps);
    base = `http://127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    await server?.close();
    accounts?.close();
    await store?.close();
  });

  const logIn = (next: string) =>
    fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ ...ADMIN, next }), redirect: 'manual' }).then((r) => {
      expect(r.status).toBe(303);
      return r;
    });

  test('after a login, a next that names another site, a script or nothing leads to the overview; a local path is kept', async () => {
    for (const next of [...FOREIGN, ...LOCAL]) {
      const location = (await logIn(next)).headers.get('location')!;
      expect(location, JSON.stringify(next)).toBe(LOCAL.includes(next) ? next : '/');
      // Wherever a browser resolves it, it stays on this node.
      expect(new URL(location, base).origin, JSON.stringify(next)).toBe(base);
    }
  });

  test('the login form carries only a local next, and an action goes back only to a page of this node', async () => {
    for (const next of FOREIGN.filter(Boolean)) {
      const form = await (await fetch(`${base}/login?next=${encodeURIComponent(next)}`)).text();
      expect(form, JSON.stringify(next)).toContain('name="next" value="/"');
    }
    const cookie = (await logIn('/')).headers.get('set-cookie')!.split(';')[0];
    const { csrf } = (await (await fetch(`${base}/api/session`, { headers: { cookie } })).json()) as { csrf: string };
    for (const back of ['/\\evil.example/x', '//evil.example', '/\t/evil.example']) {
      const answer = await fetch(`${base}/pause`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ csrf, what: 'intake', paused: '0', back }), redirect: 'manual' });
      expect(answer.status).toBe(303);
      expect(answer.headers.get('location'), JSON.stringify(back)).toMatch(/^\/\?note=/);
    }
    // A local path that resolves to `//…` keeps its note without turning into a link to another host.
    const dotted = await fetch(`${base}/pause`, { method: 'POST', headers: { cookie }, body: new URLSearchParams({ csrf, what: 'intake', paused: '0', back: '/.//evil.example' }), redirect: 'manual' });
    expect(new URL(dotted.headers.get('location')!, base).origin).toBe(base);
  });

  test('every page names the brainstrip and Node.js that run at its foot', async () => {
    const version = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string;
    const text = await (await fetch(`${base}/login`)).text();
    expect(text).toMatch(new RegExp(`<footer[^>]*>brainstrip ${version.replace(/\./g, '\\.')} · Node\\.js ${process.versions.node.replace(/\./g, '\\.')} ·`));
  });

  test('a cookie that does not decode is ignored: the login page, the redirect to it and a logged-in page still answer', async () => {
    for (const bad of ['other=%', 'other=%E0%A4%A', 'brainstrip_session=%zz', '=%', 'x=%; y=%%']) {
      expect((await fetch(`${base}/login`, { headers: { cookie: bad } })).status, bad).toBe(200);
      const home = await fetch(`${base}/`, { headers: { cookie: bad }, redirect: 'manual' });
      expect(home.status, bad).toBe(303);
      expect(home.headers.get('location')).toMatch(/^\/login/);
      expect((await fetch(`${base}/api/jobs`, { headers: { cookie: bad } })).status, bad).toBe(401);
    }
    const session = (await logIn('/')).headers.get('set-cookie')!.split(';')[0];
    const page = await fetch(`${base}/jobs`, { headers: { cookie: `other=%; ${session}; third=%G0` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<h1>Jobs</h1>');
  });

  // Last: it locks this client out of logging in for the rest of the window.
  test('failed logins are limited per user name and per client; over the limit the answer is 429 with Retry-After, cheaply', async () => {
    const attempt = (user: string, password = 'not the password') => fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ user, password }) });
    for (let n = 0; n < 5; n++) expect((await attempt('guessed')).status).toBe(401);
    const locked = await attempt('guessed');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(60);
    // Another name from the same client still gets its check, until the client's own limit.
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, n) => attempt(`random-${n}-${Math.random()}`).then((r) => r.status)));
    expect(statuses.filter((s) => s === 401)).toHaveLength(12 - 5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40 - 7);
    const started = Date.now();
    const refused = await attempt(ADMIN.user, ADMIN.password);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.text()).toContain('Too many failed logins for this address');
    // No password was hashed for it: far quicker than one scrypt.
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await accounts.auditLog(100)).filter((e) => /too many failed logins for this address/.test(e.outcome))).toHaveLength(1);
  });
});

describe('the login limits', () => {
  test('a client over its limit is refused whatever the name; the window slides; a success frees its attempt', () => {
    let now = 0;
    const throttle = new LoginThrottle({ failuresPerUser: 3, failuresPerClient: 4, windowMs: 60_000 }, () => now);
    for (let n = 0; n < 3; n++) expect(throttle.admit('10.0.0.1', 'alice').refused).toBeUndefined();
    expect(throttle.admit('10.0.0.1', 'alice').refused).toMatchObject({ by: 'user', first: true, retryAfterSeconds: 60 });
    expect(throttle.admit('10.0.0.2', 'alice').refused).toMatchObject({ by: 'user', first: false });
    now = 10_000;
    expect(throttle.admit('10.0.0.1', 'bob').refused).toBeUndefined();
    expect(throttle.admit('10.0.0.1', 'carol').refused).toMatchObject({ by: 'client', retryAfterSeconds: 50 });
    expect(throttle.admit('10.0.0.3', 'carol').refused).toBeUndefined();
    now = 60_001;
    const ok = throttle.admit('10.0.0.1', 'alice');
    expect(ok.refused).toBeUndefined();
    if (!ok.refused) ok.succeeded();
    // The success took back its own attempt and the failures of its name; bob's failure from 10 s still counts.
    for (let n = 0; n < 3; n++) expect(throttle.admit('10.0.0.1', `name-${n}`).refused).toBeUndefined();
    expect(throttle.admit('10.0.0.1', 'dave').refused).toMatchObject({ by: 'client' });
  });
});
