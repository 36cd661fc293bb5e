// Sending results through archive outages: an archive that is down for longer than a handful of attempts is waited
// for (with backoff, for as long as configured), the SEG reaches it only after every image, and a delivery that
// ends early says how much of the set the archive holds.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DimseStatus } from '../../src/dicom/status.js';
import { SEGMENTATION_STORAGE } from '../../src/dicom/uids.js';
import { configureLogging, logger } from '../../src/log.js';
import { StoredLedger } from '../../src/scu/ledger.js';
import { DeliveryError, deliver } from '../../src/scu/sender.js';
import { hasTool, tempDir, writeSyntheticResults } from '../derived-fixtures.js';
import { freePort, startRefusingArchive, startStorescp } from '../scu-fixtures.js';

configureLogging({ level: 'error', stream: 'stderr' });
const log = logger('test-delivery');
const store = { callingAeTitle: 'BRAINSTRIP', connectTimeoutMs: 1000, associationTimeoutMs: 20000 };
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});
const withOrder = <T extends { sopClassUid: string }>(items: T[]) => items.map((i) => ({ ...i, last: i.sopClassUid === SEGMENTATION_STORAGE }));

describe.skipIf(!hasTool('storescp'))('archive outages', () => {
  test('waits out an archive that is down for many attempts, then delivers everything, the SEG last', async () => {
    const dir = tempDir('delivery-outage');
    const items = withOrder(await writeSyntheticResults(path.join(dir, 'out')));
    const port = await freePort();
    const destination = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port };
    const ledger = new StoredLedger(path.join(dir, 'ledger'));
    const attempts: number[] = [];
    // More failed attempts than the old default of 6 before the archive comes back.
    const comesBack = new Promise<Awaited<ReturnType<typeof startStorescp>>>((resolve) =>
      setTimeout(() => resolve(startStorescp(path.join(dir, 'archive'), port)), 4000),
    );
    await deliver(destination, items, {
      ledger,
      policy: { maxAttempts: 0, initialDelayMs: 100, maxDelayMs: 400, giveUpAfterMs: 60_000 },
      store,
      log,
      onAttempt: (attempt) => attempts.push(attempt),
    });
    const archive = await comesBack;
    cleanups.push(() => archive.stop());
    expect(Math.max(...attempts)).toBeGreaterThan(6);
    expect(archive.files()).toHaveLength(items.length);
    const stored = (uid: string) => fs.statSync(archive.files().find((f) => f.endsWith(uid))!).mtimeMs;
    const seg = items.find((i) => i.last)!;
    for (const image of items.filter((i) => !i.last)) expect(stored(image.sopInstanceUid)).toBeLessThanOrEqual(stored(seg.sopInstanceUid));
  });

  test('never sends the SEG while images are refused, and reports a partial delivery as such', async () => {
    const dir = tempDir('delivery-partial');
    const items = withOrder(await writeSyntheticResults(path.join(dir, 'out')));
    const archive = await startRefusingArchive(DimseStatus.OutOfResources, 'out of resources');
    cleanups.push(() => archive.stop());
    const destination = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port: archive.port };
    const ledger = new StoredLedger(path.join(dir, 'ledger'));
    // Two images reached the archive in an earlier attempt.
    const images = items.filter((i) => !i.last);
    await ledger.recordMany(destination, images.slice(0, 2).map((i) => ({ sopInstanceUid: i.sopInstanceUid, status: 0, description: 'Success' })));
    const error = await deliver(destination, items, {
      ledger,
      policy: { maxAttempts: 0, initialDelayMs: 100, maxDelayMs: 200, giveUpAfterMs: 1500 },
      store,
      log,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ retryable: true, delivered: 2, total: items.length });
    expect(error.message).toMatch(new RegExp(`partial delivery: 2 of ${items.length} objects stored \\(SEG not sent\\)`));
    // Every C-STORE the archive saw was an image: the pending images per round, never the SEG.
    expect(archive.received % (images.length - 2)).toBe(0);
  });
});
