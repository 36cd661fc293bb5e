// The worker pool: several tasks at once on several workers, a worker that dies fails only its own task, and
// the pool keeps serving. Workers load compiled task modules, so this runs against dist/ (npm test builds).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkerPool, poolSizing, tasksDir, type WorkerPool } from '../src/pool/pool.js';

const probeModule = path.join(tasksDir(), 'probe.js');

describe('worker pool', () => {
  let pool: WorkerPool;

  beforeAll(() => {
    if (!fs.existsSync(probeModule)) throw new Error(`${probeModule} is missing: run npm run build (npm test does) before this test`);
    pool = createWorkerPool({ pool: { workers: 2, intraOpThreads: 1, maxQueue: 16, idleTimeoutMs: 0 } });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('runs several tasks at once on different workers', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => pool.run('probe', { busyMs: 150 })));
    expect(results).toHaveLength(6);
    expect(new Set(results.map((r) => r.threadId)).size).toBe(2);
  });

  it('survives a worker that dies: only that task fails, the next ones succeed', async () => {
    const before = await pool.run('probe', {});
    const crashed = pool.run('probe', { exit: 3 });
    const neighbours = Array.from({ length: 3 }, () => pool.run('probe', { busyMs: 50 }));
    await expect(crashed).rejects.toThrow();
    const survivors = await Promise.all(neighbours);
    expect(survivors).toHaveLength(3);
    const after = await Promise.all(Array.from({ length: 4 }, () => pool.run('probe', { busyMs: 20 })));
    expect(after).toHaveLength(4);
    expect(before.threadId).toBeGreaterThan(0);
  });

  it('refuses task names that are not modules of the pool', async () => {
    // Not expressible in typed code; a cast (or plain JavaScript) still meets the run-time check.
    await expect(pool.run('../../cli' as 'probe', {})).rejects.toThrow(/invalid task name/);
    await expect(pool.run('no-such-task' as 'probe', {})).rejects.toThrow(/no task module/);
  });

  it('a closed pool refuses work instead of hanging', async () => {
    const other = createWorkerPool({ pool: { workers: 1, intraOpThreads: 1, maxQueue: 4, idleTimeoutMs: 0 } });
    expect(await other.run('probe', {})).toHaveProperty('pid', process.pid);
    await other.close();
    await expect(other.run('probe', {})).rejects.toThrow(/closed/);
  });
});

describe('pool sizing', () => {
  it('defaults fit the cores: one worker per two cores, the cores shared as intra-op threads', () => {
    expect(poolSizing({ workers: 0, intraOpThreads: 0 }, 2)).toEqual({ workers: 1, intraOpThreads: 2 });
    expect(poolSizing({ workers: 0, intraOpThreads: 0 }, 8)).toEqual({ workers: 4, intraOpThreads: 2 });
    expect(poolSizing({ workers: 0, intraOpThreads: 0 }, 1)).toEqual({ workers: 1, intraOpThreads: 1 });
    expect(poolSizing({ workers: 3, intraOpThreads: 0 }, 12)).toEqual({ workers: 3, intraOpThreads: 4 });
    expect(poolSizing({ workers: 2, intraOpThreads: 5 }, 2)).toEqual({ workers: 2, intraOpThreads: 5 });
  });
});
