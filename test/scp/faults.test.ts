// Faults below the DICOM layer: a disk that fills up or lies about writes, a job store that cannot write, and a
// restart after series were long done. Each must end in a clear refusal or a recovery, never in an acknowledged
// instance that is not whole on disk, and never in a series processed twice.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteJobStore } from '../../src/jobs/state/sqlite/store.js';
import { fileMetaHeader } from '../../src/scp/part10.js';
import { reconcileSpool } from '../../src/scp/recovery.js';
import { Spool } from '../../src/scp/spool.js';
import { nodeSpoolIo, type SpoolIo } from '../../src/scp/spool-writer.js';
import { mrInstance } from './hostile-corpus.js';
import { EXPLICIT_LE, MR_STORAGE, RawConnection, VERIFICATION } from './raw-scu.js';
import { haveDist, makeDataDir, startNode, type NodeUnderTest } from './node-process.js';
import { DimseStatus } from '../../src/dicom/status.js';

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
const meta = (sop: string) => fileMetaHeader({ sopClassUid: MR_STORAGE, sopInstanceUid: sop, transferSyntaxUid: EXPLICIT_LE });

/** File operations of a disk with `capacity` bytes left, which stores part of the write that fills it. */
function fillingDisk(capacity: number, maxPerWrite = 8192): SpoolIo & { used: number } {
  const io = {
    ...nodeSpoolIo,
    used: 0,
    async write(fd: number, buffer: Buffer) {
      const room = capacity - io.used;
      if (room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = Math.min(buffer.length, room, maxPerWrite);
      const written = await nodeSpoolIo.write(fd, buffer.subarray(0, n));
      io.used += written;
      return written;
    },
  };
  return io;
}

async function spoolWith(io: SpoolIo) {
  const spool = new Spool(tmp('brainstrip-faults-'), io);
  await spool.init();
  return spool;
}

describe('short writes', () => {
  it('writes an instance whole when the disk takes it in small pieces', async () => {
    const spool = await spoolWith(fillingDisk(10 * 1024 * 1024, 1000));
    const writer = spool.openInstance(meta('1.2.3.1'));
    const dataset = Buffer.alloc(181_914, 7);
    writer.write(dataset.subarray(0, 100_000));
    writer.end(dataset.subarray(100_000));
    expect(await writer.finish()).toBeUndefined();
    const { target } = await spool.commit(writer, spool.seriesDir('1.2.3', '1.2.3.4'), '1.2.3.1');
    expect(fs.statSync(target).size).toBe(meta('1.2.3.1').length + dataset.length);
  });

  it('reports a disk that fills in the middle of an instance (86,016 of 181,914 bytes), and leaves no partial file', async () => {
    const spool = await spoolWith(fillingDisk(86_016 + meta('1.2.3.2').length));
    const writer = spool.openInstance(meta('1.2.3.2'));
    writer.end(Buffer.alloc(181_914, 1));
    const error = await writer.finish();
    expect(error?.message).toMatch(/ENOSPC|short write|incomplete/);
    await writer.discard();
    expect(fs.readdirSync(spool.incomingDir)).toEqual([]);
  });

  it('refuses a file that is shorter on disk than the bytes the writes reported', async () => {
    const liar: SpoolIo = { ...nodeSpoolIo, write: async (fd, b) => (await nodeSpoolIo.write(fd, b.subarray(0, Math.max(1, b.length - 10)))) + 10 };
    const spool = await spoolWith(liar);
    const writer = spool.openInstance(meta('1.2.3.3'));
    writer.end(Buffer.alloc(5000, 1));
    expect((await writer.finish())?.message).toMatch(/incomplete file/);
  });
});

describe('conflicting copies of one SOP Instance UID', () => {
  it('never replaces a spooled instance: an identical copy is dropped, a different one is left to the caller', async () => {
    const spool = await spoolWith(nodeSpoolIo);
    const dir = spool.seriesDir('1.2.3', '1.2.3.4');
    const receive = async (fill: number) => {
      const w = spool.openInstance(meta('1.2.3.9'));
      w.end(Buffer.alloc(1000, fill));
      expect(await w.finish()).toBeUndefined();
      return w;
    };
    const first = await spool.commit(await receive(1), dir, '1.2.3.9');
    expect(first.existing).toBe('none');
    const original = fs.readFileSync(first.target);
    expect((await spool.commit(await receive(1), dir, '1.2.3.9')).existing).toBe('identical');
    const other = await receive(2);
    expect((await spool.commit(other, dir, '1.2.3.9')).existing).toBe('different');
    expect(fs.readFileSync(first.target)).toEqual(original);
    expect(await spool.errors.keep(other, { reason: 'test' })).toMatch(/errors/);
  });
});

describe('restart after a series was done', () => {
  async function doneJob(store: SqliteJobStore, series: string, sops: string[]) {
    for (const sop of sops) await store.recordInstance({ studyInstanceUid: '1.2.3', seriesInstanceUid: series, sopInstanceUid: sop, modality: 'MR', bytes: 10 });
    const job = (await store.latestJobOfSeries(series))!;
    await store.markComplete(job.id);
    await store.claimNext();
    await store.transition(job.id, 'resultsReady');
    await store.transition(job.id, 'delivered');
    return job;
  }
  async function spoolInstance(spool: Spool, series: string, sop: string, spooledAt: Date) {
    const w = spool.openInstance(meta(sop));
    w.end(mrInstance({ studyInstanceUid: '1.2.3', seriesInstanceUid: series, sopInstanceUid: sop }).bytes);
    expect(await w.finish()).toBeUndefined();
    const { target } = await spool.commit(w, spool.seriesDir('1.2.3', series), sop);
    spool.settled(spool.seriesDir('1.2.3', series));
    fs.utimesSync(target, spooledAt, spooledAt);
  }

  it('creates no job for a spooled instance the store missed when its series was processed after it', async () => {
    const spool = await spoolWith(nodeSpoolIo);
    const store = new SqliteJobStore(path.join(spool.root, 'jobs.sqlite'));
    // The instance reached the spool, but the store could not record it (disk full); the job ran anyway.
    await spoolInstance(spool, '1.2.3.4', '1.2.3.4.2', new Date(Date.now() - 60_000));
    const job = await doneJob(store, '1.2.3.4', ['1.2.3.4.1']);
    await spoolInstance(spool, '1.2.3.4', '1.2.3.4.1', new Date(Date.now() - 60_000));
    const { recorded } = await reconcileSpool(spool, store);
    expect(recorded).toBe(0);
    expect(await store.list()).toHaveLength(1);
    expect(await store.get(job.id)).toMatchObject({ state: 'done', instances: 2 });
    // A second restart changes nothing either.
    expect((await reconcileSpool(spool, store)).recorded).toBe(0);
    expect(await store.list()).toHaveLength(1);
  });

  it('records an instance spooled after its series was processed, as a late instance: noted on the job, no second job', async () => {
    const spool = await spoolWith(nodeSpoolIo);
    const store = new SqliteJobStore(path.join(spool.root, 'jobs.sqlite'));
    await doneJob(store, '1.2.3.5', ['1.2.3.5.1']);
    await spoolInstance(spool, '1.2.3.5', '1.2.3.5.1', new Date(Date.now() - 60_000));
    await spoolInstance(spool, '1.2.3.5', '1.2.3.5.2', new Date(Date.now() + 5_000));
    const { recorded } = await reconcileSpool(spool, store);
    expect(recorded).toBe(1);
    const jobs = await store.list();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ state: 'done' });
    expect(jobs[0].detail).toMatch(/1 instance arrived after its results were stored: kept in the spool, not processed/);
  });
});

// A real full disk, as root: a small tmpfs under the node's data folder.
const canMount = haveDist && process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
describe.skipIf(!canMount)('a full disk under the running node', () => {
  let node: NodeUnderTest | undefined;
  let mountPoint: string | undefined;
  afterEach(async () => {
    if (node && node.child.exitCode === null) await node.stop();
    if (mountPoint) spawnSync('umount', ['-l', mountPoint]);
    node = undefined;
    mountPoint = undefined;
  });

  it('answers Out of Resources (never Success) for what does not fit, keeps every acknowledged instance whole, and reports not ready', async () => {
    const dataDir = makeDataDir();
    mountPoint = dataDir;
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dataDir]);
    node = await startNode(dataDir, { receive: { minFreeMegabytes: 0 } });
    const contexts = [
      { abstractSyntax: VERIFICATION, transferSyntaxes: [EXPLICIT_LE] },
      { abstractSyntax: MR_STORAGE, transferSyntaxes: [EXPLICIT_LE] },
    ];
    const series = '1.2.826.0.1.3680043.10.777.1';
    const instances = Array.from({ length: 30 }, (_, i) => {
      const sop = `${series}.${i + 1}`;
      const { bytes } = mrInstance({ studyInstanceUid: '1.2.826.0.1.3680043.10.777', seriesInstanceUid: series, sopInstanceUid: sop, pixelSeed: i });
      // ~180 KB each, like one slice of a 512×352 series
      return { sop, bytes: Buffer.concat([bytes.subarray(0, bytes.length - 32 - 12), padPixels(180_000, i)]) };
    });
    const send = async (list: typeof instances) => {
      const c = await RawConnection.connect(node!.dicomPort);
      expect(await c.associate(contexts)).toBe('accepted');
      const statuses: number[] = [];
      for (const i of list) {
        const r = await c.store(i.bytes, { sopClassUid: MR_STORAGE, sopInstanceUid: i.sop });
        statuses.push(typeof r === 'object' ? r.status : -1);
      }
      await c.release();
      return statuses;
    };
    const statuses = await send(instances);
    expect(statuses.every((s) => s === DimseStatus.Success || s === DimseStatus.OutOfResources), statuses.join(',')).toBe(true);
    expect(statuses.filter((s) => s === DimseStatus.OutOfResources).length).toBeGreaterThan(0);
    // Every Success is a whole file on disk; nothing partial is left behind.
    const spooled = (sop: string) => path.join(dataDir, 'spool/series/1.2.826.0.1.3680043.10.777', series, `${sop}.dcm`);
    instances.forEach((inst, k) => {
      if (statuses[k] !== 0) {
        expect(fs.existsSync(spooled(inst.sop))).toBe(false);
        return;
      }
      const file = fs.readFileSync(spooled(inst.sop));
      expect(file.subarray(file.length - inst.bytes.length).equals(inst.bytes)).toBe(true);
    });
    expect(fs.readdirSync(path.join(dataDir, 'spool/incoming')).filter((n) => !n.startsWith('probe-'))).toEqual([]);
    // Readiness fails while the spool cannot take an instance.
    const notReady = await waitForStatus(node, 503);
    expect(notReady.checks.spool).toBe(false);
    // Space comes back (an administrator cleans up): the refused instances are resent and accepted.
    fs.rmSync(path.join(dataDir, 'spool/errors'), { recursive: true, force: true });
    execFileSync('mount', ['-o', 'remount,size=16m', dataDir]);
    await waitForStatus(node, 200);
    const refused = instances.filter((_, k) => statuses[k] !== 0);
    expect(await send(refused)).toEqual(refused.map(() => 0));
    expect(node.child.exitCode).toBeNull();
  });
});

function padPixels(n: number, seed: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16LE(0x7fe0, 0);
  h.writeUInt16LE(0x0010, 2);
  h.write('OW', 4, 'latin1');
  h.writeUInt32LE(n, 8);
  return Buffer.concat([h, Buffer.alloc(n, seed & 0xff)]);
}

async function waitForStatus(node: NodeUnderTest, status: number): Promise<Record<string, any>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await node.get('/health');
    const body = (await res.json()) as Record<string, any>;
    if (res.status === status) return body;
    if (Date.now() > deadline) throw new Error(`/health stayed ${res.status}: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
