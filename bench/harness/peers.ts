// The real peers the benchmarks and the end-to-end tests run the node against, all on loopback with ports
// chosen at run time: Orthanc (Debian's) as the archive, `brainstrip serve` (the compiled CLI) with a temporary
// configuration, and DCMTK's storescu as the modality.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root, found from bench/harness/ and from dist/bench/harness/ alike. */
export const repoRoot = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++, dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file) && (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name === 'brainstrip') return dir;
  }
  throw new Error('brainstrip repository root not found above bench/harness');
})();
export const orthancBinary = '/usr/sbin/Orthanc';
export const cliPath = path.join(repoRoot, 'dist/src/cli.js');
export const serveScript = path.join(repoRoot, 'scripts/serve.sh');

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `brainstrip-${prefix}-`));
}

// Ports are drawn below Linux's ephemeral range (32768–60999): a port the kernel handed out with listen(0) is
// back in that pool as soon as it is closed, and a peer started minutes later (the "archive down" case) can find
// it taken by an outgoing connection or another test's listener.
const portRange = { low: 20000, high: 32000 };

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = portRange.low + Math.floor(Math.random() * (portRange.high - portRange.low));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${portRange.low} and ${portRange.high}`);
}

export async function waitForPort(port: number, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** A process that was to start exited instead. */
export class StartFailed extends Error {}

/** Probes until a value comes; an error the probe throws is retried, unless `fatal` says it is final. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250, fatal: (error: unknown) => boolean = () => false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (fatal(error)) throw error;
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

export function stopProcess(child: ChildProcess): Promise<void> {
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
  /** SIGSTOP: connections are still accepted by the kernel, nothing is answered (an archive that hangs). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
}

/** An Orthanc with its own storage; `start()` may be delayed (the "archive down" case) and repeated. */
export async function createOrthanc(options: { dicomPort?: number; aeTitle?: string } = {}): Promise<Orthanc> {
  const dir = tempDir('orthanc');
  const dicomPort = options.dicomPort ?? (await freePort());
  const httpPort = await freePort();
  const config = {
    Name: 'brainstrip-e2e',
    StorageDirectory: path.join(dir, 'storage'),
    IndexDirectory: path.join(dir, 'storage'),
    DicomAet: options.aeTitle ?? 'ARCHIVE',
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
    aeTitle: options.aeTitle ?? 'ARCHIVE',
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
      const logFile = path.join(dir, 'orthanc.log');
      const log = fs.openSync(logFile, 'a');
      const started = spawn(orthancBinary, [configFile], { stdio: ['ignore', log, log] });
      child = started;
      const exited = () => (started.exitCode !== null || started.signalCode !== null);
      try {
        await waitFor(
          'Orthanc REST API',
          async () => {
            if (exited()) throw new Error(`Orthanc exited (${started.exitCode ?? started.signalCode}) while starting`);
            return (await fetch(`${base}/system`)).ok ? true : undefined;
          },
          60000,
        );
        await waitForPort(dicomPort);
      } catch (error) {
        const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
        throw new Error(`${(error as Error).message}\nports: DICOM ${dicomPort}, HTTP ${httpPort}; orthanc.log ends:\n${tail}`);
      } finally {
        fs.closeSync(log);
      }
    },
    async stop() {
      if (child) await stopProcess(child);
      child = undefined;
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
  };
  return orthanc;
}

export interface Node {
  /** Process ID of `brainstrip serve` (its worker threads are in the same process). */
  pid: number;
  dicomPort: number;
  httpPort: number;
  /** The node's data folder (a temporary one unless `extra.dataDir` named one, as the nodes of a cluster share one). */
  dataDir: string;
  /** The node's own folder: its config.json and stdout.log. */
  home: string;
  jobs(): Promise<{ counts: Record<string, number>; jobs: any[] }>;
  stop(): Promise<void>;
  /** kill -9: no chance to clean up, as when the machine dies. */
  kill(): Promise<void>;
  log(): string;
}

/** `brainstrip serve` with a temporary data folder and configuration (merged over test defaults). */
export async function startNode(results: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Node> {
  const home = tempDir('node');
  const dicomPort = await freePort();
  const httpPort = await freePort();
  const config = {
    dataDir: home,
    // In its own folder: the nodes of a cluster share the data folder, not their logs.
    log: { level: 'info', file: path.join(home, 'brainstrip.log') },
    ...extra,
    // `extra` adds to these sections rather than replacing them.
    receive: { aeTitle: 'BRAINSTRIP', port: dicomPort, seriesIdleSeconds: 2, ...(extra.receive as object | undefined) },
    http: { port: httpPort, host: '127.0.0.1' },
    results: { uidRoot: '1.2.826.0.1.3680043.10.1234', ...results },
    // The tests read /api/jobs without logging in; the operations page itself is tested with users.
    ops: { apiWithoutLogin: true, ...(extra.ops as object | undefined) },
    // Forced unless asked for: timing FP32 against INT8 at every start ('auto') would lengthen each test and bench.
    model: { precision: 'INT8', ...(extra.model as object | undefined) },
  };
  const dataDir = String(config.dataDir);
  const configFile = path.join(home, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const out = fs.openSync(path.join(home, 'stdout.log'), 'a');
  // As `npm start` runs it (scripts/serve.sh: the allocator settings the node is measured with); exec keeps the PID.
  const child = spawn('sh', [serveScript, '--config', configFile], { stdio: ['ignore', out, out], cwd: repoRoot });
  const base = `http://127.0.0.1:${httpPort}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  // A loaded machine (three nodes loading their model at once) takes a while; a node that exited will not answer.
  await waitFor(
    'brainstrip /health',
    async () => {
      if (gone()) throw new StartFailed(`brainstrip serve exited (${child.exitCode ?? child.signalCode}): ${fs.readFileSync(path.join(home, 'stdout.log'), 'utf8').slice(-2000)}`);
      return (await fetch(`${base}/health`)).ok ? true : undefined;
    },
    120_000,
    250,
    (error) => error instanceof StartFailed,
  );
  await waitForPort(dicomPort);
  return {
    pid: child.pid!,
    dicomPort,
    httpPort,
    dataDir,
    home,
    async jobs() {
      const res = await fetch(`${base}/api/jobs`);
      return res.json() as Promise<{ counts: Record<string, number>; jobs: any[] }>;
    },
    stop: () => stopProcess(child),
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    log: () => {
      const file = path.resolve(dataDir, (config.log as { file: string }).file);
      return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : fs.readFileSync(path.join(home, 'stdout.log'), 'utf8');
    },
  };
}

/** Peak resident memory of a process so far (VmHWM), MiB; undefined where /proc cannot tell. */
export function peakRssMiB(pid: number): number | undefined {
  try {
    const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
    return line ? Number(line.split(/\s+/)[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** DCMTK storescu: sends files, proposing exactly their SOP classes (-R), like a PACS forwarding a series. */
export async function storescu(port: number, calledAe: string, files: string[], callingAe = 'PACS'): Promise<void> {
  await run('storescu', ['-R', '-aet', callingAe, '-aec', calledAe, '127.0.0.1', String(port), ...files], { maxBuffer: 16 * 1024 * 1024 });
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

