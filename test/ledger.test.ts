// The ledger of what each archive confirmed: a journal per destination, appended and fsynced once per batch,
// read the same by any process, and never lying about a store.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoredLedger, destinationKey } from '../src/scu/ledger.js';
import { DimseStatus } from '../src/dicom/status.js';

const archive = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port: 4242 };
const other = { aeTitle: 'OTHER', host: '10.0.0.2', port: 104 };
const uid = (n: number) => `1.2.826.0.1.3680043.10.999.${n}`;
const root = () => fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-ledger-'));

describe('stored ledger', () => {
  afterEach(() => vi.restoreAllMocks());

  it('records a batch with one fsync, per destination, and another instance (process) reads it', () => {
    const dir = root();
    const ledger = new StoredLedger(dir);
    const fsync = vi.spyOn(fs, 'fsyncSync');
    ledger.recordMany(archive, [1, 2, 3, 4, 5].map((n) => ({ sopInstanceUid: uid(n), status: 0, description: 'Success' })));
    expect(fsync.mock.calls.length).toBeLessThanOrEqual(2); // the journal, and its folder when the journal is new
    ledger.recordMany(archive, [6, 7].map((n) => ({ sopInstanceUid: uid(n), status: DimseStatus.CoercionOfDataElements, description: 'Warning' })));
    expect(fsync.mock.calls.length).toBeLessThanOrEqual(3);
    const reader = new StoredLedger(dir);
    for (const n of [1, 2, 3, 4, 5, 6, 7]) expect(reader.has(archive, uid(n))).toBe(true);
    expect(reader.has(archive, uid(8))).toBe(false);
    expect(reader.has(other, uid(1))).toBe(false);
    expect(reader.get(archive, uid(7))).toMatchObject({ status: DimseStatus.CoercionOfDataElements, destination: destinationKey(archive) });
    expect(reader.latest(archive)?.sopInstanceUid).toBe(uid(7));
    // A later write by the first instance is seen by the second.
    ledger.record(archive, uid(8), 0, 'Success');
    expect(reader.has(archive, uid(8))).toBe(true);
  });

  it('forgets on request (a re-send), keeps the rest, and refuses what is not a UID', () => {
    const dir = root();
    const ledger = new StoredLedger(dir);
    ledger.recordMany(archive, [1, 2].map((n) => ({ sopInstanceUid: uid(n), status: 0, description: 'Success' })));
    ledger.forget(archive, uid(1));
    expect(new StoredLedger(dir).has(archive, uid(1))).toBe(false);
    expect(new StoredLedger(dir).has(archive, uid(2))).toBe(true);
    ledger.record(archive, uid(1), 0, 'Success');
    expect(new StoredLedger(dir).has(archive, uid(1))).toBe(true);
    expect(() => ledger.record(archive, '../../etc/passwd', 0, 'Success')).toThrow(/not a SOP Instance UID/);
    expect(() => ledger.forget(archive, '../x')).toThrow(/not a SOP Instance UID/);
  });

  it('a line cut short by a crash counts as not stored; records of older nodes (a file per object) still count', () => {
    const dir = root();
    const ledger = new StoredLedger(dir);
    ledger.record(archive, uid(1), 0, 'Success');
    const folder = path.join(dir, fs.readdirSync(dir)[0]);
    fs.appendFileSync(path.join(folder, 'stored.jsonl'), `{"sopInstanceUid":"${uid(2)}","destin`);
    fs.writeFileSync(path.join(folder, uid(3)), JSON.stringify({ sopInstanceUid: uid(3), destination: destinationKey(archive), status: 0, description: 'Success', storedAt: '2026-01-01T00:00:00Z' }));
    const reader = new StoredLedger(dir);
    expect(reader.has(archive, uid(1))).toBe(true);
    expect(reader.has(archive, uid(2))).toBe(false);
    expect(reader.has(archive, uid(3))).toBe(true);
    reader.forget(archive, uid(3));
    expect(new StoredLedger(dir).has(archive, uid(3))).toBe(false);
    // The next batch after the cut line is read whole.
    reader.record(archive, uid(4), 0, 'Success');
    expect(new StoredLedger(dir).has(archive, uid(4))).toBe(true);
  });
});
