// An instance that reached the spool while the job store could not write ("database or disk is full") is
// acknowledged — it is safe on disk — and recorded as soon as the store writes again, without a restart; its series
// then completes like any other.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteJobStore } from '../../src/jobs/state/sqlite/store.js';
import type { ReceivedInstance } from '../../src/jobs/state/store.js';
import { MetricsRegistry } from '../../src/metrics.js';
import { SeriesCompletion } from '../../src/scp/series-completion.js';
import { startScp } from '../../src/scp/scp.js';
import { Spool } from '../../src/scp/spool.js';
import { mrInstance } from './hostile-corpus.js';
import { EXPLICIT_LE, MR_STORAGE, RawConnection } from './raw-scu.js';

class FullStore extends SqliteJobStore {
  full = true;
  override async recordInstance(instance: ReceivedInstance) {
    if (this.full) throw new Error('database or disk is full');
    return super.recordInstance(instance);
  }
}

describe('an instance the job store could not record', () => {
  it('is acknowledged, counted as unrecorded, and recorded once the store writes again', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-unrecorded-'));
    const spool = new Spool(path.join(root, 'spool'));
    await spool.init();
    const store = new FullStore(path.join(root, 'jobs.sqlite'));
    const metrics = new MetricsRegistry();
    const queued: number[] = [];
    const completion = new SeriesCompletion(store, 300, (job) => queued.push(job.id));
    completion.start();
    const scp = await startScp(
      {
        aeTitle: 'BRAINSTRIP',
        port: 0,
        allowedCallers: [],
        maxAssociations: 4,
        maxPduLength: 262144,
        timeoutMs: 10_000,
        routing: { sopClasses: [MR_STORAGE], excludeImageTypes: [], include: [{ modality: 'MR' }], exclude: [], ownUidRoot: '1.2.826.0.1.3680043.10.999' },
      },
      { spool, store, completion, metrics },
    );
    try {
      const c = await RawConnection.connect(scp.port);
      expect(await c.associate([{ abstractSyntax: MR_STORAGE, transferSyntaxes: [EXPLICIT_LE] }])).toBe('accepted');
      const { bytes } = mrInstance({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', sopInstanceUid: '1.2.3.4.1' });
      expect(await c.store(bytes, { sopClassUid: MR_STORAGE, sopInstanceUid: '1.2.3.4.1' })).toMatchObject({ status: 0 });
      await c.release();
      expect(scp.unrecordedInstances()).toBe(1);
      expect(await metrics.render()).toMatch(/brainstrip_instances_unrecorded 1/);
      store.full = false;
      const deadline = Date.now() + 10_000;
      while (queued.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(scp.unrecordedInstances()).toBe(0);
      expect(await store.list()).toEqual([expect.objectContaining({ seriesInstanceUid: '1.2.3.4', instances: 1, state: 'queued' })]);
    } finally {
      await scp.close();
      completion.stop();
      await store.close();
    }
  });
});
