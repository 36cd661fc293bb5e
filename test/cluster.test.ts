// Three `brainstrip serve` nodes on one shared data folder and one PostgreSQL database, sending to Orthanc; eight
// modalities send a series each, over associations spread over the nodes, one series split over two nodes. One node
// is killed (kill -9) while receiving, one while processing, one while sending, each started again under its name;
// PostgreSQL is restarted once under load. Every series must be delivered once (one job, done), Orthanc must hold
// each derived object once, no acknowledged instance may be lost, and the jobs must say which node did what.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Node, type Orthanc, StartFailed, waitFor } from '../bench/harness/peers.js';
import { writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { tempDir } from './derived-fixtures.js';
import { type ClusterSite, ClusterDatabase, type Delivery, deliverSeries, instancesOf, startClusterNode } from './cluster-fixtures.js';
import { createOrthanc, e2eRequirements } from './e2e-fixtures.js';
import { type PostgresCluster, postgresMissing, startPostgres } from './postgres-fixture.js';

const missing = e2eRequirements() ?? postgresMissing('the cluster test');
if (missing) console.warn(`skipping the cluster test: ${missing}`);

const NAMES = ['alpha', 'bravo', 'charlie'] as const;
type Name = (typeof NAMES)[number];
const SERIES = 8;
// The test kills a node three times; one job may be in hand at each of those kills (a node sending one job computes
// the next). None of them is the job's doing, so no job may count them as a poison job's restarts.
const EVERY_KILL_IS_THE_TESTS = { jobs: { maxInterruptions: 0 } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(missing !== undefined)('a cluster of three nodes losing one in each stage', () => {
  let postgres: PostgresCluster;
  let archive: Orthanc;
  let database: ClusterDatabase;
  let site: ClusterSite;
  const nodes = new Map<Name, Node>();
  const down = new Set<Name>();
  const restarts: Array<Promise<void>> = [];
  const kills: Array<{ node: Name; stage: string; jobId?: number }> = [];

  beforeAll(async () => {
    postgres = await startPostgres();
    archive = await createOrthanc();
    await archive.start();
    site = { dataDir: tempDir('cluster-data'), database: await postgres.createDatabase('cluster'), archive, heartbeatSeconds: 1, leaseSeconds: 4 };
    database = new ClusterDatabase(site.database);
    // Started together: one migrates the schema, the others wait for it and find it done.
    await Promise.all(NAMES.map(async (name) => nodes.set(name, await startClusterNode(site, name, EVERY_KILL_IS_THE_TESTS))));
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled(restarts);
    await Promise.allSettled([...nodes.values()].map((n) => n.stop()));
    await database?.close();
    await archive?.stop();
    postgres?.stop();
  }, 120_000);

  /**
   * kill -9 now; the same name starts again so that there are always nodes to take work over: at once, or with the
   * job it held, once another node has taken that job over (back at once, it would take its own job back itself).
   */
  async function kill(name: Name, stage: string, jobId?: number): Promise<void> {
    down.add(name);
    kills.push({ node: name, stage, jobId });
    const before = jobId === undefined ? 0 : await database.lastEventId(jobId);
    await nodes.get(name)!.kill();
    const takenOver = async () => {
      if (jobId !== undefined) await waitFor(`job ${jobId} taken over from ${name}`, async () => ((await database.changedByAnother(jobId, name, before)) ? true : undefined), 120_000, 200).catch(() => undefined);
    };
    restarts.push(
      takenOver()
        .then(() => restart(name))
        .then((node) => {
          nodes.set(name, node);
          down.delete(name);
        }),
    );
  }

  /** Starts the node again, as its service manager would: once more a second after a start that failed (no database). */
  async function restart(name: Name, attempts = 30): Promise<Node> {
    try {
      return await startClusterNode(site, name, EVERY_KILL_IS_THE_TESTS);
    } catch (error) {
      if (!(error instanceof StartFailed) || attempts <= 1) throw error;
      await sleep(1000);
      return restart(name, attempts - 1);
    }
  }

  /** The port of the `attempt`-th node from `first` that is up (a load balancer skipping a dead node). */
  const route = (first: number) => (attempt: number) => {
    const name = NAMES[(first + attempt) % NAMES.length];
    return down.has(name) ? undefined : nodes.get(name)?.dicomPort;
  };

  /** A job of a live node in `state` (owned by that node), once there is one: a node not killed yet if it can be. */
  async function jobInHand(state: string, timeoutMs: number) {
    const start = Date.now();
    for (const deadline = start + timeoutMs; Date.now() < deadline; await sleep(50)) {
      const held = (await database.tryJobs())?.filter((j) => j.state === state && NAMES.includes(j.owner as Name) && !down.has(j.owner as Name)) ?? [];
      const job = held.find((j) => !kills.some((k) => k.node === j.owner)) ?? (Date.now() - start > 10_000 ? held[0] : undefined);
      if (job) return job;
    }
    throw new Error(`no job in ${state} owned by a live node after ${timeoutMs} ms; jobs: ${JSON.stringify(await database.tryJobs())}`);
  }

  test('every series is delivered once, nothing acknowledged is lost, and the jobs say who did what', async () => {
    const started = performance.now();
    const work = tempDir('cluster-series');
    const written = await Promise.all(
      Array.from({ length: SERIES }, (_, k) =>
        // Series 0 is the one split over two nodes: long enough to be cut in the middle.
        writeSyntheticSeries(path.join(work, `s${k}`), { rows: 16, columns: 16, slices: k === 0 ? 16 : 8, pixelSpacing: [8, 8], sliceSpacing: 8, attributes: { Modality: 'MR', SeriesNumber: k + 1, ImagesInAcquisition: k === 0 ? 16 : 8 } }),
      ),
    );
    const instances = written.map((s) => instancesOf(s.paths));
    const deliveries: Array<Promise<Delivery>> = [];
    let releaseLate: () => void = () => undefined;
    const late = new Promise<void>((resolve) => (releaseLate = resolve));

    // Receiving: alpha dies with the association of series 0 open, four instances acknowledged; the modality sends
    // the rest to bravo.
    let receivingKill: Promise<void> | undefined;
    deliveries.push(
      deliverSeries(instances[0], route(0), {
        paceMs: 100,
        afterAcknowledged: async (count, port) => {
          if (count === 4 && port === nodes.get('alpha')!.dicomPort) await (receivingKill = kill('alpha', 'receiving'));
        },
      }),
    );
    // Five more modalities now, spread over the nodes; the last two after the database's restart (below).
    for (let k = 1; k < SERIES; k++) {
      const send = () => deliverSeries(instances[k], route(k), { paceMs: 50 });
      deliveries.push(k < SERIES - 2 ? send() : late.then(send));
    }

    await waitFor('the receiving kill', async () => (receivingKill ? true : undefined), 30_000, 50);
    await receivingKill;
    // PostgreSQL restarted under load: series arriving and being processed.
    postgres.kill();
    await sleep(1500);
    postgres.restart();
    // The archive stops answering (SIGSTOP): whatever is computed from now on waits in sending.
    archive.pause();
    releaseLate();
    try {
      const processing = await jobInHand('processing', 120_000);
      await kill(processing.owner as Name, 'processing', processing.id);
      const sending = await jobInHand('sending', 120_000);
      // In the middle of its association with the archive.
      await sleep(300);
      await kill(sending.owner as Name, 'sending', sending.id);
    } finally {
      archive.resume();
    }

    const delivered = await Promise.all(deliveries);
    await Promise.all(restarts);
    const finished = await waitFor(
      'every job to finish',
      async () => {
        const jobs = await database.jobs();
        return jobs.length >= SERIES && jobs.every((j) => j.state === 'done' || j.state === 'failed') ? jobs : undefined;
      },
      120_000,
    );
    const seconds = (performance.now() - started) / 1000;

    // One series, one job, done, with every instance the modalities saw acknowledged.
    for (const [k, series] of written.entries()) {
      const jobs = finished.filter((j) => j.series === series.seriesInstanceUid);
      expect(jobs.map((j) => j.state), `series ${k}; kills ${JSON.stringify(kills)}; jobs ${JSON.stringify(finished)}`).toEqual(['done']);
      expect(delivered[k].acknowledged.size).toBe(series.paths.length);
      expect(jobs[0].instances, `series ${k}: instances of its job`).toBe(delivered[k].acknowledged.size);
    }
    const split = new Set(delivered[0].associations.map((a) => a.port));
    expect(split.size, 'series 0 went to two nodes').toBeGreaterThanOrEqual(2);

    // Orthanc holds, per study, the skull-stripped series with one object per source instance and one SEG: each once.
    let objects = 0;
    for (const series of written) {
      const studies = await archive.post<string[]>('/tools/find', JSON.stringify({ Level: 'Study', Query: { StudyInstanceUID: series.studyInstanceUid } }));
      expect(studies, `study of ${series.seriesInstanceUid} in Orthanc`).toHaveLength(1);
      const held = await archive.get<Array<{ MainDicomTags: { Modality: string }; Instances: string[] }>>(`/studies/${studies[0]}/series`);
      expect(held.map((s) => [s.MainDicomTags.Modality, s.Instances.length]).sort()).toEqual([
        ['MR', series.paths.length],
        ['SEG', 1],
      ]);
      objects += held.reduce((n, s) => n + s.Instances.length, 0);
    }
    expect((await archive.get<{ CountInstances: number }>('/statistics')).CountInstances).toBe(objects);

    // Who did what: each job taken from a killed node names both nodes in its timeline (the API of any node).
    const api = nodes.get(NAMES.find((n) => !down.has(n))!)!;
    for (const { node, stage, jobId } of kills.filter((k) => k.jobId !== undefined)) {
      const detail = await (await fetch(`http://127.0.0.1:${api.httpPort}/api/jobs/${jobId}`)).json();
      const text = JSON.stringify(detail.events);
      expect(text, `job ${jobId}, killed with ${node} while ${stage}`).toContain(node);
      const others = NAMES.filter((n) => n !== node && text.includes(n));
      expect(others.length, `job ${jobId}: the node that took it over from ${node}`).toBeGreaterThan(0);
    }

    console.log(
      `cluster test: ${SERIES} series (${written.reduce((n, s) => n + s.paths.length, 0)} instances) from ${SERIES} modalities to 3 nodes, ` +
        `${objects} objects in Orthanc, ${kills.length} kills (${kills.map((k) => `${k.node} ${k.stage}`).join(', ')}), ` +
        `1 PostgreSQL restart, ${seconds.toFixed(1)} s`,
    );
  }, 300_000);
});
