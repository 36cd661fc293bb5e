// The monitoring that ships in docs/monitoring: the alert rules pass promtool's check and its unit tests (each alert
// fires on the series it is written for), and every brainstrip metric the rules and the Grafana dashboard use is
// one a running node serves on /metrics.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { cliPath, freePort, stopProcess, waitFor } from '../bench/harness/peers.js';
import { hasTool, repoRoot, tempDir } from './derived-fixtures.js';

const run = promisify(execFile);
const dir = path.join(repoRoot, 'docs/monitoring');
const promtool = hasTool('promtool', 'the promtool checks');

test.skipIf(!promtool)('promtool checks the alert rules and runs their unit tests', async () => {
  const check = await run('promtool', ['check', 'rules', path.join(dir, 'brainstrip-alerts.yml')]);
  expect(check.stdout).toMatch(/SUCCESS: \d+ rules found/);
  const tests = await run('promtool', ['test', 'rules', 'brainstrip-alerts.test.yml'], { cwd: dir });
  expect(tests.stdout).toMatch(/SUCCESS/);
  const rules = fs.readFileSync(path.join(dir, 'brainstrip-alerts.yml'), 'utf8');
  for (const alert of ['BrainstripNodeDown', 'BrainstripArchiveFailing', 'BrainstripQueueGrowing', 'BrainstripJobsFailing', 'BrainstripDiskFilling']) {
    expect(rules).toContain(`alert: ${alert}`);
  }
});

test('the rules and the dashboard use only metrics the node serves', async () => {
  const dataDir = tempDir('monitoring');
  const [dicomPort, httpPort, archivePort] = [await freePort(), await freePort(), await freePort()];
  const configFile = path.join(dataDir, 'config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      dataDir,
      log: { file: '' },
      receive: { port: dicomPort },
      http: { port: httpPort },
      results: { destinations: [{ aeTitle: 'ARCHIVE', host: '127.0.0.1', port: archivePort }] },
    }),
  );
  const node = spawn(process.execPath, [cliPath, 'serve', '--config', configFile], { stdio: 'ignore' });
  let served: Set<string>;
  try {
    const text = await waitFor('/metrics', async () => {
      const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`).catch(() => undefined);
      return response?.ok ? response.text() : undefined;
    }, 60_000);
    served = new Set(
      text
        .split('\n')
        .filter((l) => l.startsWith('# TYPE '))
        .flatMap((l) => {
          const [, , name, type] = l.split(' ');
          return type === 'histogram' ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
        }),
    );
  } finally {
    await stopProcess(node);
  }
  const used = (text: string) => new Set([...text.matchAll(/\b((?:brainstrip|process)_[a-z_]+)\b/g)].map((m) => m[1]));
  const rules = used(fs.readFileSync(path.join(dir, 'brainstrip-alerts.yml'), 'utf8'));
  const dashboard = JSON.parse(fs.readFileSync(path.join(dir, 'brainstrip-dashboard.json'), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
  const panels = used(dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n'));
  expect(rules.size).toBeGreaterThan(4);
  expect(panels.size).toBeGreaterThan(10);
  for (const name of [...rules, ...panels]) expect(served.has(name), `${name} is not on /metrics`).toBe(true);
});
