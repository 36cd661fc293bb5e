// Several nodes on one PostgreSQL job state: a claim or a send is one node's alone, a node restarting recovers its
// own jobs only, a node whose heartbeat stops is dead after the lease and a live node takes its jobs over, a series
// another live node is still delivering does not complete, and while the database is away C-STORE is answered
// Out of Resources (nothing acknowledged that the shared index does not hold) and the heartbeat goes on trying.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DimseStatus } from '../src/dicom/status.js';
import { ClusterMembership } from '../src/jobs/cluster.js';
import type { Job, JobState } from '../src/jobs/state/job.js';
import { PostgresJobStore } from '../src/jobs/state/postgres/store.js';
import { configureLogging } from '../src/log.js';
import { MetricsRegistry } from '../src/metrics.js';
import { SeriesCompletion } from '../src/scp/series-completion.js';
import { startScp } from '../src/scp/scp.js';
import { Spool } from '../src/scp/spool.js';
import { PATH_TO } from './job-stores.js';
import { type PostgresCluster, postgresMissing, startPostgres } from './postgres-fixture.js';
import { mrInstance } from './scp/hostile-corpus.js';
import { EXPLICIT_LE, MR_STORAGE, RawConnection } from './scp/raw-scu.js';

configureLogging({ level: 'error', stream: 'stderr' });
const missing = postgresMissing('the cluster node tests');
if (missing) console.warn(`skipping the cluster node tests: ${missing}`);

const LEASE_SECONDS = 1;
const ROLES = ['receive', 'process', 'send'] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(missing !== undefined)('nodes of a cluster on one PostgreSQL', () => {
  let cluster: PostgresCluster;
  const open: PostgresJobStore[] = [];
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(async () => {
    for (const store of open) await store.close().catch(() => undefined);
    cluster?.stop();
  });

  /** Nodes a and b, registered, on a fresh database. */
  async function twoNodes(name: string): Promise<[PostgresJobStore, PostgresJobStore]> {
    const url = await cluster.createDatabase(name);
    const [a, b] = await Promise.all(['a', 'b'].map((node) => PostgresJobStore.open(url, { node, leaseSeconds: LEASE_SECONDS })));
    open.push(a, b);
    for (const store of [a, b]) await store.registerNode({ roles: ROLES, version: 'test' });
    return [a, b];
  }

  let series = 0;
  /** A new job of its own series, moved into `state` by `store` (the node that claims it). */
  async function jobIn(store: PostgresJobStore, state: JobState): Promise<Job> {
    const n = ++series;
    const { job } = await store.recordInstance({ studyInstanceUid: '1.2', seriesInstanceUid: `1.2.${n}`, sopInstanceUid: `1.2.${n}.1`, bytes: 1 });
    for (const name of PATH_TO[state]) expect(await store.transition(job.id, name)).toBe(true);
    return (await store.get(job.id))!;
  }

  test('a claim and a send are one node’s: the other cannot move the job, nor recover it at its restart', async () => {
    const [a, b] = await twoNodes('claims');
    expect(await a.heartbeat()).toBe('alive');
    await jobIn(a, 'queued');
    const claims = await Promise.all([a.claimNext(), b.claimNext()]);
    const claimed = claims.find(Boolean)!;
    expect(claims.filter(Boolean)).toHaveLength(1);
    const [owner, other] = claimed.owner === 'a' ? [a, b] : [b, a];
    expect(await other.transition(claimed.id, 'resultsReady')).toBe(false);
    expect(await owner.transition(claimed.id, 'resultsReady')).toBe(true);
    // Results ready: nobody holds it until a node takes it to send; then only that node sends it.
    expect((await a.get(claimed.id))!.owner).toBeNull();
    const sends = await Promise.all([a.nextToSend([]), b.nextToSend([])]);
    expect(sends.filter(Boolean).map((job) => job!.id)).toEqual([claimed.id]);
    const sender = sends[0] ? a : b;
    const idle = sender === a ? b : a;
    expect(await idle.nextToSend([])).toBeUndefined();
    expect(await sender.nextToSend([])).toMatchObject({ id: claimed.id, owner: sender.node });
    // The idle node restarts: the other's jobs, sending or computing, are not its to recover.
    const computing = await jobIn(sender, 'processing');
    expect(await idle.recoverAfterRestart(2, () => true)).toMatchObject({ requeued: [], resending: [], poisoned: [] });
    expect(await idle.get(computing.id)).toMatchObject({ state: 'processing', owner: sender.node });
    // The sender restarts: its own go on (sending, with its results) or back to the queue.
    const recovered = await sender.recoverAfterRestart(2, () => true);
    expect(recovered.resending.map((j) => j.id)).toEqual([claimed.id]);
    expect(recovered.requeued.map((j) => j.id)).toEqual([computing.id]);
    expect((await a.events(computing.id)).map((e) => [e.state, e.node])).toEqual([
      ['receiving', sender.node],
      ['complete', sender.node],
      ['queued', sender.node],
      ['processing', sender.node],
      ['queued', sender.node],
    ]);
  });

  test('a second process registering under a node’s name is seen by the first', async () => {
    const url = await cluster.createDatabase('names');
    const [first, second] = await Promise.all([0, 1].map(() => PostgresJobStore.open(url, { node: 'same' })));
    open.push(first, second);
    await first.registerNode({ roles: ROLES, version: 'test' });
    await second.registerNode({ roles: ROLES, version: 'test' });
    expect(await first.heartbeat()).toBe('name taken');
    expect(await second.heartbeat()).toBe('alive');
  });

  test('a node silent for the lease is dead: a live node takes its jobs over, and its late moves are refused', async () => {
    const [a, b] = await twoNodes('takeover');
    const computing = await jobIn(a, 'processing');
    const withResults = await jobIn(a, 'sending');
    const withoutResults = await jobIn(a, 'sending');
    for (const job of [withResults, withoutResults]) expect(await a.nextToSend([computing.id, ...(job === withResults ? [] : [withResults.id])])).toMatchObject({ id: job.id, owner: 'a' });
    // Alive: nothing to take over.
    expect(await b.jobsOfDeadNodes()).toEqual([]);
    expect((await b.nodes()).map((n) => [n.name, n.alive, n.jobsInHand])).toEqual([
      ['a', true, 3],
      ['b', true, 0],
    ]);
    await sleep(LEASE_SECONDS * 1000 + 300);
    await b.heartbeat();
    expect((await b.nodes()).map((n) => [n.name, n.alive])).toEqual([
      ['a', false],
      ['b', true],
    ]);
    expect((await b.jobsOfDeadNodes()).map((j) => j.id)).toEqual([computing.id, withResults.id, withoutResults.id]);
    const taken = await b.takeOverDeadNodes(2, (job) => job.id === withResults.id, true);
    expect(taken.resending.map((j) => [j.id, j.state])).toEqual([[withResults.id, 'sending']]);
    expect(taken.requeued.map((j) => [j.id, j.state])).toEqual([
      [computing.id, 'queued'],
      [withoutResults.id, 'queued'],
    ]);
    expect(await b.get(withResults.id)).toMatchObject({ owner: 'b' });
    expect(await b.get(computing.id)).toMatchObject({ owner: null, attempts: 1 });
    const last = (await b.events(computing.id)).at(-1)!;
    expect(last).toMatchObject({ state: 'queued', node: 'b' });
    expect(last.detail).toMatch(/interrupted while processing by the loss of node a .*taken over by b; queued again/);
    // Node a was only stalled: its moves on the jobs it lost are refused (no second send, no stale result).
    expect(await a.transition(withResults.id, 'delivered')).toBe(false);
    expect((await b.claimNext())!.id).toBe(computing.id);
    expect(await a.transition(computing.id, 'resultsReady')).toBe(false);
    expect(await b.jobsOfDeadNodes()).toEqual([]);
  });

  test('at each heartbeat a node gives up the jobs another node took from it and recovers those whose end it could not record; stopping, it hands its sends over', async () => {
    const [a, b] = await twoNodes('own-jobs');
    const orphan = await jobIn(a, 'processing');
    const lost = await jobIn(b, 'processing');
    const runs = await jobIn(a, 'processing');
    const ended = await jobIn(a, 'failed');
    const abandoned: number[] = [];
    let woken = 0;
    const membership = new ClusterMembership(a, {
      roles: ROLES,
      version: 'test',
      heartbeatMs: 100,
      leaseMs: LEASE_SECONDS * 1000,
      maxInterruptions: 2,
      hasResults: async () => false,
      onTakeover: () => woken++,
      running: () => [lost.id, runs.id, ended.id],
      abandon: (ids) => abandoned.push(...ids),
    });
    await sleep(250);
    await membership.beat();
    expect(abandoned.sort((x, y) => x - y)).toEqual([lost.id, ended.id]);
    expect(await a.get(orphan.id)).toMatchObject({ state: 'queued', owner: null });
    expect((await a.get(orphan.id))!.detail).toMatch(/job database being out of reach/);
    expect(await a.get(runs.id)).toMatchObject({ state: 'processing', owner: 'a' });
    expect(woken).toBe(1);
    // Stopping, the node hands what it was sending to the others at once.
    const sending = await jobIn(a, 'sending');
    expect(await a.nextToSend([orphan.id, runs.id])).toMatchObject({ id: sending.id, owner: 'a' });
    await membership.stop();
    expect(await b.nextToSend([])).toMatchObject({ id: sending.id, owner: 'b' });
  });

  test('a series completes cluster-wide: not while a live node delivers it, and when its receiving node died', async () => {
    const [a, b] = await twoNodes('completion');
    // Instances of one series arriving at both nodes at once: one job, every instance counted once.
    const instances = Array.from({ length: 16 }, (_, n) => ({ studyInstanceUid: '1.3', seriesInstanceUid: '1.3.1', sopInstanceUid: `1.3.1.${n + 1}`, bytes: 1 }));
    const recorded = await Promise.all(instances.map((instance, n) => (n % 2 ? a : b).recordInstance(instance)));
    expect(new Set(recorded.map((r) => r.job.id)).size).toBe(1);
    expect(recorded.filter((r) => r.created)).toHaveLength(1);
    expect(await a.get(recorded[0].job.id)).toMatchObject({ instances: 16, state: 'receiving' });
    const job = await jobIn(a, 'receiving');
    const other = await jobIn(b, 'receiving');
    await a.noteDelivery(job.id, 7);
    const later = new Date(Date.now() + 60_000);
    // Node b's early completion and its idle sweep both wait for node a's association.
    expect(await b.markComplete(job.id)).toBeUndefined();
    expect((await b.completeIdle(later)).map((j) => j.id)).toEqual([recorded[0].job.id, other.id]);
    // Not idle yet by the last instance (whichever node received it).
    expect(await b.completeIdle(new Date(Date.now() - 60_000))).toEqual([]);
    await a.endDelivery(7);
    await a.noteDelivery(job.id, 8);
    await sleep(LEASE_SECONDS * 1000 + 300);
    await b.heartbeat();
    // Node a died with its association open: its delivery holds nothing any more.
    expect((await b.completeIdle(later)).map((j) => [j.id, j.state])).toEqual([[job.id, 'queued']]);
  });

  test('while the database is away C-STORE is refused with Out of Resources and the heartbeat keeps trying', async () => {
    const url = await cluster.createDatabase('outage');
    const store = await PostgresJobStore.open(url, { node: 'a', leaseSeconds: LEASE_SECONDS });
    open.push(store);
    const membership = new ClusterMembership(store, {
      roles: ROLES,
      version: 'test',
      heartbeatMs: 60_000,
      leaseMs: LEASE_SECONDS * 1000,
      maxInterruptions: 2,
      hasResults: async () => false,
      onTakeover: () => undefined,
      running: () => [],
      abandon: () => undefined,
    });
    await membership.start();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-outage-'));
    const spool = new Spool(path.join(root, 'spool'), undefined, 'a');
    await spool.init();
    const completion = new SeriesCompletion(store, { idleMs: 60_000, graceMs: 0, shared: membership }, () => undefined);
    const routing = { sopClasses: [MR_STORAGE], excludeImageTypes: [], include: [{ modality: 'MR' }], exclude: [], ownUidRoot: '1.2.826.0.1.3680043.10.999' };
    // The index failing at the very write of the instance, the server up.
    let recordFails = false;
    const recording = new Proxy(store, {
      get(target, key) {
        if (key === 'recordInstance' && recordFails) return async () => Promise.reject(new Error('the index cannot be written'));
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const scp = await startScp(
      { aeTitle: 'BRAINSTRIP', port: 0, allowedCallers: [], maxAssociations: 4, maxPduLength: 262144, timeoutMs: 10_000, routing, indexRequired: true },
      { spool, store: recording, completion, metrics: new MetricsRegistry() },
    );
    const send = async (sopInstanceUid: string) => {
      const c = await RawConnection.connect(scp.port);
      expect(await c.associate([{ abstractSyntax: MR_STORAGE, transferSyntaxes: [EXPLICIT_LE] }])).toBe('accepted');
      const answer = await c.store(mrInstance({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', sopInstanceUid }).bytes, { sopClassUid: MR_STORAGE, sopInstanceUid });
      await c.release();
      return answer;
    };
    try {
      expect(await send('1.2.3.4.1')).toMatchObject({ status: DimseStatus.Success });
      recordFails = true;
      expect(await send('1.2.3.4.3')).toMatchObject({ status: DimseStatus.OutOfResources });
      recordFails = false;
      cluster.kill();
      expect(await send('1.2.3.4.2')).toMatchObject({ status: DimseStatus.OutOfResources });
      expect((await spool.seriesInstancePaths('1.2.3', '1.2.3.4')).map((f) => path.basename(f))).toEqual(['1.2.3.4.1.dcm']);
      expect(scp.unrecordedInstances()).toBe(0);
      // Neither the heartbeat nor the completion sweep throws while the server is down.
      await membership.beat();
      await completion.check(Date.now() + 120_000);
      cluster.restart();
      let answer: unknown;
      for (let n = 0; n < 50 && (answer as { status?: number })?.status !== DimseStatus.Success; n++) {
        answer = await send('1.2.3.4.2');
        if ((answer as { status?: number }).status !== DimseStatus.Success) await sleep(100);
      }
      expect(answer).toMatchObject({ status: DimseStatus.Success });
      const before = (await store.nodes())[0].heartbeatAt;
      await membership.beat();
      expect((await store.nodes())[0].heartbeatAt > before).toBe(true);
      expect(await store.latestJobOfSeries('1.2.3.4')).toMatchObject({ instances: 2, state: 'receiving' });
    } finally {
      cluster.restart();
      await scp.close();
      completion.stop();
      await membership.stop();
    }
  });
});
