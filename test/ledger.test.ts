// The ledger of what each archive confirmed: the same answers from the data folder's journals and from PostgreSQL
// (shared by the nodes of a cluster); the journal appended and fsynced once per batch, read the same by any process,
// and never lying about a store.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, test, vi } from 'vitest';
import { type DeliveryLedger, StoredLedger, destinationKey } from '../src/scu/ledger.js';
import { DimseStatus } from '../src/dicom/status.js';
import { MR_IMAGE_STORAGE } from '../src/dicom/uids.js';
import { logger } from '../src/log.js';
import { deliver } from '../src/scu/sender.js';
import { sharedStateKinds } from './shared-state-stores.js';

const archive = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port: 4242 };
const other = { aeTitle: 'OTHER', host: '10.0.0.2', port: 104 };
const uid = (n: number) => `1.2.826.0.1.3680043.10.999.${n}`;
const root = () => fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-ledger-'));
const success = (...ns: number[]) => ns.map((n) => ({ sopInstanceUid: uid(n), status: 0, description: 'Success' }));
const has = async (ledger: DeliveryLedger, n: number, d = archive) => (await ledger.confirmed(d, [uid(n)])).has(uid(n));
const KINDS = sharedStateKinds('the delivery ledger tests');

describe.each(KINDS)('the delivery ledger in the $kind', ({ missing, open }) => {
  test.skipIf(missing)('records batches per destination, another node reads them, forgets on request, refuses what is not a UID', async () => {
    const place = await open('ledger');
    try {
      const [ledger, reader] = [place.ledger(), place.ledger()];
      expect(await ledger.latest(archive)).toBeUndefined();
      await ledger.recordMany(archive, success(1, 2, 3));
      await ledger.recordMany(archive, [{ sopInstanceUid: uid(4), status: DimseStatus.CoercionOfDataElements, description: 'Warning' }]);
      // A second node confirming an object again leaves one record.
      await reader.recordMany(archive, success(3, 3));
      const found = await reader.confirmed(archive, [1, 2, 3, 4, 5].map(uid));
      expect([...found.keys()].sort()).toEqual([1, 2, 3, 4].map(uid));
      expect(found.get(uid(4))).toMatchObject({ sopInstanceUid: uid(4), status: DimseStatus.CoercionOfDataElements, description: 'Warning', destination: destinationKey(archive) });
      expect(await has(reader, 1, other)).toBe(false);
      expect((await reader.latest(archive))?.sopInstanceUid).toMatch(/\.(3|4)$/);
      expect(await reader.forget(archive, [uid(1), uid(9)])).toBe(1);
      expect(await has(ledger, 1)).toBe(false);
      expect(await has(ledger, 2)).toBe(true);
      await ledger.recordMany(archive, success(1));
      expect(await has(reader, 1)).toBe(true);
      await expect(ledger.recordMany(archive, [{ sopInstanceUid: '../../etc/passwd', status: 0, description: 'Success' }])).rejects.toThrow(/not a SOP Instance UID/);
      await expect(ledger.forget(archive, ['../x'])).rejects.toThrow(/not a SOP Instance UID/);
    } finally {
      await place.close();
    }
  });
});

describe('the delivery ledger in files', () => {
  afterEach(() => vi.restoreAllMocks());

  it('records a batch with one fsync', async () => {
    const ledger = new StoredLedger(root());
    const fsync = vi.spyOn(fs, 'fsyncSync');
    await ledger.recordMany(archive, success(1, 2, 3, 4, 5));
    expect(fsync.mock.calls.length).toBeLessThanOrEqual(2); // the journal, and its folder when the journal is new
    await ledger.recordMany(archive, success(6, 7));
    expect(fsync.mock.calls.length).toBeLessThanOrEqual(3);
  });

  it('a line cut short by a crash counts as not stored; records of older nodes (a file per object) still count', async () => {
    const dir = root();
    await new StoredLedger(dir).recordMany(archive, success(1));
    const folder = path.join(dir, fs.readdirSync(dir)[0]);
    fs.appendFileSync(path.join(folder, 'stored.jsonl'), `{"sopInstanceUid":"${uid(2)}","destin`);
    fs.writeFileSync(path.join(folder, uid(3)), JSON.stringify({ sopInstanceUid: uid(3), destination: destinationKey(archive), status: 0, description: 'Success', storedAt: '2026-01-01T00:00:00Z' }));
    const reader = new StoredLedger(dir);
    expect(await has(reader, 1)).toBe(true);
    expect(await has(reader, 2)).toBe(false);
    expect(await has(reader, 3)).toBe(true);
    expect(await reader.forget(archive, [uid(3)])).toBe(1);
    expect(await has(new StoredLedger(dir), 3)).toBe(false);
    // The next batch after the cut line is read whole.
    await reader.recordMany(archive, success(4));
    expect(await has(new StoredLedger(dir), 4)).toBe(true);
  });
});

test('the sender asks the ledger again while it cannot be reached (a database restarting), rather than failing the job', async () => {
  const held = new StoredLedger(root());
  await held.recordMany(archive, success(1, 2));
  let failures = 2;
  const ledger: DeliveryLedger = {
    confirmed: async (d, uids) => {
      if (failures-- > 0) throw new Error('connection refused');
      return held.confirmed(d, uids);
    },
    latest: (d) => held.latest(d),
    recordMany: (d, stores) => held.recordMany(d, stores),
    forget: (d, uids) => held.forget(d, uids),
  };
  const items = [1, 2].map((n) => ({ path: '/nonexistent', sopClassUid: MR_IMAGE_STORAGE, sopInstanceUid: uid(n), label: 'image' }));
  const store = { callingAeTitle: 'BRAINSTRIP', connectTimeoutMs: 100, associationTimeoutMs: 100 };
  // Everything is in the ledger: once it answers, the delivery is complete without an association.
  await deliver(archive, items, { ledger, policy: { maxAttempts: 1, initialDelayMs: 10, maxDelayMs: 10 }, store, log: logger('test-ledger') });
  expect(failures).toBe(-1);
});
