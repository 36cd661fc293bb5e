// Two node processes' worth of serve on one PostgreSQL and one data folder, with roles: the node that receives opens
// the DICOM port and computes nothing, the node that processes and sends opens none; a series received by the first
// is computed and sent by the second, and its timeline names who did what.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { type RunningNode, startNode } from '../src/cli/serve.js';
import { configureLogging } from '../src/log.js';
import { writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { tempDir } from './derived-fixtures.js';
import { storescu } from './e2e-fixtures.js';
import { type PostgresCluster, postgresMissing, startPostgres } from './postgres-fixture.js';
import { toolsMissing } from './tools.js';

const missing = postgresMissing('the cluster roles test') ?? toolsMissing('the cluster roles test', 'storescu');
if (missing) console.warn(`skipping the cluster roles test: ${missing}`);

describe.skipIf(missing !== undefined)('cluster nodes with roles', () => {
  let cluster: PostgresCluster;
  const nodes: RunningNode[] = [];
  const dir = tempDir('serve-roles');
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    cluster?.stop();
  });

  test('a receiving node and a processing node act as one service', async () => {
    configureLogging({ level: 'error', stream: 'stderr' });
    const database = await cluster.createDatabase('roles');
    const work: Array<[string, string, number]> = [];
    const start = async (nodeName: string, roles: string[]) => {
      const config = loadConfig({
        overrides: {
          dataDir: path.join(dir, 'shared'),
          log: { file: '' },
          http: { port: 0, host: '127.0.0.1' },
          receive: { aeTitle: 'BRAINSTRIP', port: 0, seriesIdleSeconds: 1 },
          cluster: { database, nodeName, roles, heartbeatSeconds: 0.2, leaseSeconds: 1 },
        },
      });
      const processor = {
        async compute(ctx: { job: { id: number } }) {
          work.push([nodeName, 'compute', ctx.job.id]);
        },
        async send(ctx: { job: { id: number } }) {
          work.push([nodeName, 'send', ctx.job.id]);
        },
        hasResults: () => true,
        async close() {},
      };
      const node = await startNode(config, { processor });
      nodes.push(node);
      return node;
    };
    const receiver = await start('r', ['receive']);
    const worker = await start('p', ['process', 'send']);
    expect(receiver.dicomPort).toBeGreaterThan(0);
    expect(worker.dicomPort).toBe(0);
    const series = await writeSyntheticSeries(path.join(dir, 'series'), { rows: 8, columns: 8, slices: 3, attributes: { Modality: 'MR', SeriesNumber: 2 } });
    await storescu(receiver.dicomPort, 'BRAINSTRIP', series.paths);
    let job = await worker.store.latestJobOfSeries(series.seriesInstanceUid);
    for (let n = 0; n < 150 && job?.state !== 'done'; n++) {
      await new Promise((r) => setTimeout(r, 100));
      job = await worker.store.latestJobOfSeries(series.seriesInstanceUid);
    }
    expect(job).toMatchObject({ state: 'done', instances: 3, owner: null });
    expect(work).toEqual([
      ['p', 'compute', job!.id],
      ['p', 'send', job!.id],
    ]);
    const events = await receiver.store.events(job!.id);
    expect(events[0]).toMatchObject({ state: 'receiving', node: 'r' });
    expect(events.filter((e) => e.state === 'processing' || e.state === 'done').map((e) => e.node)).toEqual(['p', 'p']);
    expect((await receiver.cluster!.nodes()).map((n) => [n.name, n.roles, n.alive, n.jobsInHand, n.opsAddress])).toEqual([
      ['p', ['process', 'send'], true, 0, `127.0.0.1:${worker.httpPort}`],
      ['r', ['receive'], true, 0, `127.0.0.1:${receiver.httpPort}`],
    ]);
  });
});
