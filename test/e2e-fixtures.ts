// The end-to-end set-up: Orthanc (Debian's) as the archive, and `brainstrip serve` (the compiled CLI) with a
// temporary configuration, both on loopback with ports chosen at run time.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { hasTool, repoRoot, tempDir } from './derived-fixtures.js';
import { freePort, waitForPort } from './scu-fixtures.js';

const run = promisify(execFile);
export const orthancBinary = '/usr/sbin/Orthanc';
export const cliPath = path.join(repoRoot, 'dist/src/cli.js');

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}
export { waitFor };

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 15000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface Orthanc {
  aeTitle: string;
  dicomPort: number;
  httpPort: number;
  get<T = any>(route: string): Promise<T>;
  getBytes(route: string): Promise<Buffer>;
  post<T = any>(route: string, body: string): Promise<T>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** An Orthanc with its own storage; `start()` may be delayed (the "archive down" case) and repeated. */
export async function createOrthanc(options: { dicomPort?: number } = {}): Promise<Orthanc> {
  const dir = tempDir('orthanc');
  const dicomPort = options.dicomPort ?? (await freePort());
  const httpPort = await freePort();
  const config = {
    Name: 'brainstrip-e2e',
    StorageDirectory: path.join(dir, 'storage'),
    IndexDirectory: path.join(dir, 'storage'),
    DicomAet: 'ARCHIVE',
    DicomPort: dicomPort,
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    DicomCheckCalledAet: true,
    DicomAlwaysAllowStore: true,
    DicomAlwaysAllowEcho: true,
    Plugins: [],
    StableAge: 1,
    // An instance sent again with the same SOP Instance UID is kept once (Orthanc's default, stated here).
    OverwriteInstances: false,
  };
  const configFile = path.join(dir, 'orthanc.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  let child: ChildProcess | undefined;
  const base = `http://127.0.0.1:${httpPort}`;
  const orthanc: Orthanc = {
    aeTitle: 'ARCHIVE',
    dicomPort,
    httpPort,
    async get(route) {
      const res = await fetch(`${base}${route}`);
      if (!res.ok) throw new Error(`Orthanc ${route}: HTTP ${res.status}`);
      return res.json();
    },
    async post(route, body) {
      const res = await fetch(`${base}${route}`, { method: 'POST', body });
      if (!res.ok) throw new Error(`Orthanc ${route}: HTTP ${res.status}`);
      return res.json();
    },
    async getBytes(route) {
      const res = await fetch(`${base}${route}`);
      if (!res.ok) throw new Error(`Orthanc ${route}: HTTP ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    },
    async start() {
      const log = fs.openSync(path.join(dir, 'orthanc.log'), 'a');
      child = spawn(orthancBinary, [configFile], { stdio: ['ignore', log, log] });
      await waitFor('Orthanc REST API', async () => ((await fetch(`${base}/system`)).ok ? true : undefined), 30000);
      await waitForPort(dicomPort);
    },
    async stop() {
      if (child) await stopProcess(child);
      child = undefined;
    },
  };
  return orthanc;
}

export interface Node {
  dicomPort: number;
  httpPort: number;
  dataDir: string;
  jobs(): Promise<{ counts: Record<string, number>; jobs: any[] }>;
  stop(): Promise<void>;
  log(): string;
}

/** `brainstrip serve` with a temporary data folder and configuration (merged over test defaults). */
export async function startNode(results: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Node> {
  const dataDir = tempDir('node');
  const dicomPort = await freePort();
  const httpPort = await freePort();
  const config = {
    dataDir,
    log: { level: 'info', file: 'brainstrip.log' },
    receive: { aeTitle: 'BRAINSTRIP', port: dicomPort, seriesIdleSeconds: 2 },
    http: { port: httpPort, host: '127.0.0.1' },
    results: { uidRoot: '1.2.826.0.1.3680043.10.1234', ...results },
    // The tests read /api/jobs without logging in; the operations page itself is tested with users.
    ops: { apiWithoutLogin: true },
    ...extra,
  };
  const configFile = path.join(dataDir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const out = fs.openSync(path.join(dataDir, 'stdout.log'), 'a');
  const child = spawn(process.execPath, [cliPath, 'serve', '--config', configFile], { stdio: ['ignore', out, out], cwd: repoRoot });
  const base = `http://127.0.0.1:${httpPort}`;
  await waitFor('brainstrip /health', async () => ((await fetch(`${base}/health`)).ok ? true : undefined), 60000);
  await waitForPort(dicomPort);
  return {
    dicomPort,
    httpPort,
    dataDir,
    async jobs() {
      const res = await fetch(`${base}/api/jobs`);
      return res.json() as Promise<{ counts: Record<string, number>; jobs: any[] }>;
    },
    stop: () => stopProcess(child),
    log: () => {
      const file = path.join(dataDir, 'brainstrip.log');
      return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : fs.readFileSync(path.join(dataDir, 'stdout.log'), 'utf8');
    },
  };
}

/** DCMTK storescu: sends files, proposing exactly their SOP classes (-R), like a PACS forwarding a series. */
export async function storescu(port: number, calledAe: string, files: string[]): Promise<void> {
  await run('storescu', ['-R', '-aet', 'PACS', '-aec', calledAe, '127.0.0.1', String(port), ...files], { maxBuffer: 16 * 1024 * 1024 });
}

/** Waits until the series' latest job is done or failed (a series sent again gets a new job). */
export async function waitForJob(node: Node, seriesInstanceUid: string, afterJobId = 0, timeoutMs = 900_000) {
  return waitFor(
    `the job of series ${seriesInstanceUid} to finish`,
    async () => {
      const { jobs } = await node.jobs();
      const job = jobs.filter((j) => j.seriesInstanceUid === seriesInstanceUid && j.id > afterJobId).sort((a, b) => b.id - a.id)[0];
      return job && (job.state === 'done' || job.state === 'failed') ? job : undefined;
    },
    timeoutMs,
    1000,
  );
}

export function e2eRequirements(): string | undefined {
  if (!fs.existsSync(orthancBinary)) return `${orthancBinary} not installed (Debian package orthanc)`;
  if (!hasTool('storescu')) return 'DCMTK storescu not installed';
  if (!fs.existsSync(cliPath)) return `${cliPath} not built (run npm run build, or npm test)`;
  const models = path.join(repoRoot, 'models');
  if (!fs.existsSync(path.join(models, 'checksums.json')) || !fs.readdirSync(models).some((f) => f.endsWith('.onnx'))) {
    return 'no ONNX model in models/ (checksums.json and a .onnx file)';
  }
  return undefined;
}
