// The operations page of a cluster node in a real browser (Debian's chromium): the Nodes view lists the node with
// its roles, version, heartbeat and jobs; an administrator pauses intake for this node only and then for every
// node, each audited; GET /api/cluster answers the same as JSON; a job's timeline names the node of each change.
// The user was added through the cluster's database, as `brainstrip user add` on any node does.
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { type RunningNode, startNode } from '../src/cli/serve.js';
import { openSharedState } from '../src/cli/shared-state.js';
import { configureLogging } from '../src/log.js';
import { Accounts } from '../src/ops/accounts.js';
import { tempDir } from './derived-fixtures.js';
import { type PostgresCluster, postgresMissing, startPostgres } from './postgres-fixture.js';
import { toolsMissing } from './tools.js';

const CHROMIUM = '/usr/bin/chromium';
const missing = postgresMissing('the cluster operations page test') ?? toolsMissing('the cluster operations page test', CHROMIUM);
if (missing) console.warn(`skipping the cluster operations page test: ${missing}`);
const ADMIN = { name: 'cluster-admin', password: 'correct horse battery' };

describe.skipIf(missing !== undefined)('the operations page of a cluster node', () => {
  let cluster: PostgresCluster;
  let node: RunningNode | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(async () => {
    await browser?.close();
    await node?.stop();
    cluster?.stop();
  });

  test('the Nodes view lists the node; intake paused for this node, then for every node; /api/cluster says so', async () => {
    configureLogging({ level: 'warn', stream: 'stderr' });
    const overrides = {
      dataDir: path.join(tempDir('ops-cluster'), 'data'),
      log: { file: '' },
      http: { port: 0, host: '127.0.0.1' },
      receive: { aeTitle: 'BRAINSTRIP', port: 0 },
      cluster: { database: await cluster.createDatabase('ops_page'), nodeName: 'node-a' },
    };
    const config = loadConfig({ overrides });
    const processor = { compute: async () => undefined, send: async () => undefined, hasResults: () => false, close: async () => undefined };
    node = await startNode(config, { processor });
    const shared = await openSharedState(config);
    await new Accounts(shared.accounts).setUser(ADMIN.name, 'admin', ADMIN.password);
    await shared.close();

    const base = `http://127.0.0.1:${node.httpPort}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${base}/login?next=/nodes`);
    await page.fill('input[name=user]', ADMIN.name);
    await page.fill('input[name=password]', ADMIN.password);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/nodes`);
    expect(await page.textContent('header')).toContain('Nodes');
    const row = (await page.textContent('#nodes tr[data-node="node-a"]'))!;
    expect(row).toMatch(/node-a \(this node\)\s*receive, process, send/);
    expect(row).toContain('alive');

    const pauseButton = (scope: string) => page.locator(`#pauses tr[data-scope="${scope}"] td:nth-child(2) button`);
    await pauseButton('node-a').click();
    await expect.poll(() => page.textContent('.note')).toContain('intake paused on node node-a');
    await pauseButton('').click();
    await expect.poll(() => page.textContent('.note')).toContain('intake paused on every node');
    await page.goto(`${base}/`);
    expect(await page.textContent('main')).toMatch(/intake\s*paused on every node by cluster-admin/);

    const api = await page.request.get(`${base}/api/cluster`);
    const answer = (await api.json()) as { node: string; nodes: Array<{ name: string; alive: boolean }>; pauses: Array<{ what: string; node: string }> };
    expect(answer.node).toBe('node-a');
    expect(answer.nodes).toMatchObject([{ name: 'node-a', alive: true }]);
    expect(answer.pauses.map((p) => `${p.what}@${p.node}`).sort()).toEqual(['intake@', 'intake@node-a']);
    // The API's resume: the session's CSRF token needed, as for the page's buttons.
    expect((await page.request.post(`${base}/api/pause?what=intake&paused=0&node=`)).status()).toBe(403);
    const { csrf } = (await (await page.request.get(`${base}/api/session`)).json()) as { csrf: string };
    const resumed = await page.request.post(`${base}/api/pause?what=intake&paused=0&node=`, { headers: { 'x-csrf-token': csrf } });
    expect(await resumed.json()).toMatchObject({ outcome: 'intake resumed on every node', pauses: [{ what: 'intake', node: 'node-a' }] });
    await page.goto(`${base}/audit`);
    expect(await page.textContent('#audit')).toContain('intake on node node-a');
    // The job page says which node made each change.
    const { job } = await node.store.recordInstance({ studyInstanceUid: '1.2', seriesInstanceUid: '1.2.3', sopInstanceUid: '1.2.3.1', bytes: 1 });
    await page.goto(`${base}/jobs/${job.id}`);
    expect(await page.textContent('#timeline')).toMatch(/node\s*[\s\S]*receiving[\s\S]*node-a/);
  });
});
