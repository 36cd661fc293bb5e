// The pieces of the receiving node on their own: reading the header of a dataset as received, routing decisions,
// the Part 10 header, and the job store's life cycle across a restart.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInstanceHeader, type InstanceHeader } from '../../src/scp/dataset-header.js';
import { fileMetaHeader, readFileMeta } from '../../src/scp/part10.js';
import { isOwnOutput, routeInstance, type RoutingConfig } from '../../src/scp/routing.js';
import { callerAllowed } from '../../src/scp/association-policy.js';
import { SqliteJobStore } from '../../src/jobs/state/sqlite/store.js';
import { Spool } from '../../src/scp/spool.js';
import { classicSeries, haveData, seriesFiles, transferSyntaxes } from './node-process.js';
import { ENHANCED_MR_IMAGE_STORAGE, EXPLICIT_VR_LITTLE_ENDIAN, JPEG_LOSSLESS_SV1, MR_IMAGE_STORAGE } from '../../src/dicom/uids.js';

const routing: RoutingConfig = {
  sopClasses: [MR_IMAGE_STORAGE, ENHANCED_MR_IMAGE_STORAGE],
  excludeImageTypes: ['LOCALIZER', 'DERIVED'],
  include: [{ modality: 'MR' }],
  exclude: [],
  ownUidRoot: '1.2.826.0.1.3680043.10.999',
};
const t1: InstanceHeader = {
  imageType: ['ORIGINAL', 'PRIMARY', 'M', 'ND'],
  sopClassUid: MR_IMAGE_STORAGE,
  sopInstanceUid: '1.2.3.4.5.1',
  modality: 'MR',
  manufacturer: 'SIEMENS',
  seriesDescription: 't1_mprage_sag',
  studyInstanceUid: '1.2.3.4',
  seriesInstanceUid: '1.2.3.4.5',
};

describe('routing', () => {
  it('processes an original MR volume', () => {
    expect(routeInstance(t1, 'PACS', routing)).toEqual({ routed: true });
    expect(routeInstance({ ...t1, sopClassUid: ENHANCED_MR_IMAGE_STORAGE }, 'PACS', routing).routed).toBe(true);
  });

  it('leaves localizers, derived images and other SOP classes alone', () => {
    expect(routeInstance({ ...t1, imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] }, 'PACS', routing).routed).toBe(false);
    expect(routeInstance({ ...t1, imageType: ['DERIVED', 'SECONDARY'] }, 'PACS', routing).routed).toBe(false);
    expect(routeInstance({ ...t1, sopClassUid: '1.2.840.10008.5.1.4.1.1.7' }, 'PACS', routing).routed).toBe(false);
  });

  it("recognises brainstrip's own outputs by Manufacturer, UID root, or its derivation description", () => {
    expect(isOwnOutput({ ...t1, manufacturer: 'brainstrip' }, routing.ownUidRoot)).toBe(true);
    expect(isOwnOutput({ ...t1, sopInstanceUid: `${routing.ownUidRoot}.7.8` }, routing.ownUidRoot)).toBe(true);
    expect(isOwnOutput({ ...t1, imageType: ['DERIVED', 'SECONDARY'], derivationDescription: 'Skull-stripped by brainstrip (INT8)' }, '2.25')).toBe(true);
    // The shared UUID root 2.25 says nothing about who made an object.
    expect(isOwnOutput({ ...t1, sopInstanceUid: '2.25.1234' }, '2.25')).toBe(false);
    const routedAnyway = { ...routing, excludeImageTypes: [] };
    expect(routeInstance({ ...t1, manufacturer: 'brainstrip' }, 'PACS', routedAnyway)).toEqual({ routed: false, reason: 'brainstrip output (loop protection)' });
  });

  it('applies include and exclude rules on modality, series description and calling AE', () => {
    const rules = { ...routing, include: [{ seriesDescription: 't1|mprage' }, { callingAe: 'RESEARCH' }], exclude: [{ seriesDescription: '^t1_vibe' }] };
    expect(routeInstance(t1, 'PACS', rules).routed).toBe(true);
    expect(routeInstance({ ...t1, seriesDescription: 'ep2d_diff' }, 'PACS', rules).routed).toBe(false);
    expect(routeInstance({ ...t1, seriesDescription: 'ep2d_diff' }, 'RESEARCH', rules).routed).toBe(true);
    expect(routeInstance({ ...t1, seriesDescription: 'T1_VIBE_fs' }, 'PACS', rules)).toMatchObject({ routed: false });
  });
});

describe('association policy', () => {
  it('allows anyone with an empty list, otherwise the AE title (and host, when given)', () => {
    expect(callerAllowed([], 'ANY', '10.0.0.1')).toBe(true);
    expect(callerAllowed(['PACS'], 'PACS', '10.0.0.1')).toBe(true);
    expect(callerAllowed(['PACS@10.0.0.2'], 'PACS', '::ffff:10.0.0.2')).toBe(true);
    expect(callerAllowed(['PACS@10.0.0.2'], 'PACS', '10.0.0.1')).toBe(false);
    expect(callerAllowed(['PACS'], 'OTHER', '10.0.0.1')).toBe(false);
  });
});

describe('dataset header as received', () => {
  it('writes a Part 10 header that reads back', () => {
    const meta = fileMetaHeader({ sopClassUid: MR_IMAGE_STORAGE, sopInstanceUid: '1.2.3', transferSyntaxUid: JPEG_LOSSLESS_SV1, sourceAeTitle: 'PACS' });
    const parsed = readFileMeta(Buffer.concat([meta, Buffer.alloc(16)]));
    expect(parsed).toEqual({ transferSyntaxUid: JPEG_LOSSLESS_SV1, sopInstanceUid: expect.any(String), datasetOffset: meta.length });
  });

  it.skipIf(!haveData)('reads identity and routing attributes in every transfer syntax, without touching pixel data', () => {
    const files = [...seriesFiles(transferSyntaxes), seriesFiles(classicSeries)[0]];
    for (const f of files) {
      const content = fs.readFileSync(f);
      const meta = readFileMeta(content);
      const { header, complete } = readInstanceHeader(content.subarray(meta.datasetOffset), meta.transferSyntaxUid);
      expect(complete, f).toBe(true);
      expect(header.modality, f).toBe('MR');
      expect(header.seriesInstanceUid, f).toMatch(/^1\.3\.12\.2\.1107\./);
      expect(header.sopClassUid, f).toBe(MR_IMAGE_STORAGE);
      expect(header.imageType[0], f).toBe('ORIGINAL');
    }
  });

  it('reports an incomplete header when the bytes stop early', () => {
    const f = path.join(classicSeries, fs.existsSync(classicSeries) ? fs.readdirSync(classicSeries)[0] : '');
    if (!haveData) return;
    const content = fs.readFileSync(f);
    const meta = readFileMeta(content);
    const { complete } = readInstanceHeader(content.subarray(meta.datasetOffset, meta.datasetOffset + 100), meta.transferSyntaxUid);
    expect(complete).toBe(false);
  });
});

describe('job store', () => {
  const instance = (sop: string, series = '1.2.3.4.5') => ({ studyInstanceUid: '1.2.3.4', seriesInstanceUid: series, sopInstanceUid: sop, modality: 'MR', bytes: 100 });

  it('groups a series into one job, counts distinct instances, and re-opens on a late instance', async () => {
    const store = new SqliteJobStore(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-store-')), 'jobs.sqlite'));
    const a = await store.recordInstance(instance('1'));
    expect(a.created).toBe(true);
    await store.recordInstance(instance('2'));
    await store.recordInstance(instance('2')); // resent after an abort: still one instance
    expect(await store.get(a.job.id)).toMatchObject({ state: 'receiving', instances: 2 });
    expect((await store.markComplete(a.job.id))?.state).toBe('queued');
    const late = await store.recordInstance(instance('3'));
    expect(late).toMatchObject({ created: false, reopened: true });
    expect(await store.get(a.job.id)).toMatchObject({ state: 'receiving', instances: 3 });
    await store.markComplete(a.job.id);
    const claimed = await store.claimNext();
    expect(claimed).toMatchObject({ id: a.job.id, state: 'processing', attempts: 1 });
    // An instance arriving while the series is processed starts a new job for the whole series.
    const again = await store.recordInstance(instance('4'));
    expect(again.created).toBe(true);
    expect(again.job.instances).toBe(4);
    await store.close();
  });

  it('survives a restart: interrupted jobs are queued again, failures keep their reason', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-store-')), 'jobs.sqlite');
    let store = new SqliteJobStore(file);
    const processing = (await store.recordInstance(instance('1', 'A'))).job;
    await store.markComplete(processing.id);
    await store.claimNext();
    const failed = (await store.recordInstance(instance('1', 'B'))).job;
    await store.markComplete(failed.id);
    await store.claimNext();
    await store.transition(failed.id, 'fail', { reason: 'archive refused the SEG (0xA700)' });
    const receiving = (await store.recordInstance(instance('1', 'C'))).job;
    // no close(): as if the process had been killed
    store = new SqliteJobStore(file);
    const { requeued, receiving: stillReceiving } = await store.recoverAfterRestart();
    expect(requeued.map((j) => j.id)).toEqual([processing.id]);
    expect(await store.get(processing.id)).toMatchObject({ state: 'queued', detail: expect.stringMatching(/restart/) });
    expect(await store.get(failed.id)).toMatchObject({ state: 'failed', reason: 'archive refused the SEG (0xA700)' });
    expect(stillReceiving.map((j) => j.id)).toEqual([receiving.id]);
    expect(await store.countsByState()).toMatchObject({ queued: 1, failed: 1, receiving: 1 });
    await store.close();
  });
});

describe('spool', () => {
  const meta = () => fileMetaHeader({ sopClassUid: MR_IMAGE_STORAGE, sopInstanceUid: '1.2.3.9', transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN });
  async function receive(spool: Spool, bytes: Buffer) {
    const writer = spool.openInstance(meta());
    writer.end(bytes);
    expect(await writer.finish()).toBeUndefined();
    return writer;
  }

  it('commits an instance into its series folder as a Part 10 file and keeps the folder while it is being recorded', async () => {
    const spool = new Spool(fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-spool-')));
    await spool.init();
    const dir = spool.seriesDir('1.2.3', '1.2.3.4');
    const writer = await receive(spool, Buffer.from([8, 0, 0x18, 0, 0x55, 0x49, 2, 0, 0x31, 0]));
    const { target: file, existing } = await spool.commit(writer, dir, '1.2.3.9');
    expect(existing).toBe('none');
    expect(readFileMeta(fs.readFileSync(file)).transferSyntaxUid).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
    expect(fs.readdirSync(spool.incomingDir)).toEqual([]);
    expect(spool.removeSeriesIfIdle('1.2.3', '1.2.3.4')).toBe(false); // not yet recorded in the job store
    spool.settled(dir);
    expect(spool.removeSeriesIfIdle('1.2.3', '1.2.3.4')).toBe(true);
    expect(fs.existsSync(dir)).toBe(false);
    // The next instance of that series finds its folder gone and makes it again.
    const mark = spool.activityMark(); // retention asks the job store which series are finished…
    const { target: again } = await spool.commit(await receive(spool, Buffer.alloc(4)), dir, '1.2.3.10');
    spool.settled(dir);
    expect(fs.existsSync(again)).toBe(true);
    // …and an instance stored before the answer came keeps the folder (the answer may predate its job).
    expect(spool.removeSeriesIfIdle('1.2.3', '1.2.3.4', mark)).toBe(false);
    expect(spool.removeSeriesIfIdle('1.2.3', '1.2.3.4', spool.activityMark())).toBe(true);
  });

  it('on a spool shared by the nodes of a cluster, a node starting removes its own partial instances only', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-spool-'));
    const [a, b, ab] = [new Spool(root, undefined, 'a'), new Spool(root, undefined, 'b'), new Spool(root, undefined, 'a.b')];
    await a.init();
    const inFlight = [a, b, ab].map((spool) => {
      const writer = spool.openInstance(meta());
      writer.write(Buffer.alloc(10));
      return writer;
    });
    await new Promise((r) => setTimeout(r, 50));
    const abandoned = path.join(a.incomingDir, 'gone+0000.part');
    fs.writeFileSync(abandoned, '');
    fs.utimesSync(abandoned, new Date(Date.now() - 2 * 86400_000), new Date(Date.now() - 2 * 86400_000));
    expect(await a.init()).toEqual({ removedPartial: 2 });
    expect(fs.readdirSync(a.incomingDir).sort()).toEqual([path.basename(inFlight[2].tempPath), path.basename(inFlight[1].tempPath)].sort());
    for (const writer of inFlight) await writer.discard();
  });

  it('reports a write failure instead of throwing, and leaves nothing behind', async () => {
    const spool = new Spool(fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-spool-')));
    await spool.init();
    fs.rmSync(spool.incomingDir, { recursive: true });
    fs.writeFileSync(spool.incomingDir, '');
    const writer = spool.openInstance(meta());
    writer.write(Buffer.alloc(1000));
    writer.end(Buffer.alloc(1000));
    const error = await writer.finish();
    expect(error?.message).toMatch(/ENOTDIR/);
    expect(writer.bytes).toBe(2000);
    await writer.discard();
  });
});

describe('retention of unrouted instances', () => {
  it('deletes acknowledged but unprocessed instances older than the retention, and only those', async () => {
    const spool = new Spool(fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-spool-')));
    await spool.init();
    const dir = spool.unroutedDir('1.2.3.4.9');
    fs.mkdirSync(dir, { recursive: true });
    const old = path.join(dir, 'old.dcm');
    const fresh = path.join(dir, 'fresh.dcm');
    fs.writeFileSync(old, 'x');
    fs.writeFileSync(fresh, 'x');
    const twoDaysAgo = new Date(Date.now() - 48 * 3600_000);
    fs.utimesSync(old, twoDaysAgo, twoDaysAgo);
    expect(await spool.cleanUnrouted(24 * 3600_000)).toBe(1);
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
  });
});
