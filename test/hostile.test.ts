// A hostile but fair sender: a seeded corpus of malformed instances and PDUs, sent over real associations to the
// node running as an administrator runs it. Each must get its answer (a DICOM status, an A-ABORT, a closed
// connection), nothing refused may reach the spool, everything refused is kept for inspection and counted, and
// the node keeps answering C-ECHO and /health within a second throughout.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus, STATUS, type DatasetCase, type PduCase } from './scp/hostile-corpus.js';
import { EXPLICIT_LE, MR_STORAGE, RawConnection, VERIFICATION } from './scp/raw-scu.js';
import { readInstanceHeader } from '../src/scp/dataset-header.js';
import { readFileMeta } from '../src/scp/part10.js';
import { classicSeries, haveData, haveDcmtk, haveDist, makeDataDir, seriesFiles, spooledFiles, startNode, storescu, type NodeUnderTest } from './scp/node-process.js';

const seed = Number(process.env.HOSTILE_SEED ?? 20261130);
const corpus = buildCorpus(seed);
const contexts = [
  { abstractSyntax: VERIFICATION, transferSyntaxes: [EXPLICIT_LE] },
  { abstractSyntax: MR_STORAGE, transferSyntaxes: [EXPLICIT_LE] },
];

/** Keeps asking C-ECHO (a fresh association each time) and /health, and remembers the slowest answers. */
function watch(node: NodeUnderTest) {
  const worst = { echoMs: 0, healthMs: 0, failures: [] as string[] };
  let running = true;
  const loop = async () => {
    while (running) {
      const t0 = Date.now();
      try {
        const c = await RawConnection.connect(node.dicomPort);
        const assoc = await c.associate(contexts, 'BRAINSTRIP', 'WATCHER');
        const echo = assoc === 'accepted' ? await c.echo() : assoc;
        await c.release();
        if (typeof echo !== 'object' || echo.status !== 0) worst.failures.push(`C-ECHO: ${JSON.stringify(echo)}`);
      } catch (error) {
        worst.failures.push(`C-ECHO: ${(error as Error).message}`);
      }
      worst.echoMs = Math.max(worst.echoMs, Date.now() - t0);
      const t1 = Date.now();
      try {
        const res = await node.get('/health');
        if (res.status !== 200) worst.failures.push(`/health ${res.status}: ${await res.text()}`);
      } catch (error) {
        worst.failures.push(`/health: ${(error as Error).message}`);
      }
      worst.healthMs = Math.max(worst.healthMs, Date.now() - t1);
      await new Promise((r) => setTimeout(r, 150));
    }
  };
  const done = loop();
  return {
    worst,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe.skipIf(!haveDist)(`hostile input (seed ${seed})`, () => {
  let node: NodeUnderTest;
  beforeAll(async () => {
    node = await startNode(makeDataDir(), {
      receive: { artimSeconds: 2, maxPendingConnections: 16, minFreeMegabytes: 0, timeoutSeconds: 20 },
    });
  });
  afterAll(async () => {
    if (node && node.child.exitCode === null) await node.stop();
    if (node) fs.rmSync(node.dataDir, { recursive: true, force: true });
  });

  it('the corpus is large enough and replayable', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(50);
    const again = buildCorpus(seed);
    expect(again.map((c) => (c.kind === 'dataset' ? c.dataset.toString('hex') : c.name))).toEqual(
      corpus.map((c) => (c.kind === 'dataset' ? c.dataset.toString('hex') : c.name)),
    );
  });

  if (!(haveData && haveDcmtk)) {
    if (process.env.CI === 'true') throw new Error('the hostile suite needs ../shared/data and DCMTK in CI');
    console.warn('hostile suite: no legitimate sender alongside (../shared/data or DCMTK storescu absent)');
  }
  /** A legitimate sender delivering a real series (DCMTK storescu) at the same time as the hostile one. */
  const legit = haveData && haveDcmtk ? seriesFiles(classicSeries) : [];
  const legitSeries = legit.length
    ? (() => {
        const file = fs.readFileSync(legit[0]);
        const meta = readFileMeta(file);
        return readInstanceHeader(file.subarray(meta.datasetOffset), meta.transferSyntaxUid).header.seriesInstanceUid!;
      })()
    : undefined;

  it('answers every malformed instance and PDU as it should, and stays responsive throughout', async () => {
    const watcher = watch(node);
    const outcomes: Array<{ name: string; expected: string; got: string }> = [];
    const legitimate = legit.length ? storescu(node, legit, ['-aet', 'PACS']) : undefined;
    try {
      for (const c of corpus.filter((c): c is DatasetCase => c.kind === 'dataset')) {
        const conn = await RawConnection.connect(node.dicomPort);
        expect(await conn.associate(contexts)).toBe('accepted');
        const answer = await conn.store(c.dataset, c.request);
        await conn.release();
        const got = typeof answer === 'object' ? `0x${answer.status.toString(16).padStart(4, '0')}${answer.comment ? ` (${answer.comment})` : ''}` : answer;
        outcomes.push({ name: c.name, expected: `0x${c.expect.toString(16).padStart(4, '0')}`, got });
      }
      for (const c of corpus.filter((c): c is PduCase => c.kind === 'pdu')) {
        outcomes.push({ name: c.name, expected: c.expect, got: await c.run(node.dicomPort) });
      }
    } finally {
      await watcher.stop();
    }
    if (legitimate) {
      const result = await legitimate;
      expect(result.status, result.output).toBe(0);
    }
    const wrong = outcomes.filter((o) => !o.got.startsWith(o.expected));
    expect(wrong, JSON.stringify(wrong, null, 1)).toEqual([]);
    expect(watcher.worst.failures).toEqual([]);
    expect(watcher.worst.echoMs, 'slowest C-ECHO (ms)').toBeLessThan(1000);
    expect(watcher.worst.healthMs, 'slowest /health (ms)').toBeLessThan(1000);
    expect(node.child.exitCode).toBeNull();
    console.log(`hostile corpus: ${outcomes.length} cases; slowest C-ECHO ${watcher.worst.echoMs} ms, slowest /health ${watcher.worst.healthMs} ms`);
  });

  it('keeps only what it acknowledged in the spool, keeps every refusal in the error area, and counts them', async () => {
    const datasetCases = corpus.filter((c): c is DatasetCase => c.kind === 'dataset');
    const accepted = new Set(datasetCases.filter((c) => c.expect === STATUS.SUCCESS).map((c) => c.request.sopInstanceUid));
    const spooled = spooledFiles(node.dataDir).filter((f) => f.endsWith('.dcm') && !(legitSeries && f.includes(legitSeries)));
    if (legitSeries) expect(spooledFiles(node.dataDir).filter((f) => f.includes(legitSeries))).toHaveLength(legit.length);
    expect(new Set(spooled.map((f) => path.basename(f, '.dcm')))).toEqual(accepted);
    // Nothing outside the spool's own folders (no traversal through a UID).
    for (const f of spooled) expect(path.relative(path.join(node.dataDir, 'spool/series'), f)).not.toMatch(/^\.\./);
    const refused = datasetCases.filter((c) => c.expect !== STATUS.SUCCESS).length;
    const errors = fs.readdirSync(path.join(node.dataDir, 'spool/errors'));
    expect(errors.filter((n) => n.endsWith('.dcm')).length).toBe(refused);
    const reasons = errors.filter((n) => n.endsWith('.json')).map((n) => JSON.parse(fs.readFileSync(path.join(node.dataDir, 'spool/errors', n), 'utf8')));
    expect(reasons.every((r) => typeof r.reason === 'string' && /^0x[0-9a-f]{4}$/.test(r.status))).toBe(true);
    const metrics = await (await node.get('/metrics')).text();
    const count = (reason: string) => Number(new RegExp(`brainstrip_store_failures_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    for (const reason of ['unparseable', 'missing UID', 'invalid UID', 'UID mismatch', 'conflicting duplicate', 'series in two studies']) {
      expect(count(reason), reason).toBeGreaterThan(0);
    }
    expect(Number(/brainstrip_associations_total\{result="aborted",reason="protocol violation"\} (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThanOrEqual(8);
  });

  it('holds no more connections before association than receive.maxPendingConnections', async () => {
    const idle = await Promise.all(Array.from({ length: 40 }, () => RawConnection.connect(node.dicomPort)));
    await new Promise((r) => setTimeout(r, 500));
    const open = idle.filter((c) => !c.closed).length;
    expect(open).toBeLessThanOrEqual(16);
    // A legitimate sender still gets through once the idle ones are gone (ARTIM closes them).
    const closedIn = await Promise.all(idle.map((c) => c.closedWithin(5000)));
    expect(closedIn.every((ms) => ms !== undefined)).toBe(true);
    const c = await RawConnection.connect(node.dicomPort);
    expect(await c.associate(contexts)).toBe('accepted');
    expect(await c.echo()).toMatchObject({ status: 0 });
    await c.release();
  });
});
