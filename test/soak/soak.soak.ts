// Soak (`npm run soak`, not part of `npm test`): concurrent senders deliver series over loopback while the archive
// goes down and the node is killed with -9 once while receiving, once while processing and once while sending.
// At the end every acknowledged instance is in the spool, every series' job is done, and the archive holds each
// result exactly once. Bounded by SOAK_SENDERS (8), SOAK_SERIES_PER_SENDER (2, 96 instances each),
// SOAK_OUTAGE_S (600) and SOAK_TIMEOUT_MIN (180); figures go to stdout and to soak-<date>.json in the data folder.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromPart10, toPart10 } from '../../src/pipeline/dicom/dcmjs.js';
import { readFileMeta } from '../../src/scp/part10.js';
import { createOrthanc, e2eRequirements } from '../e2e-fixtures.js';
import { sharedData } from '../derived-fixtures.js';
import { EXPLICIT_LE, MR_STORAGE, RawConnection } from '../scp/raw-scu.js';
import { makeDataDir, spooledFiles, startNode, type NodeUnderTest } from '../scp/node-process.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SENDERS = env('SOAK_SENDERS', 8);
const SERIES_PER_SENDER = env('SOAK_SERIES_PER_SENDER', 2);
const OUTAGE_S = env('SOAK_OUTAGE_S', 600);
const TIMEOUT_MIN = env('SOAK_TIMEOUT_MIN', 180);
const sourceDir = path.join(sharedData, 'dicom/siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');
const missing = e2eRequirements() ?? (fs.existsSync(sourceDir) ? undefined : `${sourceDir} not found`);
if (missing) {
  if (process.env.CI === 'true') throw new Error(`soak cannot run: ${missing}`);
  console.warn(`skipping the soak: ${missing}`);
}

interface Instance {
  sopInstanceUid: string;
  dataset: Buffer;
}
interface Series {
  seriesInstanceUid: string;
  instances: Instance[];
}

/** Copies of the source series under new Study/Series/SOP UIDs (2.25 UUID-derived), one per sender and round. */
function prepareSeries(): Series[][] {
  const files = fs.readdirSync(sourceDir).sort().map((f) => fs.readFileSync(path.join(sourceDir, f)));
  const uid = () => `2.25.${BigInt(`0x${crypto.randomUUID().replace(/-/g, '')}`).toString()}`;
  return Array.from({ length: SENDERS }, () =>
    Array.from({ length: SERIES_PER_SENDER }, () => {
      const study = uid();
      const series = uid();
      const instances = files.map((bytes) => {
        const { dataset } = fromPart10(bytes);
        const sop = uid();
        Object.assign(dataset, { StudyInstanceUID: study, SeriesInstanceUID: series, SOPInstanceUID: sop });
        const part10 = toPart10(dataset);
        return { sopInstanceUid: sop, dataset: part10.subarray(readFileMeta(part10).datasetOffset) };
      });
      return { seriesInstanceUid: series, instances };
    }),
  );
}

describe.skipIf(missing !== undefined)('soak', () => {
  it(
    `${SENDERS} senders × ${SERIES_PER_SENDER * 96} instances, a ${OUTAGE_S} s archive outage, kill -9 in each stage`,
    async () => {
      const started = Date.now();
      const figures: Record<string, unknown> = { senders: SENDERS, seriesPerSender: SERIES_PER_SENDER, outageSeconds: OUTAGE_S };
      const plan = prepareSeries();
      const archive = await createOrthanc();
      await archive.start();
      const dataDir = makeDataDir();
      const config = {
        receive: { seriesIdleSeconds: 5, minFreeMegabytes: 0, maxAssociations: SENDERS + 4 },
        jobs: { concurrency: 1 },
        results: {
          destinations: [{ aeTitle: 'ARCHIVE', host: '127.0.0.1', port: archive.dicomPort }],
          uidRoot: '1.2.826.0.1.3680043.10.1234',
          retry: { initialDelayMs: 2000, maxDelayMs: 30_000, giveUpAfterHours: 3 },
        },
        log: { level: 'info', file: 'logs/brainstrip.log' },
      };
      let node: NodeUnderTest = await startNode(dataDir, config);
      let restarting: Promise<void> | undefined;
      const kills: Array<{ stage: string; atSeconds: number }> = [];
      const killAndRestart = async (stage: string) => {
        kills.push({ stage, atSeconds: Math.round((Date.now() - started) / 1000) });
        restarting = (async () => {
          await node.kill();
          node = await startNode(dataDir, config);
        })();
        await restarting;
        restarting = undefined;
      };

      // Senders: like a PACS, resend what was not acknowledged after a failed association.
      const acknowledged = new Set<string>();
      let resent = 0;
      const sendSeries = async (series: Series) => {
        let pending = series.instances;
        while (pending.length > 0) {
          if (restarting) await restarting;
          const left: Instance[] = [];
          try {
            const c = await RawConnection.connect(node.dicomPort);
            const assoc = await c.associate([{ abstractSyntax: MR_STORAGE, transferSyntaxes: [EXPLICIT_LE] }], 'BRAINSTRIP', 'SOAKPACS');
            if (assoc !== 'accepted') throw new Error(`association ${assoc}`);
            for (const [k, instance] of pending.entries()) {
              const r = await c.store(instance.dataset, { sopClassUid: MR_STORAGE, sopInstanceUid: instance.sopInstanceUid });
              if (typeof r === 'object' && r.status === 0) acknowledged.add(instance.sopInstanceUid);
              else {
                left.push(...pending.slice(k));
                break;
              }
            }
            await c.release();
          } catch {
            left.push(...pending.filter((i) => !acknowledged.has(i.sopInstanceUid) && !left.includes(i)));
          }
          if (left.length > 0) {
            resent += left.length;
            await new Promise((r) => setTimeout(r, 1000));
          }
          pending = left;
        }
      };
      const total = SENDERS * SERIES_PER_SENDER * 96;
      const sending = Promise.all(plan.map(async (list) => {
        for (const series of list) await sendSeries(series);
      }));
      // kill -9 while receiving: once a third of the instances is acknowledged.
      while (acknowledged.size < total / 3) await new Promise((r) => setTimeout(r, 200));
      await killAndRestart('receiving');
      await sending;
      figures.receiveSeconds = Math.round((Date.now() - started) / 1000);
      figures.instancesAcknowledged = acknowledged.size;
      figures.instancesResent = resent;

      // The archive goes down; the node processes, and its jobs wait in `sending`.
      await archive.stop();
      const outageStarted = Date.now();
      const stateSeen = async (state: string) => {
        for (;;) {
          const jobs = await node.jobs().catch(() => [] as Array<Record<string, any>>);
          if (jobs.some((j) => j.state === state)) return;
          await new Promise((r) => setTimeout(r, 1000));
        }
      };
      await stateSeen('processing');
      await new Promise((r) => setTimeout(r, 3000));
      await killAndRestart('processing');
      await stateSeen('sending');
      await killAndRestart('sending');
      const outageLeft = OUTAGE_S * 1000 - (Date.now() - outageStarted);
      if (outageLeft > 0) await new Promise((r) => setTimeout(r, outageLeft));
      await archive.start();
      figures.outageSeconds = Math.round((Date.now() - outageStarted) / 1000);

      // Every series done, with nothing failed.
      const seriesUids = plan.flat().map((s) => s.seriesInstanceUid);
      const deadline = started + TIMEOUT_MIN * 60_000;
      let jobs: Array<Record<string, any>> = [];
      for (;;) {
        jobs = await node.jobs().catch(() => []);
        const latest = seriesUids.map((uid) => jobs.filter((j) => j.seriesInstanceUid === uid).sort((a, b) => b.id - a.id)[0]);
        if (latest.every((j) => j && (j.state === 'done' || j.state === 'failed'))) break;
        if (Date.now() > deadline) throw new Error(`soak timed out: ${JSON.stringify(latest.map((j) => j?.state))}`);
        await new Promise((r) => setTimeout(r, 2000));
      }
      figures.totalSeconds = Math.round((Date.now() - started) / 1000);
      figures.kills = kills;
      figures.jobs = jobs.length;
      figures.failedJobs = jobs.filter((j) => j.state === 'failed').map((j) => ({ id: j.id, reason: j.reason }));

      // Every acknowledged instance on disk.
      const spooled = new Set(spooledFiles(dataDir).map((f) => path.basename(f, '.dcm')));
      const lost = [...acknowledged].filter((uid) => !spooled.has(uid));
      figures.acknowledgedButLost = lost.length;
      // The archive holds each result once: 96 skull-stripped images and one SEG per series, no more, no less.
      const stats = await archive.get<{ CountInstances: number; CountSeries: number }>('/statistics');
      figures.archiveInstances = stats.CountInstances;
      figures.archiveSeries = stats.CountSeries;
      const expectedResults = seriesUids.length * 97;
      figures.expectedResults = expectedResults;
      console.log(`soak figures:\n${JSON.stringify(figures, null, 2)}`);
      fs.writeFileSync(path.join(dataDir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(figures, null, 2));
      await node.stop();
      await archive.stop();

      expect(lost).toEqual([]);
      expect(acknowledged.size).toBe(total);
      expect(figures.failedJobs).toEqual([]);
      expect(stats.CountInstances).toBe(expectedResults);
      expect(stats.CountSeries).toBe(seriesUids.length * 2);
    },
    (TIMEOUT_MIN + 10) * 60_000,
  );
});
