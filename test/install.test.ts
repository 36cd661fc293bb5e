// The production install as an IT administrator runs it: scripts/install.sh into its own folders, the systemd unit
// checked by systemd-analyze, then the unit's own start command run as the service user from the installed layout
// (no TypeScript compiler there), a C-ECHO and a real head series through it to an Orthanc archive, and a clean
// stop on SIGTERM.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, stopProcess, waitForPort } from '../bench/harness/peers.js';
import { hasTool, repoRoot } from './derived-fixtures.js';
import { type Orthanc, createOrthanc, e2eRequirements, storescu, waitFor } from './e2e-fixtures.js';
import { sharedData, sharedDataMissing } from './shared-data.js';

const run = promisify(execFile);
const seriesDir = path.join(sharedData, 'dicom/siemens-t1-patient-positions/HFS/3_t1_fl2d_sag');
const SERVICE_USER = 'brainstrip';

function requirements(): string | undefined {
  if (process.getuid?.() !== 0) return 'the install needs root (it creates a system user)';
  for (const tool of ['systemd-analyze', 'runuser', 'useradd', 'echoscu']) if (!hasTool(tool)) return `${tool} not installed`;
  return e2eRequirements() ?? sharedDataMissing('the install test', seriesDir);
}
const missing = requirements();
if (missing && process.env.CI === 'true') throw new Error(`the install test cannot run under CI: ${missing}`);
if (missing) console.warn(`skipping the install test: ${missing}`);

/** The [Service] settings of a unit file, a key given several times kept in order. */
function serviceSettings(unit: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) section = line;
    else if (section === '[Service]' && line && !line.startsWith('#')) {
      const [key, ...value] = line.split('=');
      settings.set(key, [...(settings.get(key) ?? []), value.join('=')]);
    }
  }
  return settings;
}

describe.skipIf(missing !== undefined)('production install as a systemd service', () => {
  let root: string;
  let orthanc: Orthanc;
  let service: ChildProcess | undefined;
  let output = '';
  const dirs = { prefix: '', config: '', data: '', units: '' };

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-install-'));
    fs.chmodSync(root, 0o755); // the service user must reach the installed folders
    Object.assign(dirs, {
      prefix: path.join(root, 'opt/brainstrip'),
      config: path.join(root, 'etc/brainstrip'),
      data: path.join(root, 'var/lib/brainstrip'),
      units: path.join(root, 'etc/systemd/system'),
    });
    fs.mkdirSync(path.dirname(dirs.prefix), { recursive: true, mode: 0o755 });
    orthanc = await createOrthanc();
    await orthanc.start();
  }, 300_000);

  afterAll(async () => {
    if (service) await stopProcess(service);
    await orthanc?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test('scripts/install.sh installs the built node, its user, configuration and unit, and nothing else', async () => {
    const { stdout } = await run(
      'bash',
      [path.join(repoRoot, 'scripts/install.sh'), '--prefix', dirs.prefix, '--config-dir', dirs.config, '--data-dir', dirs.data, '--unit-dir', dirs.units, '--no-start'],
      { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
    );
    expect(stdout).toMatch(/unit written/);
    expect(fs.existsSync(path.join(dirs.prefix, 'dist/src/cli.js'))).toBe(true);
    expect(fs.existsSync(path.join(dirs.prefix, 'models/checksums.json'))).toBe(true);
    // Production dependencies only: no compiler, no test runner.
    expect(fs.existsSync(path.join(dirs.prefix, 'node_modules/typescript'))).toBe(false);
    expect(fs.existsSync(path.join(dirs.prefix, 'node_modules/vitest'))).toBe(false);
    expect(fs.existsSync(path.join(dirs.prefix, 'node_modules/better-sqlite3'))).toBe(true);
    const { stdout: user } = await run('id', ['-u', SERVICE_USER]);
    expect(Number(user)).toBeGreaterThan(0);
    expect(fs.statSync(dirs.data).uid).toBe(Number(user));
    // The installed command answers its version.
    const { stdout: version } = await run(path.join(dirs.prefix, 'bin/brainstrip'), ['--version']);
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    expect(version.trim()).toMatch(new RegExp(`^brainstrip ${pkg.version.replace(/\./g, '\\.')} \\(Node\\.js \\d+\\.`));
  });

  test('the unit passes systemd-analyze verify and carries the hardening', async () => {
    const unitFile = path.join(dirs.units, 'brainstrip.service');
    const { stderr } = await run('systemd-analyze', ['verify', unitFile]);
    expect(stderr.split('\n').filter((l) => l.includes(unitFile))).toEqual([]);
    const settings = serviceSettings(fs.readFileSync(unitFile, 'utf8'));
    expect(settings.get('User')).toEqual([SERVICE_USER]);
    expect(settings.get('NoNewPrivileges')).toEqual(['yes']);
    expect(settings.get('ProtectSystem')).toEqual(['strict']);
    expect(settings.get('ReadWritePaths')).toEqual([dirs.data]);
    expect(settings.get('PrivateTmp')).toEqual(['yes']);
    expect(settings.get('Restart')).toEqual(['on-failure']);
    expect(settings.get('StandardOutput')).toEqual(['journal']);
    expect(settings.get('ExecStart')![0]).toContain(path.join(dirs.prefix, 'dist/src/cli.js'));
  });

  test("the unit's start command, as the service user, receives a series and delivers the results", async () => {
    const dicomPort = await freePort();
    const httpPort = await freePort();
    // What an administrator edits after the install.
    const configFile = path.join(dirs.config, 'brainstrip.json');
    const installed = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    expect(installed.dataDir).toBe(dirs.data);
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        ...installed,
        receive: { ...installed.receive, port: dicomPort, seriesIdleSeconds: 2 },
        http: { host: '127.0.0.1', port: httpPort },
        results: { uidRoot: '1.2.826.0.1.3680043.10.1234', destinations: [{ aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort }] },
        ops: { apiWithoutLogin: true },
      }),
    );

    const settings = serviceSettings(fs.readFileSync(path.join(dirs.units, 'brainstrip.service'), 'utf8'));
    const environment = Object.fromEntries(
      (settings.get('Environment') ?? []).flatMap((line) => line.split(/\s+/)).filter(Boolean).map((pair) => pair.split('=') as [string, string]),
    );
    const [command, ...args] = settings.get('ExecStart')![0].split(/\s+/);
    const uid = Number((await run('id', ['-u', SERVICE_USER])).stdout);
    const gid = Number((await run('id', ['-g', SERVICE_USER])).stdout);
    service = spawn(command, args, {
      uid,
      gid,
      cwd: settings.get('WorkingDirectory')![0],
      env: { PATH: process.env.PATH, ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    service.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    service.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const base = `http://127.0.0.1:${httpPort}`;
    await waitFor('the installed node /health', async () => ((await fetch(`${base}/health`).catch(() => undefined))?.ok ? true : undefined), 90_000);
    await waitForPort(dicomPort);

    await run('echoscu', ['-aec', 'BRAINSTRIP', '127.0.0.1', String(dicomPort)]);
    const files = fs.readdirSync(seriesDir).map((f) => path.join(seriesDir, f));
    await storescu(dicomPort, 'BRAINSTRIP', files);
    const job = await waitFor(
      'the job to finish',
      async () => {
        const { jobs } = (await (await fetch(`${base}/api/jobs`)).json()) as { jobs: Array<{ state: string; reason: string | null }> };
        return jobs[0] && ['done', 'failed'].includes(jobs[0].state) ? jobs[0] : undefined;
      },
      300_000,
      1000,
    );
    expect(job.state, `${job.reason}\n${output.slice(-3000)}`).toBe('done');
    const series = await orthanc.get<string[]>('/series');
    expect(series).toHaveLength(2); // the skull-stripped series and the SEG

    // What runs, for monitoring: the version in /health and brainstrip_build_info on /metrics.
    const version = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string;
    const health = (await (await fetch(`${base}/health`)).json()) as { build: { version: string; model: string; precision: string } };
    expect(health.build.version).toBe(version);
    expect(health.build.model).toMatch(/^brainstrip-efficient \d+\.\d+\.\d+$/);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^brainstrip_build_info\\{version="${version.replace(/\./g, '\\.')}",model="brainstrip-efficient [0-9.]+",precision="(FP32|INT8)",node="\\d+\\.\\d+\\.\\d+"\\} 1$`, 'm'));

    // Everything the service wrote is in its data folder and belongs to its user; its log is JSON lines on stdout.
    const jsonLines = output.split('\n').filter(Boolean);
    for (const line of jsonLines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(fs.existsSync(path.join(dirs.data, 'logs'))).toBe(false);

    const exited = new Promise<number | null>((resolve) => service!.once('exit', (code) => resolve(code)));
    service.kill('SIGTERM');
    expect(await exited).toBe(0);
    service = undefined;
    expect(output).toMatch(/brainstrip node stopped/);
  });
});
