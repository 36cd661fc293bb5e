// The log file, when one is configured, is rotated the Unix way: logrotate (or an operator) moves it away and sends
// SIGHUP; the node then writes to a new file under the configured name. No line is lost and every line of both
// files is one JSON object. (In service mode the node logs to the journal, which rotates by itself.)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, vi } from 'vitest';
import { cliPath, freePort, stopProcess, waitFor } from '../bench/harness/peers.js';
import { tempDir } from './derived-fixtures.js';

test('SIGHUP reopens the log file after it was moved away', async () => {
  const dataDir = tempDir('log-reopen');
  const [dicomPort, httpPort] = [await freePort(), await freePort()];
  const configFile = path.join(dataDir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ dataDir, log: { file: 'brainstrip.log' }, receive: { port: dicomPort }, http: { port: httpPort } }));
  const node = spawn(process.execPath, [cliPath, 'serve', '--config', configFile], { stdio: 'ignore' });
  try {
    await waitFor('the node', async () => ((await fetch(`http://127.0.0.1:${httpPort}/health/live`).catch(() => undefined))?.ok ? true : undefined), 60_000);
    const file = path.join(dataDir, 'brainstrip.log');
    await vi.waitFor(() => expect(fs.readFileSync(file, 'utf8')).toContain('brainstrip node started'), { timeout: 10_000 });
    fs.renameSync(file, `${file}.1`);
    node.kill('SIGHUP');
    await vi.waitFor(() => expect(fs.existsSync(file) && fs.readFileSync(file, 'utf8')).toContain('log file reopened'), { timeout: 10_000, interval: 100 });
    for (const name of [file, `${file}.1`]) {
      const lines = fs.readFileSync(name, 'utf8').split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    }
    expect(fs.readFileSync(`${file}.1`, 'utf8')).not.toContain('log file reopened');
    expect(node.exitCode).toBeNull(); // SIGHUP does not stop the node
  } finally {
    await stopProcess(node);
  }
});
