// Test helper: runs `brainstrip serve` (compiled dist/) as a child process with its own data folder and free
// ports, the way an administrator runs it, and drives it with DCMTK tools.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedData, sharedDataPresent } from '../shared-data.js';
import { hasTool } from '../tools.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const dataRoot = sharedData;
export const cli = path.join(repoRoot, 'dist/src/cli.js');
export const haveData = sharedDataPresent('the receive tests that need real DICOM', path.join(dataRoot, 'dicom'));
export const haveDist = fs.existsSync(cli);
export const haveDcmtk = hasTool('storescu', 'the receive tests that send with DCMTK');
export const classicSeries = path.join(dataRoot, 'dicom/siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');
export const enhancedSeries = path.join(dataRoot, 'dicom/siemens-xa30-t1-enhanced/5_anat-T1w_acq-tfl');
export const transferSyntaxes = path.join(dataRoot, 'dicom/transfer-syntaxes');

if (!haveDist) console.warn(`skipping receive tests that run the node: ${cli} is absent (run npm run build)`);

export interface NodeUnderTest {
  dataDir: string;
  dicomPort: number;
  httpPort: number;
  child: ChildProcess;
  /** stdout and stderr as they came, interleaved. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Stops with SIGTERM and waits for the exit. */
  stop(): Promise<void>;
  /** kill -9, no chance to clean up. */
  kill(): Promise<void>;
  jobs(): Promise<Array<Record<string, any>>>;
  get(pathname: string): Promise<Response>;
}

export function makeDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-receive-'));
}

/** Starts the node; `config` is merged over a test base (free ports, short idle time, data under `dataDir`). */
export async function startNode(dataDir: string, config: Record<string, any> = {}): Promise<NodeUnderTest> {
  const base = {
    dataDir,
    log: { level: 'debug', file: 'logs/brainstrip.log' },
    receive: { port: 0, seriesIdleSeconds: 1, ...(config.receive ?? {}) },
    http: { port: 0, host: '127.0.0.1', ...(config.http ?? {}) },
    // Receiving is under test: series are queued but not processed unless a test asks for it.
    jobs: { concurrency: 0, ...(config.jobs ?? {}) },
    results: { destinations: [{ aeTitle: 'NOWHERE', host: '127.0.0.1', port: 9 }], ...(config.results ?? {}) },
    // These tests read /api/jobs without logging in.
    ops: { apiWithoutLogin: true, ...(config.ops ?? {}) },
    // Forced: timing FP32 against INT8 at every start ('auto') would lengthen each test; health.test.ts covers it.
    model: { precision: 'INT8', ...(config.model ?? {}) },
  };
  const file = path.join(dataDir, `config-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify({ ...config, ...base }));
  const child = spawn(process.execPath, [cli, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    output += d;
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
    stderr += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = await new Promise<{ dicomPort: number; httpPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start:\n${output}`)), 60_000);
    const look = () => {
      const m = /"message":"brainstrip node started"/.test(output) && /"dicomPort":(\d+),"httpPort":(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve({ dicomPort: Number(m[1]), httpPort: Number(m[2]) });
      }
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node exited with ${code}:\n${output}`));
    });
  });
  const get = (pathname: string) => fetch(`http://127.0.0.1:${started.httpPort}${pathname}`);
  // The node is not ready before its workers have loaded the model; tests start from a node that is.
  for (const deadline = Date.now() + 90_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const health = (await get('/health').then((r) => r.json(), () => undefined)) as { checks?: { model?: boolean } } | undefined;
    if (health?.checks?.model !== false) break;
  }
  return {
    dataDir,
    ...started,
    child,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    get,
    jobs: async () => ((await (await get('/api/jobs')).json()) as { jobs: Array<Record<string, any>> }).jobs,
  };
}

export interface ToolResult {
  status: number | null;
  output: string;
}

/** Runs a DCMTK tool to completion (asynchronously, so that the node in the same test keeps running). */
export function runTool(command: string, args: string[]): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (status) => resolve({ status, output }));
  });
}

export function storescu(node: { dicomPort: number }, files: string[], extra: string[] = [], calledAe = 'BRAINSTRIP'): Promise<ToolResult> {
  return runTool('storescu', ['-aec', calledAe, ...extra, '127.0.0.1', String(node.dicomPort), ...files]);
}

export function seriesFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .sort()
    .map((n) => path.join(dir, n));
}

/** Every file under the node's spool series folders. */
export function spooledFiles(dataDir: string): string[] {
  const root = path.join(dataDir, 'spool/series');
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? (e as any).path, e.name));
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
