// A series built to exhaust a parser must cost a worker thread, not the node: the thread that answers C-ECHO and
// /health keeps its pace while the series is read, and a series that kills or stalls its worker (or the node) twice
// fails its job as poison instead of being tried forever.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteJobStore } from '../../src/jobs/state/sqlite/store.js';
import { loadSeriesIsolated, PoisonSeriesError } from '../../src/jobs/processing/parse-series.js';
import { fileMetaHeader } from '../../src/scp/part10.js';
import { element, EXPLICIT_LE, MR_STORAGE, uidValue } from './raw-scu.js';
import { mrInstance } from './hostile-corpus.js';
import { haveDist } from './node-process.js';

/** An MR instance whose private group 0029 (after everything the receiver reads) nests `depth` sequences. */
function nestedAfterIdentification(sop: string, depth: number): Buffer {
  const { bytes } = mrInstance({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', sopInstanceUid: sop });
  const open = Buffer.concat([
    Buffer.from([0x29, 0x00, 0x10, 0x10, 0x53, 0x51, 0, 0, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]),
  ]);
  const close = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0, 0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  const nested = Buffer.concat([...Array(depth).fill(open), ...Array(depth).fill(close)]);
  // group 0029 sorts after group 0028 and before the pixel data: split the instance there
  const pixelAt = bytes.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  const dataset = Buffer.concat([bytes.subarray(0, pixelAt), nested, bytes.subarray(pixelAt)]);
  return Buffer.concat([fileMetaHeader({ sopClassUid: MR_STORAGE, sopInstanceUid: sop, transferSyntaxUid: EXPLICIT_LE }), dataset]);
}

/** The longest gap between ticks of a 20 ms timer while `work` runs: how long the main thread was blocked. */
async function mainThreadStall<T>(work: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; stallMs: number }> {
  let last = Date.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 20);
  const [result] = await Promise.allSettled([work()]);
  clearInterval(timer);
  return { result, stallMs };
}

describe.skipIf(!haveDist)('reading a series off the main thread', () => {
  it('a series with 60,000 nested sequences is refused without blocking the main thread', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-poison-'));
    const files = [1, 2, 3].map((i) => {
      const f = path.join(dir, `${i}.dcm`);
      fs.writeFileSync(f, nestedAfterIdentification(`1.2.3.4.${i}`, 60_000));
      return f;
    });
    const started = Date.now();
    const { result, stallMs } = await mainThreadStall(() =>
      loadSeriesIsolated(files, { seriesInstanceUid: '1.2.3.4' }, { timeoutMs: 5_000, maxMemoryMb: 512 }),
    );
    expect(result.status).toBe('rejected');
    // Two tries of at most 5 s each (it took the unprotected node 4 min 36 s and 3.78 GB).
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(stallMs, 'longest main-thread stall (ms)').toBeLessThan(500);
  });

  it('a series that stalls its worker twice is poison', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-poison-'));
    const file = path.join(dir, '1.dcm');
    fs.writeFileSync(file, nestedAfterIdentification('1.2.3.4.1', 10));
    const error = await loadSeriesIsolated([file], {}, { timeoutMs: 1, maxMemoryMb: 256 }).catch((e) => e);
    expect(error).toBeInstanceOf(PoisonSeriesError);
    expect(error.message).toMatch(/poison series.*took longer.*then.*took longer/);
  });

  it('a series whose parsing runs out of its memory limit twice is poison', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-poison-'));
    // 300,000 small private elements: every one becomes objects in the parser's heap.
    const { bytes } = mrInstance({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', sopInstanceUid: '1.2.3.4.1' });
    const pixelAt = bytes.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
    const many = Buffer.concat(Array.from({ length: 300_000 }, (_, i) => element(0x0029, 0x1000 + (i % 0xff), 'UI', uidValue('1.2.3'))));
    const file = path.join(dir, '1.dcm');
    fs.writeFileSync(file, Buffer.concat([fileMetaHeader({ sopClassUid: MR_STORAGE, sopInstanceUid: '1.2.3.4.1', transferSyntaxUid: EXPLICIT_LE }), bytes.subarray(0, pixelAt), many, bytes.subarray(pixelAt)]));
    const { result, stallMs } = await mainThreadStall(() => loadSeriesIsolated([file], {}, { timeoutMs: 60_000, maxMemoryMb: 16 }));
    expect(result.status).toBe('rejected');
    expect(stallMs).toBeLessThan(500);
  });
});

describe('a job the node died processing', () => {
  it('fails as poison after two interrupted attempts instead of crash-looping', async () => {
    const store = new SqliteJobStore(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-store-')), 'jobs.sqlite'));
    const { job } = await store.recordInstance({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', sopInstanceUid: '1.2.3.4.1', bytes: 1 });
    await store.markComplete(job.id);
    await store.claimNext(); // the node dies while processing it
    expect((await store.recoverAfterRestart(2)).poisoned).toEqual([]);
    expect((await store.get(job.id))?.state).toBe('queued');
    await store.claimNext(); // and dies again
    const { poisoned } = await store.recoverAfterRestart(2);
    expect(poisoned.map((j) => j.id)).toEqual([job.id]);
    expect(await store.get(job.id)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/poison/) });
  });
});
