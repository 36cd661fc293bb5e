// Every line the node writes is one JSON log line: the libraries it is built on (dcmjs, dcmjs-codecs,
// dcmjs-dimse) write plain text to the console by default, and their messages must reach the same log, each with
// the library as its component and the level it was logged at.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { configureLogging } from '../src/log.js';
import '../src/pipeline/dicom/dcmjs.js';
import '../src/dimse-adapter.js';
import '../src/pipeline/dicom/pixels.js';
import { EXPLICIT_LE, RawConnection, VERIFICATION, pdu } from './scp/raw-scu.js';
import { type NodeUnderTest, haveDcmtk, haveDist, makeDataDir, runTool, startNode, waitFor } from './scp/node-process.js';

const require = createRequire(import.meta.url);

/** The lines of a log that are not JSON objects with a level and a message. */
function notJsonLines(text: string): string[] {
  return text.split('\n').filter((line) => {
    if (line === '') return false;
    try {
      const entry = JSON.parse(line);
      return typeof entry !== 'object' || typeof entry.level !== 'string' || typeof entry.message !== 'string';
    } catch {
      return true;
    }
  });
}

function entries(text: string): Array<Record<string, unknown>> {
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

describe('the libraries log into the node log', () => {
  it('dcmjs, dcmjs-codecs and dcmjs-dimse messages become JSON lines with their level, below it dropped', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-log-')), 'node.log');
    configureLogging({ level: 'debug', file, stream: 'stderr' });
    const dcmjsLog = require('dcmjs').log;
    const dimseLog = require('dcmjs-dimse').log;
    const codecsLog = require('dcmjs-codecs').log;
    dcmjsLog.error('dcmjs says', 42);
    dcmjsLog.warn('dcmjs warning below its level');
    codecsLog.error('NativeCodecs::fd_write::out of memory');
    dimseLog.warn('dimse warning');
    dimseLog.info('dimse PDU chatter below its level');
    const lines = await waitFor('the log file', () => {
      const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      return text.split('\n').filter(Boolean).length >= 3 ? text : undefined;
    }, 5000);
    expect(notJsonLines(lines)).toEqual([]);
    expect(entries(lines).map((e) => [e.component, e.level, e.message])).toEqual([
      ['dcmjs', 'error', 'dcmjs says 42'],
      ['dcmjs-codecs', 'error', 'NativeCodecs::fd_write::out of memory'],
      ['dcmjs-dimse', 'warn', 'dimse warning'],
    ]);
  });
});

describe.skipIf(!haveDist)('every line a running node writes', () => {
  let node: NodeUnderTest | undefined;
  afterEach(async () => {
    if (node && node.child.exitCode === null) await node.stop();
    if (node) fs.rmSync(node.dataDir, { recursive: true, force: true });
  });

  it('is one JSON log line on stdout and stderr, dcmjs-dimse errors included', async () => {
    node = await startNode(makeDataDir(), { receive: { artimSeconds: 2 } });
    if (haveDcmtk) expect((await runTool('echoscu', ['-aec', 'BRAINSTRIP', '127.0.0.1', String(node.dicomPort)])).status).toBe(0);
    // A peer that resets its connection after the association: dcmjs-dimse logs the socket error itself.
    const reset = await RawConnection.connect(node.dicomPort);
    expect(await reset.associate([{ abstractSyntax: VERIFICATION, transferSyntaxes: [EXPLICIT_LE] }])).toBe('accepted');
    reset.socket.resetAndDestroy();
    // A PDU type that does not exist: the node's own guard aborts.
    const unknown = await RawConnection.connect(node.dicomPort);
    unknown.write(pdu(0x09, Buffer.alloc(4)));
    await unknown.closedWithin(5000);
    const dimseError = await waitFor('the dcmjs-dimse error in the log', () =>
      entries(node!.stdout() + node!.stderr()).find((e) => e.component === 'dcmjs-dimse' && /ECONNRESET/.test(String(e.message))),
    10_000);
    expect(dimseError).toMatchObject({ level: 'error' });
    await node.stop();
    expect(node.stdout()).toMatch(/brainstrip node stopped/);
    expect(notJsonLines(node.stdout())).toEqual([]);
    expect(notJsonLines(node.stderr())).toEqual([]);
  });
});
