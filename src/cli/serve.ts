// `brainstrip serve`: the DICOM node. Receives into the spool (scp), groups series into durable jobs (jobs),
// computes and sends their results (the SeriesProcessor of jobs/processing) and reports on an HTTP port (ops).
import '../ort-env.js';
import fs from 'node:fs';
import os from 'node:os';
import dcmjsDimse from 'dcmjs-dimse';
import { loadConfig, type BrainstripConfig } from '../../config/schema.js';
import { configFilePath } from '../../config/sources.js';
import { dataFolder } from '../data-folder.js';
import { configureLogging, logger, reopenLogFile } from '../log.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../pipeline/dicom/identity.js';
import { parseCommand } from './args.js';
import { JobRunner } from '../jobs/runner.js';
import { ClusterMembership } from '../jobs/cluster.js';
import type { PostgresJobStore } from '../jobs/state/postgres/store.js';
import type { NodeRole } from '../jobs/state/nodes.js';
import { SqliteJobStore } from '../jobs/state/sqlite/store.js';
import { type JobStore, MAX_LIST_LIMIT } from '../jobs/state/store.js';
import type { SeriesProcessor } from '../jobs/processing/contract.js';
import type { ChosenModel } from '../jobs/processing/model-choice.js';
import { MetricsRegistry } from '../metrics.js';
import { type BuildInfo, startOpsServer } from '../ops/http.js';
import { BRAINSTRIP_VERSION, NODE_VERSION } from '../version.js';
import { Accounts } from '../ops/accounts.js';
import { createWebHandler } from '../ops/web.js';
import { degradedReasons, freeBytes, registerHealthMetrics } from '../ops/node-health.js';
import { DestinationHealth } from '../scu/destination-health.js';
import { destinationKey } from '../scu/ledger.js';
import { openSharedState } from './shared-state.js';
import { reconcileSpool, SeriesCompletion, Spool, spooledSeriesEvidence, startHousekeeping, startScp, startStorageProbe } from '../scp/index.js';
import { startMemoryGovernor } from '../memory.js';

const USAGE = `usage: brainstrip serve [--config site.json]

Starts the DICOM node: the SCP (AE title, port: receive.*), the job queue and the operations HTTP port
(/health, /metrics, /api/jobs). Configuration: defaults < --config file (or BRAINSTRIP_CONFIG) < environment.
Stops cleanly on SIGTERM or SIGINT; jobs interrupted then run again at the next start.`;

export interface RunningNode {
  /** 0 when the node does not receive (a cluster node without the receive role). */
  dicomPort: number;
  httpPort: number;
  store: JobStore;
  spool: Spool;
  /** In cluster mode: this node's membership, and the cluster's nodes. */
  cluster?: ClusterMembership;
  stop(): Promise<void>;
}

/** The SCP's TLS identity (PEM contents) when tls.scpEnabled, else undefined. */
function scpTls(config: BrainstripConfig) {
  if (!config.tls.scpEnabled) return undefined;
  return {
    key: fs.readFileSync(config.tls.privateKey),
    cert: fs.readFileSync(config.tls.certificate),
    ca: config.tls.ca ? fs.readFileSync(config.tls.ca) : undefined,
    requireClientCert: config.tls.requireClientCert,
  };
}

/** Cluster mode: the job state in PostgreSQL, shared with the other nodes on the same dataDir. */
async function openClusterJobStore(config: BrainstripConfig, log: ReturnType<typeof logger>): Promise<PostgresJobStore> {
  const { PostgresJobStore } = await import('../jobs/state/postgres/store.js');
  const { nodeName, roles, leaseSeconds } = config.cluster;
  const store = await PostgresJobStore.open(config.cluster.database, { node: nodeName, leaseSeconds });
  log.info(`cluster mode: job state in PostgreSQL (${store.name}), node ${nodeName} (${roles.join(', ')}), spool and results in the shared dataDir`);
  return store;
}

/** Starts every part of the node; `processor` replaces the configured pipeline (used by tests). */
export async function startNode(
  config: BrainstripConfig,
  options: { processor?: SeriesProcessor & { close(): Promise<void> }; configFile?: string } = {},
): Promise<RunningNode> {
  const log = logger('serve');
  const folder = dataFolder(config);
  fs.mkdirSync(folder.root, { recursive: true });
  // Without the codecs dcmjs-dimse silently drops compressed datasets in its own code paths.
  await dcmjsDimse.Transcoding.initializeAsync();
  // Associations, accepted and requested, carry brainstrip's implementation identity, as the files it writes do.
  dcmjsDimse.Implementation.setImplementationClassUid(IMPLEMENTATION_CLASS_UID);
  dcmjsDimse.Implementation.setImplementationVersion(IMPLEMENTATION_VERSION_NAME);

  const metrics = new MetricsRegistry({ processMetrics: true });
  const stopMemoryGovernor = startMemoryGovernor();
  const clustered = config.cluster.database !== '';
  // A single node does everything; a cluster node what its roles say.
  const does = (role: 'receive' | 'process' | 'send') => !clustered || config.cluster.roles.includes(role);
  const spool = new Spool(folder.spool, undefined, clustered ? config.cluster.nodeName : undefined);
  const { removedPartial } = await spool.init();
  if (removedPartial > 0) log.warn(`removed ${removedPartial} partial instance(s) that were never acknowledged`);
  const clusterStore = clustered ? await openClusterJobStore(config, log) : undefined;
  const store: JobStore = clusterStore ?? new SqliteJobStore(folder.jobsDatabase);

  // The model is resolved once, here: the node does not start on a model or atlas that differs from
  // models/checksums.json, and the processing and the workers are given the model files resolved now (both
  // precisions under model.precision 'auto': the pool times them and runs the faster before it is ready).
  const models = options.processor ? undefined : (await import('../pipeline/segmentation/model-files.js')).modelCandidates(config.model);
  const build: BuildInfo = {
    version: BRAINSTRIP_VERSION,
    model: models ? `${models[0].name} ${models[0].version}` : config.model.name,
    // 'auto' until the pool has timed both (/health is not ready before).
    precision: models?.length === 1 ? models[0].precision : config.model.precision,
    node: NODE_VERSION,
  };
  const onModelChosen = ({ model, choice }: ChosenModel) => {
    build.model = `${model.name} ${model.version}`;
    build.precision = model.precision;
    build.precisionChoice = choice;
  };
  // The ledger, the accounts and the operator pauses (intake, processing, sending), kept across restarts.
  const shared = await openSharedState(config);
  const { ledger, controls } = shared;
  for (const what of ['intake', 'processing', 'sending'] as const) {
    if (controls.isPaused(what)) log.warn(`${what} is paused (by ${controls.get(what).by ?? 'an operator'}); resume it on the operations page`);
  }
  // How each archive answers, from the ledger's last confirmation on; deliveries keep it current.
  const destinationHealth = new DestinationHealth();
  for (const d of config.results.destinations) destinationHealth.declare(destinationKey(d), Date.parse((await ledger.latest(d))?.storedAt ?? '') || undefined);
  const processor =
    options.processor ??
    (await import('../jobs/processing/process-series.js')).createSeriesProcessor(config, { models, warm: does('process'), destinationHealth, ledger, onModelChosen });
  const modelLoaded = () => ('modelLoaded' in processor && typeof processor.modelLoaded === 'function' ? processor.modelLoaded() : true);
  const runner = new JobRunner(
    store,
    processor,
    {
      concurrency: does('process') ? config.jobs.concurrency : 0,
      sendConcurrency: does('send') ? config.results.sendConcurrency : 0,
      workDir: (job) => folder.jobWorkDir(job.id),
      timeoutMs: config.jobs.timeoutMinutes * 60_000,
      controls,
      instancePaths: (job) => spool.seriesInstancePaths(job.studyInstanceUid, job.seriesInstanceUid),
    },
    metrics,
  );
  const cluster =
    clusterStore &&
    new ClusterMembership(clusterStore, {
      roles: config.cluster.roles as NodeRole[],
      version: BRAINSTRIP_VERSION,
      heartbeatMs: config.cluster.heartbeatSeconds * 1000,
      leaseMs: config.cluster.leaseSeconds * 1000,
      maxInterruptions: config.jobs.maxInterruptions,
      hasResults: (job) => runner.hasResults(job),
      onTakeover: () => runner.wake(),
      running: () => runner.runningJobs(),
      abandon: (ids) => {
        for (const id of ids) runner.interrupt(id, { state: 'queued', detail: 'taken over by another node' });
      },
    });
  // Registered before it takes any job; its own jobs of before are recovered below, other nodes' by the heartbeat.
  await cluster?.start();
  const completion = new SeriesCompletion(
    store,
    {
      idleMs: config.receive.seriesIdleSeconds * 1000,
      graceMs: config.receive.completionGraceSeconds * 1000,
      wholeSeries: spooledSeriesEvidence(spool),
      shared: cluster,
    },
    () => runner.wake(),
  );

  // Recovery: the spool knows every acknowledged instance; the store knows the jobs.
  const reconciled = await reconcileSpool(spool, store);
  // A job that was sending resumes sending from its results on disk; without them it is computed again.
  const canSend = new Set<number>();
  for (const job of await store.list({ state: 'sending', limit: MAX_LIST_LIMIT })) if (await runner.hasResults(job)) canSend.add(job.id);
  const { requeued, resending, receiving, poisoned } = await store.recoverAfterRestart(config.jobs.maxInterruptions, (job) => canSend.has(job.id));
  for (const job of poisoned) log.error(`job failed: ${job.reason}`, { jobId: job.id, studyInstanceUid: job.studyInstanceUid, seriesInstanceUid: job.seriesInstanceUid });
  // In a cluster the completion sweep watches every receiving series, whichever node received it.
  if (!cluster) for (const job of receiving) completion.track(job);
  if (requeued.length || resending.length || receiving.length || reconciled.recorded) {
    log.info('recovered after restart', {
      requeued: requeued.length,
      resending: resending.length,
      receiving: receiving.length,
      spooledInstancesRecorded: reconciled.recorded,
    });
  }

  metrics.gauge(
    'brainstrip_build_info',
    'The running brainstrip: version, model, precision (the one running; auto while it is being timed) and Node.js (always 1)',
    () => [[{ version: build.version, model: build.model, precision: build.precision, node: build.node }, 1]],
    ['version', 'model', 'precision', 'node'],
  );
  metrics.gauge('brainstrip_jobs', 'Jobs by state', async () => Object.entries(await store.countsByState()).map(([state, n]) => [{ state }, n]), ['state']);
  metrics.gauge('brainstrip_jobs_running', 'Jobs being processed or sent now', () => runner.active + runner.activeSends);
  metrics.gauge('brainstrip_jobs_sending_active', 'Jobs holding a sending slot now (results.sendConcurrency)', () => runner.activeSends);

  const storageProbe = await startStorageProbe({ spool, store, minFreeBytes: config.receive.minFreeMegabytes * 1048576, log });
  const storage = storageProbe.state;

  const scp = !does('receive') ? undefined : await startScp(
    {
      aeTitle: config.receive.aeTitle,
      port: config.receive.port,
      host: config.receive.host,
      allowedCallers: config.receive.allowedCallers,
      maxAssociations: config.receive.maxAssociations,
      maxPduLength: config.receive.maxPduLength,
      timeoutMs: config.receive.timeoutSeconds * 1000,
      artimMs: config.receive.artimSeconds * 1000,
      maxPendingConnections: config.receive.maxPendingConnections,
      maxErrorFiles: config.receive.errorAreaMaxFiles,
      routing: { ...config.receive.routing, ownUidRoot: config.results.uidRoot },
      tls: scpTls(config),
      intakePaused: () => controls.isPaused('intake'),
      indexRequired: clustered,
    },
    {
      spool,
      store,
      completion,
      metrics,
      spoolProblem: () => storage.spool,
      superseded: (job) => runner.interrupt(job.id, { state: 'failed', reason: job.reason ?? 'superseded by a late instance' }),
    },
  );
  if (does('receive') || does('process')) completion.start();
  runner.start();

  let closing = false;
  const accounts = new Accounts(shared.accounts, config.ops.sessionHours * 3600_000);
  if ((await accounts.users()).length === 0) log.warn('the operations page has no user yet: create the first admin with `brainstrip user add NAME --role admin`');
  const web = createWebHandler({
    config,
    configFile: options.configFile,
    store,
    accounts,
    controls,
    runner,
    instancePaths: (job) => spool.seriesInstancePaths(job.studyInstanceUid, job.seriesInstanceUid),
    spoolRoot: folder.spool,
    dicomPort: () => scp?.port ?? 0,
    destinationHealth,
    ledger,
    cluster,
    build,
  });
  const healthDeps = {
    controls,
    destinations: destinationHealth,
    spoolRoot: folder.spool,
    failingAfterMs: config.ops.destinationFailingSeconds * 1000,
    spoolWarnFreeBytes: config.ops.spoolWarnFreeMegabytes * 1048576,
  };
  const stopHealthMetrics = registerHealthMetrics(metrics, { ...healthDeps, reviewCounts: () => store.reviewCounts() });
  const ops = await startOpsServer(
    { port: config.http.port, host: config.http.host },
    {
      metrics,
      web,
      build,
      readiness: {
        checks: () => ({ dicom: !closing, jobStore: !closing && !storage.jobStore, spool: !closing && !storage.spool, model: !does('process') || modelLoaded() }),
        degraded: () => degradedReasons(healthDeps),
      },
    },
  );

  // Listening on every interface, the page is reached by the host's name.
  await cluster?.advertise(`${config.http.host || os.hostname()}:${ops.port}`);

  const housekeeping = startHousekeeping(config, {
    spool,
    store,
    log,
    folder,
    purgeAudit: (before) => accounts.purgeAudit(before),
    freeBytes: () => freeBytes(folder.spool),
    // In a cluster one node at a time cleans the shared data folder.
    due: cluster && (() => cluster.isHousekeeper()),
  });

  log.info('brainstrip node started', {
    aeTitle: config.receive.aeTitle,
    dicomPort: scp?.port ?? 0,
    httpPort: ops.port,
    dataDir: folder.root,
  });

  return {
    dicomPort: scp?.port ?? 0,
    httpPort: ops.port,
    store,
    spool,
    cluster,
    stop: async () => {
      closing = true;
      housekeeping.stop();
      stopHealthMetrics();
      storageProbe.stop();
      stopMemoryGovernor();
      await scp?.close();
      completion.stop();
      await runner.close();
      await cluster?.stop();
      await processor.close().catch((e: Error) => log.warn(`processor close: ${e.message}`));
      await ops.close();
      await accounts.close();
      await shared.close();
      await store.close();
      log.info('brainstrip node stopped');
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommand('serve', USAGE, argv, {});
  if (typeof parsed === 'number') return parsed;
  if (parsed.positionals.length > 0) {
    console.error(`brainstrip serve: unexpected argument '${parsed.positionals[0]}'\n\n${USAGE}`);
    return 2;
  }
  const file = parsed.values.config;
  const config = loadConfig({ file });
  configureLogging({ level: config.log.level, file: dataFolder(config).logFile });
  const log = logger('serve');
  // Bad input must never take the node down; a stray error is logged with what it concerns and the node goes on.
  process.on('unhandledRejection', (reason) => log.error(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`));
  process.on('uncaughtException', (error) => log.error(`uncaught exception: ${error.stack ?? error.message}`));
  // Node writes its own warnings (deprecations, experimental features) as plain text unless they are listened to.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => log.warn(`${warning.name}: ${warning.message}`));

  const node = await startNode(config, { configFile: configFilePath(file) });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal} received, stopping`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // logrotate moved the file away: write to a new one under the configured name.
    process.on('SIGHUP', () => {
      reopenLogFile();
      log.info('SIGHUP received, log file reopened');
    });
  });
  await node.stop();
  // Stopped cleanly; a handle someone left open (a worker thread, a socket) must not keep the process alive.
  setTimeout(() => process.exit(0), 5000).unref();
  return 0;
}
