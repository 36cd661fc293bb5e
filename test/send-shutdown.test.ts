// A shutdown during sending: the delivery ends without announcing a retry that would never come (the job resumes
// sending at the next start), and a retry already announced is not waited for.
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { Logger } from '../src/log.js';
import { writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { StoredLedger } from '../src/scu/ledger.js';
import { deliver } from '../src/scu/sender.js';
import { tempDir } from './derived-fixtures.js';
import { MR_IMAGE_STORAGE } from '../src/dicom/uids.js';

/** A logger that keeps what is logged. */
function recordingLogger(lines: string[]): Logger {
  const keep = (message: string) => void lines.push(message);
  return { info: keep, warn: keep, error: keep, debug: keep } as unknown as Logger;
}

const servers: net.Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** An archive that accepts the connection and never answers the association request. */
async function silentArchive(): Promise<number> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => sockets.push(socket));
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('sending at shutdown', () => {
  test('a delivery cut short by shutdown announces no retry and does not wait for one', async () => {
    const dir = tempDir('send-shutdown');
    const series = await writeSyntheticSeries(path.join(dir, 'series'), { rows: 8, columns: 8, slices: 2, attributes: { Modality: 'MR' } });
    const port = await silentArchive();
    const lines: string[] = [];
    const controller = new AbortController();
    const items = series.paths.map((p, n) => ({ path: p, sopClassUid: MR_IMAGE_STORAGE, sopInstanceUid: `2.25.${n + 1}`, label: 'image' }));
    const started = Date.now();
    const delivery = deliver({ aeTitle: 'ARCHIVE', host: '127.0.0.1', port }, items, {
      ledger: new StoredLedger(path.join(dir, 'stored')),
      policy: { maxAttempts: 0, initialDelayMs: 2000, maxDelayMs: 2000 },
      store: { callingAeTitle: 'BRAINSTRIP', connectTimeoutMs: 5000, associationTimeoutMs: 10_000, signal: controller.signal },
      log: recordingLogger(lines),
    });
    setTimeout(() => controller.abort(new Error('node shutting down')), 200);
    await expect(delivery).rejects.toThrow(/cancelled/);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(lines.filter((line) => /retrying in/.test(line))).toEqual([]);
  });
});
