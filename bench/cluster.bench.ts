// Cluster throughput: the same 1 mm 3D T1 series (as the loop bench sends them) through a cluster of one processing
// node and then of two, on this one machine, each run with a fresh PostgreSQL database, shared data folder and
// Orthanc. Several modalities send at once, spread over the nodes; the time is from the first instance sent to the
// last job done, and series per hour per core divides by the machine's cores (both nodes share them).
// Quick mode leaves it out: a throughput worth reading needs several series per node.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startClusterNode } from './harness/cluster.js';
import { colin27Available, colin27Path, writeHeadSeries } from './harness/head-series.js';
import { type Node, cliPath, createOrthanc, orthancBinary, storescu, tempDir, waitFor } from './harness/peers.js';
import { type PostgresCluster, postgresBin, startPostgres } from './harness/postgres.js';
import { figure, ratio } from './report/measure.js';
import type { BenchOptions, BenchResult } from './report/types.js';

const SERIES = 8;
const MODALITIES = 4;

function missingRequirement(): string | undefined {
  if (!fs.existsSync(orthancBinary)) return `${orthancBinary} not installed (Debian package orthanc)`;
  if (!postgresBin()) return 'PostgreSQL not installed (Debian package postgresql)';
  if (!colin27Available()) return `${colin27Path} absent (Debian package mricron-data)`;
  if (!fs.existsSync(cliPath)) return `${cliPath} not built`;
  return undefined;
}

type HeadSeries = Awaited<ReturnType<typeof writeHeadSeries>>;

interface ClusterRun {
  nodes: number;
  seconds: number;
  seriesPerHour: number;
  failed: number;
  objectsInOrthanc: number;
  expectedObjects: number;
}

async function clusterRun(postgres: PostgresCluster, nodeCount: number, series: HeadSeries[]): Promise<ClusterRun> {
  const archive = await createOrthanc();
  await archive.start();
  const site = {
    dataDir: tempDir(`bench-cluster-${nodeCount}`),
    database: await postgres.createDatabase(`bench_${nodeCount}_nodes`),
    archive,
    heartbeatSeconds: 2,
    leaseSeconds: 10,
  };
  const nodes: Node[] = [];
  try {
    for (let n = 0; n < nodeCount; n++) nodes.push(await startClusterNode(site, `bench-${n + 1}`, { receive: { seriesIdleSeconds: 2, completionGraceSeconds: 0 } }));
    const started = performance.now();
    await Promise.all(
      Array.from({ length: MODALITIES }, async (_, m) => {
        for (let k = m; k < series.length; k += MODALITIES) await storescu(nodes[k % nodes.length].dicomPort, 'BRAINSTRIP', series[k].paths);
      }),
    );
    const jobs = await waitFor(
      'every series of the cluster run to finish',
      async () => {
        const { jobs } = await nodes[0].jobs();
        return jobs.length >= series.length && jobs.every((j) => j.state === 'done' || j.state === 'failed') ? jobs : undefined;
      },
      1_800_000,
      1000,
    );
    const seconds = (performance.now() - started) / 1000;
    const objectsInOrthanc = (await archive.get<{ CountInstances: number }>('/statistics')).CountInstances;
    return {
      nodes: nodeCount,
      seconds,
      seriesPerHour: (series.length / seconds) * 3600,
      failed: jobs.filter((j) => j.state !== 'done').length,
      objectsInOrthanc,
      expectedObjects: series.reduce((n, s) => n + s.paths.length + 1, 0),
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await archive.stop();
    fs.rmSync(site.dataDir, { recursive: true, force: true });
  }
}

export async function run({ quick }: BenchOptions = { quick: false }): Promise<BenchResult> {
  const title = 'Cluster throughput: one processing node against two on the same machine';
  const missing = quick ? 'quick mode: a cluster throughput needs several series per node' : missingRequirement();
  if (missing) {
    console.log(`cluster: skipped, ${missing}`);
    return { title, figures: [], ratios: [], skipped: missing };
  }
  const work = tempDir('bench-cluster');
  const postgres = await startPostgres();
  try {
    const series: HeadSeries[] = [];
    for (let k = 0; k < SERIES; k++) series.push(await writeHeadSeries(path.join(work, `series-${k}`)));
    const one = await clusterRun(postgres, 1, series);
    const two = await clusterRun(postgres, 2, series);
    const cores = os.cpus().length;
    for (const r of [one, two]) {
      if (r.failed > 0 || r.objectsInOrthanc !== r.expectedObjects) console.warn(`cluster, ${r.nodes} node(s): ${r.failed} job(s) failed, ${r.objectsInOrthanc} of ${r.expectedObjects} objects in Orthanc`);
    }
    return {
      title,
      figures: [
        figure('throughput, 1 processing node', 'series/h', [one.seriesPerHour], 0),
        figure('throughput, 2 processing nodes', 'series/h', [two.seriesPerHour], 0),
        figure('throughput per core, 1 processing node', 'series/h/core', [one.seriesPerHour / cores], 0),
        figure('throughput per core, 2 processing nodes', 'series/h/core', [two.seriesPerHour / cores], 0),
      ],
      ratios: [ratio('throughput, 2 nodes / 1 node', two.seriesPerHour, one.seriesPerHour, 'one processing node, same series, same run', 'above 1: the second node adds throughput on this machine')],
      tables: [
        {
          title: 'Cluster runs',
          columns: ['processing nodes', 'series', 'modalities', 'seconds', 'series/h', `series/h per core (${cores} cores)`, 'failed jobs', 'objects in Orthanc', 'expected'],
          rows: [one, two].map((r) => [r.nodes, SERIES, MODALITIES, Number(r.seconds.toFixed(1)), Math.round(r.seriesPerHour), Math.round(r.seriesPerHour / cores), r.failed, r.objectsInOrthanc, r.expectedObjects]),
        },
      ],
      notes: [
        `Input: ${SERIES} series of Colin27 (Debian mricron-data) as a 1 mm sagittal 3D T1, 256×256×176, sent by ${MODALITIES} storescu at once, spread over the nodes.`,
        'Each run: a fresh PostgreSQL database, shared data folder and Orthanc; nodes with default settings (every role), all on this machine, so two nodes share its cores.',
        'Time: from the first instance sent to the last job done (a series is complete after 2 s idle: receive.seriesIdleSeconds 2, completionGraceSeconds 0).',
      ],
      extra: { one, two, cores },
    };
  } finally {
    postgres.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
