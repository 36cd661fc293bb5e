// The SCU against real archives: DCMTK's storescp (stores), the same archive stopped and started again (retries),
// and an archive that refuses (the job must fail with the archive's own status and comment).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { configureLogging, logger } from '../src/log.js';
import { fromPart10 } from '../src/pipeline/dicom/dcmjs.js';
import { StoredLedger } from '../src/scu/ledger.js';
import { DeliveryError, deliver } from '../src/scu/sender.js';
import { hasTool, tempDir, writeSyntheticResults } from './derived-fixtures.js';
import { freePort, selfSignedCertificate, startRefusingArchive, startStorescp } from './scu-fixtures.js';
import { DimseStatus } from '../src/dicom/status.js';

configureLogging({ level: 'error', stream: 'stderr' });
const log = logger('test-scu');
const store = { callingAeTitle: 'BRAINSTRIP', connectTimeoutMs: 2000, associationTimeoutMs: 20000 };
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe.skipIf(!hasTool('storescp'))('C-STORE SCU', () => {
  test('stores the derived series and the SEG, records each, and sends nothing twice', async () => {
    const dir = tempDir('scu');
    const items = await writeSyntheticResults(path.join(dir, 'out'));
    const archive = await startStorescp(path.join(dir, 'archive'));
    cleanups.push(() => archive.stop());
    const ledger = new StoredLedger(path.join(dir, 'ledger'));
    const destination = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port: archive.port };
    const policy = { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 1000 };

    await deliver(destination, items, { ledger, policy, store, log });

    expect(archive.files()).toHaveLength(items.length);
    for (const item of items) {
      expect((await ledger.confirmed(destination, [item.sopInstanceUid])).get(item.sopInstanceUid)?.status).toBe(0);
      const stored = archive.files().find((f) => f.endsWith(item.sopInstanceUid));
      expect(stored, `${item.label} ${item.sopInstanceUid} stored`).toBeDefined();
      // The archive holds the same pixels (whatever transfer syntax was negotiated).
      const sent = fromPart10(fs.readFileSync(item.path)).dataset;
      const received = fromPart10(fs.readFileSync(stored!)).dataset;
      expect(received.SOPInstanceUID).toBe(item.sopInstanceUid);
      expect(Buffer.from((received.PixelData as ArrayBuffer[])[0]).equals(Buffer.from((sent.PixelData as ArrayBuffer[])[0]))).toBe(true);
    }

    // A re-run (e.g. after a restart) consults the ledger: no association is even needed.
    for (const f of archive.files()) fs.rmSync(f);
    await deliver(destination, items, { ledger, policy, store, log });
    expect(archive.files()).toHaveLength(0);
  });

  test.skipIf(!hasTool('openssl'))('stores over TLS to an archive whose certificate it trusts, and refuses one it does not', async () => {
    const dir = tempDir('scu-tls');
    const items = (await writeSyntheticResults(path.join(dir, 'out'))).slice(-2);
    const certificate = selfSignedCertificate(dir);
    const archive = await startStorescp(path.join(dir, 'archive'), undefined, 'ARCHIVE', certificate);
    cleanups.push(() => archive.stop());
    const policy = { maxAttempts: 1, initialDelayMs: 100, maxDelayMs: 100 };

    const untrusted = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port: archive.port, tls: true };
    const refused = await deliver(untrusted, items, { ledger: new StoredLedger(path.join(dir, 'ledger-1')), policy, store, log }).catch((e) => e);
    expect(refused).toBeInstanceOf(DeliveryError);
    expect(archive.files()).toHaveLength(0);

    const trusted = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port: archive.port, tls: { ca: certificate.cert } };
    const ledger = new StoredLedger(path.join(dir, 'ledger-2'));
    await deliver(trusted, items, { ledger, policy, store, log });
    expect(archive.files()).toHaveLength(items.length);
  });

  test('an archive that is down when results are ready gets them once it is back', async () => {
    const dir = tempDir('scu-down');
    const items = await writeSyntheticResults(path.join(dir, 'out'));
    const port = await freePort();
    const ledger = new StoredLedger(path.join(dir, 'ledger'));
    const destination = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port };
    const attempts: number[] = [];
    const delivery = deliver(destination, items, {
      ledger,
      policy: { maxAttempts: 8, initialDelayMs: 200, maxDelayMs: 800 },
      store,
      log,
      onAttempt: (a) => attempts.push(a),
    });
    // Bring the archive up only after the first attempts have failed.
    while (attempts.length < 2) await new Promise((r) => setTimeout(r, 50));
    expect((await ledger.confirmed(destination, [items[0].sopInstanceUid])).size).toBe(0);
    const archive = await startStorescp(path.join(dir, 'archive'), port);
    cleanups.push(() => archive.stop());
    await delivery;
    expect(archive.files()).toHaveLength(items.length);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect((await ledger.confirmed(destination, items.map((i) => i.sopInstanceUid))).size).toBe(items.length);
  });

  test('an archive that refuses an object fails delivery with its status and comment, and nothing is recorded as stored', async () => {
    const dir = tempDir('scu-refuse');
    const items = await writeSyntheticResults(path.join(dir, 'out'));
    const archive = await startRefusingArchive(DimseStatus.DataSetDoesNotMatchSopClass, 'Data set does not match SOP class');
    cleanups.push(() => archive.stop());
    const ledger = new StoredLedger(path.join(dir, 'ledger'));
    const destination = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port: archive.port };
    const error = await deliver(destination, items, { ledger, policy: { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 100 }, store, log }).catch((e) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error.message).toMatch(/0xA900/);
    expect(error.message).toMatch(/Data set does not match SOP class/);
    expect(error.message).toContain(items[0].sopInstanceUid);
    expect(error.retryable).toBe(false);
    expect((await ledger.confirmed(destination, items.map((i) => i.sopInstanceUid))).size).toBe(0);
    // A permanent refusal is not retried.
    expect(archive.received).toBe(items.length);
  });

  test('an archive that stays out of resources fails delivery after the configured attempts', async () => {
    const dir = tempDir('scu-full');
    const items = (await writeSyntheticResults(path.join(dir, 'out'))).slice(0, 2);
    const archive = await startRefusingArchive(DimseStatus.OutOfResources, 'disk full');
    cleanups.push(() => archive.stop());
    const ledger = new StoredLedger(path.join(dir, 'ledger'));
    const destination = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port: archive.port };
    const error = await deliver(destination, items, { ledger, policy: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 100 }, store, log }).catch((e) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error.message).toMatch(/after 3 attempts/);
    expect(error.message).toMatch(/out of resources \(0xA700\): disk full/);
    expect(archive.received).toBe(3 * items.length);
  });
});
