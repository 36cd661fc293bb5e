// A login flood against a running node: 2,000 attempts with random user names from one client, while a PACS sends
// instances. The flood is answered 429 without hashing a password once the client is over its limit, so that the
// thread pool the spool's file writes use stays free and every C-STORE is acknowledged promptly; a user at another
// address still logs in.
import http from 'node:http';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Accounts } from '../src/ops/accounts.js';
import { mrInstance } from './scp/hostile-corpus.js';
import { haveDist, makeDataDir, startNode, type NodeUnderTest } from './scp/node-process.js';
import { EXPLICIT_LE, MR_STORAGE, RawConnection } from './scp/raw-scu.js';

const FLOOD = 2000;
const PARALLEL = 40;
const USER = { user: 'ris-admin', password: 'correct horse battery' };

if (!haveDist && process.env.CI) throw new Error('the login flood test needs dist/ (npm run build)');

/** POST /login from a chosen local address (the loopback network has many). */
function postLogin(port: number, form: Record<string, string>, localAddress = '127.0.0.1'): Promise<{ status: number; retryAfter?: string }> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/login', method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(!haveDist)('a login flood', () => {
  let node: NodeUnderTest | undefined;
  afterAll(async () => node?.stop());

  test('from one client is rate-limited without delaying C-STORE acknowledgements', async () => {
    const dataDir = makeDataDir();
    const accounts = new Accounts(path.join(dataDir, 'ops.sqlite'));
    await accounts.setUser(USER.user, 'admin', USER.password);
    await accounts.close();
    node = await startNode(dataDir, { ops: { apiWithoutLogin: false } });
    const port = node.httpPort;

    // The PACS: one association, an instance every 50 ms or so, until the flood is over.
    let flooding = true;
    const acks: Array<{ status: number; ms: number }> = [];
    const pacs = (async () => {
      const c = await RawConnection.connect(node!.dicomPort);
      expect(await c.associate([{ abstractSyntax: MR_STORAGE, transferSyntaxes: [EXPLICIT_LE] }])).toBe('accepted');
      const study = '1.2.826.0.1.3680043.10.778';
      for (let i = 1; flooding || acks.length < 20; i++) {
        const sop = `${study}.1.${i}`;
        const { bytes } = mrInstance({ studyInstanceUid: study, seriesInstanceUid: `${study}.1`, sopInstanceUid: sop, position: i, pixelSeed: i });
        const started = performance.now();
        const answer = await c.store(bytes, { sopClassUid: MR_STORAGE, sopInstanceUid: sop });
        acks.push({ status: typeof answer === 'object' ? answer.status : -1, ms: performance.now() - started });
        await new Promise((r) => setTimeout(r, 50));
      }
      await c.release();
    })();

    const statuses: number[] = [];
    const floodStarted = performance.now();
    let sent = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        // Bounded in time, so that a node that hashes every attempt fails here instead of running for many minutes.
        while (sent < FLOOD && performance.now() - floodStarted < 90_000) {
          sent++;
          const name = `u${Math.random().toString(36).slice(2)}`;
          statuses.push((await postLogin(port, { user: name, password: 'guess' })).status);
        }
      }),
    );
    const floodSeconds = (performance.now() - floodStarted) / 1000;
    flooding = false;
    await pacs;

    const count = (status: number) => statuses.filter((s) => s === status).length;
    const ms = acks.map((a) => a.ms).sort((a, b) => a - b);
    console.log(
      `login flood: ${statuses.length} attempts in ${floodSeconds.toFixed(1)} s (${count(401)} checked, ${count(429)} refused 429); ` +
        `${acks.length} C-STOREs during it, ack median ${ms[Math.floor(ms.length / 2)].toFixed(1)} ms, max ${ms[ms.length - 1].toFixed(1)} ms`,
    );
    expect(statuses).toHaveLength(FLOOD);
    // Only the client's allowance (ops.loginFailuresPerClient, 30 by default) got a password check.
    expect(count(401)).toBeLessThanOrEqual(30);
    expect(count(429)).toBe(FLOOD - count(401));
    expect(acks.every((a) => a.status === 0x0000)).toBe(true);
    expect(ms[ms.length - 1]).toBeLessThan(3000);

    // The limit is the flooding client's: an administrator at another address logs in, and is not delayed.
    const started = performance.now();
    expect((await postLogin(port, USER, '127.0.0.2')).status).toBe(303);
    expect(performance.now() - started).toBeLessThan(10_000);
    const refused = await postLogin(port, USER);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
  }, 240_000);
});
