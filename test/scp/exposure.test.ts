// What the node exposes and where it writes: the operations port listens on loopback unless told otherwise, a job
// list is capped whatever limit is asked for, and ONNX Runtime neither keeps a telemetry database in the home folder
// nor leaves a trace log in /tmp.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/schema.js';
import { SqliteJobStore } from '../../src/jobs/state/sqlite/store.js';
import { haveDist, makeDataDir, repoRoot, startNode, type NodeUnderTest } from './node-process.js';
import { EXPLICIT_LE, MR_STORAGE, RawConnection } from './raw-scu.js';

describe('exposure', () => {
  it('binds the operations port to 127.0.0.1 by default', () => {
    expect(loadConfig({ file: '' }).http.host).toBe('127.0.0.1');
  });

  it('caps every job list, also for a negative or absurd limit', async () => {
    const store = new SqliteJobStore(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-store-')), 'jobs.sqlite'));
    for (let i = 1; i <= 3; i++) await store.recordInstance({ studyInstanceUid: '1.2', seriesInstanceUid: `1.2.${i}`, sopInstanceUid: `1.2.${i}.1`, bytes: 1 });
    expect(await store.list({ limit: -5 })).toHaveLength(1);
    expect(await store.list({ limit: 2 })).toHaveLength(2);
    expect(await store.list({ limit: Number.NaN })).toHaveLength(3);
  });
});

describe.skipIf(!haveDist)('the running node', () => {
  let node: NodeUnderTest | undefined;
  afterEach(async () => {
    if (node && node.child.exitCode === null) await node.stop();
    node = undefined;
  });

  it('answers ?limit=-5 with 400 instead of an uncapped list', async () => {
    node = await startNode(makeDataDir());
    expect((await node.get('/api/jobs?limit=-5')).status).toBe(400);
    expect((await node.get('/api/jobs?limit=abc')).status).toBe(400);
    expect((await node.get('/api/jobs?limit=5')).status).toBe(200);
  });

  it('closes a silent connection after the ARTIM time and a silent association after receive.timeoutSeconds', async () => {
    node = await startNode(makeDataDir(), { receive: { artimSeconds: 1, timeoutSeconds: 2 } });
    const silent = await RawConnection.connect(node.dicomPort);
    const artim = await silent.closedWithin(5000);
    expect(artim).toBeDefined();
    expect(artim!).toBeLessThan(2500);
    const quiet = await RawConnection.connect(node.dicomPort);
    expect(await quiet.associate([{ abstractSyntax: MR_STORAGE, transferSyntaxes: [EXPLICIT_LE] }])).toBe('accepted');
    const idle = await quiet.closedWithin(8000);
    expect(idle).toBeDefined();
    expect(idle!).toBeLessThan(5000);
  });
});

const model = path.join(repoRoot, 'models/brainstrip-efficient-fp32.onnx');
describe.skipIf(!haveDist || !fs.existsSync(model))('ONNX Runtime telemetry', () => {
  it('writes nothing to the home folder or /tmp when the node opens a model', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-home-'));
    const script = `
      const { getSession } = await import(${JSON.stringify(path.join(repoRoot, 'dist/src/onnx-session.js'))});
      await getSession(${JSON.stringify(model)}, 1);
      console.log(process.pid);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, HOME: home }, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    const pid = run.stdout.trim();
    expect(fs.readdirSync(home)).toEqual([]);
    expect(fs.existsSync(`/tmp/mat-debug-${pid}.log`)).toBe(false);
  });
});
