// serve with cluster.database set: the node keeps its job state in PostgreSQL (nothing in jobs.sqlite), says at
// start which node it is and its roles, and a series received by C-STORE becomes a job there that runs to done.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { type RunningNode, startNode } from '../src/cli/serve.js';
import { dataFolder } from '../src/data-folder.js';
import { PostgresJobStore } from '../src/jobs/state/postgres/store.js';
import { configureLogging } from '../src/log.js';
import { writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { tempDir } from './derived-fixtures.js';
import { storescu } from './e2e-fixtures.js';
import { recordingProcessor } from './job-fixtures.js';
import { type PostgresCluster, postgresMissing, startPostgres } from './postgres-fixture.js';
import { toolsMissing } from './tools.js';

const missing = postgresMissing('the cluster-mode serve test') ?? toolsMissing('the cluster-mode serve test', 'storescu');
if (missing) console.warn(`skipping the cluster-mode serve test: ${missing}`);

describe.skipIf(missing !== undefined)('serve with the job state in PostgreSQL', () => {
  let cluster: PostgresCluster;
  let node: RunningNode | undefined;
  const dir = tempDir('serve-cluster');
  const logFile = path.join(dir, 'log.jsonl');
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(async () => {
    await node?.stop();
    cluster?.stop();
  });

  test('a received series is a job in PostgreSQL that runs to done; the start names the node and its roles', async () => {
    const clusterKeys = { database: await cluster.createDatabase('serve'), nodeName: 'node-a' };
    const node1 = { dataDir: path.join(dir, 'data'), log: { file: '' }, http: { port: 0, host: '127.0.0.1' } };
    const config = loadConfig({ overrides: { ...node1, receive: { aeTitle: 'BRAINSTRIP', port: 0, seriesIdleSeconds: 1 }, cluster: clusterKeys } });
    configureLogging({ level: 'info', file: logFile, stream: 'stderr' });
    const { computed, processor } = recordingProcessor();
    node = await startNode(config, { processor });
    expect(node.store).toBeInstanceOf(PostgresJobStore);
    const series = await writeSyntheticSeries(path.join(dir, 'series'), { rows: 8, columns: 8, slices: 4, attributes: { Modality: 'MR', SeriesNumber: 3 } });
    await storescu(node.dicomPort, 'BRAINSTRIP', series.paths);
    let job = await node.store.latestJobOfSeries(series.seriesInstanceUid);
    for (let n = 0; n < 200 && job?.state !== 'done'; n++) {
      await new Promise((r) => setTimeout(r, 100));
      job = await node.store.latestJobOfSeries(series.seriesInstanceUid);
    }
    expect(job).toMatchObject({ state: 'done', instances: 4, callingAe: 'PACS' });
    expect(computed).toEqual([job!.id]);
    expect(fs.existsSync(dataFolder(config).jobsDatabase)).toBe(false);
    const lines = fs.readFileSync(logFile, 'utf8');
    expect(lines).toMatch(/cluster mode: job state in PostgreSQL \(the job database postgresql:\/\/postgres@127\.0\.0\.1:\d+\/serve_?\d*\), node node-a \(receive, process, send\)/);
    expect(lines).not.toMatch(/not implemented yet/);
  });
});
