// `brainstrip cluster import`: a single node's SQLite job state, jobs in several states, moves into a cluster's
// PostgreSQL database with ids and timelines; a second import changes nothing; a database holding other jobs is
// refused; a cluster node started on it lists the imported jobs and finishes the work that was waiting.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { run as clusterCommand } from '../src/cli/cluster.js';
import { type RunningNode, startNode } from '../src/cli/serve.js';
import { NodeControls } from '../src/jobs/controls.js';
import { PostgresJobStore } from '../src/jobs/state/postgres/store.js';
import { PostgresLedger } from '../src/jobs/state/postgres/ledger.js';
import { connect } from '../src/jobs/state/postgres/schema.js';
import { Accounts } from '../src/ops/accounts.js';
import { PostgresAccountRecords } from '../src/ops/accounts-postgres.js';
import { StoredLedger } from '../src/scu/ledger.js';
import { SqliteJobStore } from '../src/jobs/state/sqlite/store.js';
import type { JobState } from '../src/jobs/state/job.js';
import { configureLogging } from '../src/log.js';
import { tempDir } from './derived-fixtures.js';
import { PATH_TO } from './job-stores.js';
import { recordingProcessor } from './job-fixtures.js';
import { type PostgresCluster, postgresMissing, startPostgres } from './postgres-fixture.js';

const missing = postgresMissing('the cluster import test');
const ARCHIVE = { aeTitle: 'ARCHIVE', host: '127.0.0.1', port: 104 };
if (missing) console.warn(`skipping the cluster import test: ${missing}`);

/** A stopped single node's data folder whose job database holds one job in each of `states`. */
async function singleNode(states: JobState[]): Promise<string> {
  const dir = tempDir('single-node');
  const store = new SqliteJobStore(path.join(dir, 'jobs.sqlite'));
  for (const [n, state] of states.entries()) {
    const series = `1.2.826.0.1.3680043.10.99.${n + 1}`;
    const { job } = await store.recordInstance({ studyInstanceUid: '1.2.826.0.1.3680043.10.99', seriesInstanceUid: series, sopInstanceUid: `${series}.1`, bytes: 10, callingAe: 'PACS' });
    for (const step of PATH_TO[state]) await store.transition(job.id, step, step === 'fail' ? { reason: 'the archive refused' } : {});
  }
  await store.restrictDestination('1.2.826.0.1.3680043.10.99.1', 'ARCHIVE@127.0.0.1:104');
  await store.close();
  // What an archive confirmed, a user and the audit log move too; a pause is named, not moved.
  await new StoredLedger(path.join(dir, 'results', 'stored')).recordMany(ARCHIVE, [{ sopInstanceUid: '1.2.826.0.1.3680043.10.99.1.9', status: 0, description: 'Success' }]);
  const accounts = new Accounts(path.join(dir, 'ops.sqlite'));
  await accounts.setUser('alice', 'admin', 'correct horse battery');
  await accounts.audit('alice', 'login', null, 'ok');
  await accounts.close();
  await new NodeControls(path.join(dir, 'paused.json')).set('intake', true, 'alice');
  return dir;
}

/** Runs the command; its exit status and what it printed. */
async function importCommand(configFile: string, from: string, ...extra: string[]) {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void out.push(line));
  try {
    return { status: await clusterCommand(['import', '--config', configFile, '--from', from, ...extra]), output: out.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe.skipIf(missing !== undefined)('brainstrip cluster import', () => {
  let postgres: PostgresCluster;
  let node: RunningNode | undefined;
  beforeAll(async () => {
    postgres = await startPostgres();
    configureLogging({ level: 'error', stream: 'stderr' });
  });
  afterAll(async () => {
    await node?.stop();
    postgres?.stop();
  });

  test("moves a node's jobs with their timelines; again, nothing; a cluster node finishes the waiting work", async () => {
    const states: JobState[] = ['done', 'failed', 'queued', 'processing', 'sending', 'queued'];
    const from = await singleNode(states);
    const database = await postgres.createDatabase('imported');
    const configFile = path.join(tempDir('cluster-config'), 'cluster.json');
    fs.writeFileSync(configFile, JSON.stringify({ dataDir: from, log: { file: '' }, cluster: { database, nodeName: 'importer' } }));

    const first = await importCommand(configFile, from);
    expect(first.output).toContain('moved 6 job(s) (1 done, 1 failed, 2 queued, 1 processing, 1 sending) with');
    expect(first.status).toBe(0);
    const again = await importCommand(configFile, from);
    expect(again).toMatchObject({ status: 0, output: expect.stringContaining('nothing moved') });
    expect(first.output).toContain('added 1 archive confirmation(s), 1 user(s) and 1 audit entr(ies); the node had paused intake');
    expect(again.output).toContain('added 0 archive confirmation(s), 0 user(s) and 0 audit entr(ies)');
    const db = connect(database, 1);
    try {
      expect((await new PostgresLedger(db).confirmed(ARCHIVE, ['1.2.826.0.1.3680043.10.99.1.9'])).size).toBe(1);
      expect(await new Accounts(new PostgresAccountRecords(db)).login('alice', 'correct horse battery')).toBeDefined();
    } finally {
      await db.end();
    }

    const single = new SqliteJobStore(path.join(from, 'jobs.sqlite'));
    const cluster = await PostgresJobStore.open(database);
    try {
      const before = await single.list();
      expect((await cluster.list()).map((j) => [j.id, j.state, j.seriesInstanceUid, j.reason])).toEqual(before.map((j) => [j.id, j.state, j.seriesInstanceUid, j.reason]));
      for (const job of before) expect(await cluster.events(job.id)).toEqual(await single.events(job.id));
      expect(await cluster.destinationOf('1.2.826.0.1.3680043.10.99.1')).toBe('ARCHIVE@127.0.0.1:104');
      expect(await cluster.hasInstance('1.2.826.0.1.3680043.10.99.3', '1.2.826.0.1.3680043.10.99.3.1')).toBe(true);
      // A job the cluster creates is numbered after the imported ones.
      const { job } = await cluster.recordInstance({ studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', sopInstanceUid: '1.2.3.4.5', bytes: 1 });
      expect(job.id).toBe(states.length + 1);
    } finally {
      await single.close();
      await cluster.close();
    }

    // Another node into this database: refused, and with --into-non-empty refused on the ids both have.
    const other = await singleNode(['done']);
    expect(await importCommand(configFile, other)).toMatchObject({ status: 3, output: expect.stringContaining('holds 7 job(s) already') });
    expect(await importCommand(configFile, other, '--into-non-empty')).toMatchObject({ status: 3, output: expect.stringContaining('job id(s) 1 exist') });

    // A node of the cluster finishes what waited: the queued jobs, those cut short in processing and sending, and the
    // series it received itself.
    const { computed, processor } = recordingProcessor();
    const config = loadConfig({ file: configFile, overrides: { http: { port: 0, host: '127.0.0.1' }, receive: { port: 0, seriesIdleSeconds: 1 } } });
    node = await startNode(config, { processor });
    for (let n = 0; n < 150 && (await node.store.countsByState()).done < 6; n++) await new Promise((r) => setTimeout(r, 100));
    expect(computed.sort()).toEqual([3, 4, 5, 6, 7]);
    expect(await node.store.countsByState()).toMatchObject({ done: 6, failed: 1 });
  });
});
