// The configuration cannot be wrong silently: each bad value is refused with a message naming the key, the value,
// what is allowed and where the value came from (file or environment variable); `brainstrip config check` says so
// without opening a port, and `brainstrip serve` refuses to start with the same message.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORMAT_NAMES } from '../config/formats.js';
import { checkConfig, ConfigError, loadConfig } from '../config/schema.js';
import { schemaLeaves } from '../config/sources.js';
import { cli, haveDist } from './scp/node-process.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-config-'));
let files = 0;
function configFile(content: unknown): string {
  const file = path.join(dir, `site-${++files}.json`);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

/** The messages a configuration is refused with ('valid' when it is not refused). */
function problems(content: unknown, env: NodeJS.ProcessEnv = {}): { file: string; messages: string[] } {
  const file = configFile(content);
  try {
    checkConfig({ file, env });
    return { file, messages: ['valid'] };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { file, messages: error.problems };
  }
}

const AE_RULE = 'must be a DICOM AE title: 1–16 characters (letters, digits, spaces and ASCII punctuation except backslash; not all spaces)';
const PORT_RULE = 'must be a TCP port number 0–65535 (0: any free port)';

/** [what is wrong, file content, environment, expected message with FILE standing for the file's path; a final * matches any end]. */
const BAD: Array<[string, unknown, NodeJS.ProcessEnv, string]> = [
  ['text for a number', { receive: { seriesIdleSeconds: 'thirty' } }, {}, 'receive.seriesIdleSeconds = "thirty" (file FILE): must be a duration > 0 (a number, in the unit the key names)'],
  ['a number with trailing text', { http: { port: '8080x' } }, {}, `http.port = "8080x" (file FILE): ${PORT_RULE}`],
  ['a negative port', { receive: { port: -1 } }, {}, `receive.port = -1 (file FILE): ${PORT_RULE}`],
  ['port 70000', { receive: { port: 70000 } }, {}, `receive.port = 70000 (file FILE): ${PORT_RULE}`],
  ['an AE title of 17 characters', { receive: { aeTitle: 'BRAINSTRIP_NODE_1' } }, {}, `receive.aeTitle = "BRAINSTRIP_NODE_1" (file FILE): ${AE_RULE}`],
  ['an AE title with a backslash', { results: { callingAeTitle: 'BRAIN\\STRIP' } }, {}, `results.callingAeTitle = "BRAIN\\\\STRIP" (file FILE): ${AE_RULE}`],
  ['an empty AE title', { receive: { aeTitle: '' } }, {}, `receive.aeTitle = "" (file FILE): ${AE_RULE}`],
  ['an AE title of spaces only', { ops: { selfTestCallingAe: '    ' } }, {}, `ops.selfTestCallingAe = "    " (file FILE): ${AE_RULE}`],
  ['an AE title with a control character', { receive: { aeTitle: 'BRAIN\tSTRIP' } }, {}, `receive.aeTitle = "BRAIN\\tSTRIP" (file FILE): ${AE_RULE}`],
  [
    'an allowed caller with a bad IP address',
    { receive: { allowedCallers: ['PACS@10.1.2.300'] } },
    {},
    'receive.allowedCallers = ["PACS@10.1.2.300"] (file FILE): entry "PACS@10.1.2.300": after @ must come the IP address the sender connects from (IPv4 or IPv6)',
  ],
  [
    'a bad regular expression in a routing rule',
    { receive: { routing: { exclude: [{ seriesDescription: 'dwi(' }] } } },
    {},
    'receive.routing.exclude = [{"seriesDescription":"dwi("}] (file FILE): rule seriesDescription must be a regular expression: Invalid regular expression: /dwi(/i: Unterminated group',
  ],
  [
    'an unknown field in a routing rule',
    { receive: { routing: { include: [{ modality: 'MR', bodyPart: 'HEAD' }] } } },
    {},
    'receive.routing.include = [{"modality":"MR","bodyPart":"HEAD"}] (file FILE): must be a list of rules {modality?, seriesDescription? (regular expression), callingAe?, destinations? (AE titles, or "@caller")}; a rule has no field \'bodyPart\'',
  ],
  [
    'an unknown key',
    { receive: { seriesIdleSecs: 10 } },
    {},
    'receive.seriesIdleSecs = 10 (file FILE): not a configuration key; receive has aeTitle, port, host, allowedCallers, maxAssociations, maxPduLength, timeoutSeconds, artimSeconds, maxPendingConnections, minFreeMegabytes, errorAreaMaxFiles, spoolDir, seriesIdleSeconds, completionGraceSeconds, unroutedRetentionHours, routing',
  ],
  [
    'an unknown section',
    { recieve: { port: 11112 } },
    {},
    'recieve = {"port":11112} (file FILE): not a configuration key; the top level has dataDir, log, receive, http, jobs, pipeline, model, pool, registration, results, tls, ops, retention, cluster',
  ],
  ['an object for a list', { receive: { allowedCallers: { PACS: '10.1.2.3' } } }, {}, 'receive.allowedCallers = {"PACS":"10.1.2.3"} (file FILE): must be a list, not an object'],
  ['an unknown node role', {}, { BRAINSTRIP_CLUSTER_ROLES: 'receive,compute' }, 'cluster.roles = ["receive","compute"] (environment variable BRAINSTRIP_CLUSTER_ROLES): must be a non-empty list of receive, process, send (each at most once)'],
  ['a lease shorter than two heartbeats', { cluster: { heartbeatSeconds: 10, leaseSeconds: 15 } }, {}, 'cluster.leaseSeconds = 15 (file FILE): must be at least twice cluster.heartbeatSeconds'],
  ['a number for a list', { receive: { routing: { excludeImageTypes: 5 } } }, {}, 'receive.routing.excludeImageTypes = 5 (file FILE): must be a list of non-empty texts'],
  [
    'a number for a section',
    { jobs: 2 },
    {},
    'jobs = 2 (file FILE): must be an object with the keys database, concurrency, timeoutMinutes, parseTimeoutSeconds, parseMemoryMb, maxInterruptions, keepFinishedDays',
  ],
  ['an invalid host', { http: { host: 'ops host' } }, {}, 'http.host = "ops host" (file FILE): must be an IP address or a host name (letters, digits, hyphens and dots)'],
  [
    'a bind address that is no IP address',
    { receive: { host: '10.0.0.256' } },
    {},
    'receive.host = "10.0.0.256" (file FILE): must be empty (every interface), or an IP address or a host name (letters, digits, hyphens and dots) of this machine',
  ],
  [
    'a destination with an invalid host',
    { results: { destinations: [{ aeTitle: 'ARCHIVE', host: 'pacs_1', port: 104 }] } },
    {},
    'results.destinations = [{"aeTitle":"ARCHIVE","host":"pacs_1","port":104}] (file FILE): must be a list of {aeTitle, host, port, tls?, holdFlagged?}; destination ARCHIVE: host "pacs_1" must be an IP address or a host name (letters, digits, hyphens and dots)',
  ],
  [
    'a PDU length above what can be announced',
    { receive: { maxPduLength: 1048576 } },
    {},
    'receive.maxPduLength = 1048576 (file FILE): must be a PDU length in bytes, 4096–262144 (the most dcmjs-dimse announces)',
  ],
  ['a negative duration', { jobs: { timeoutMinutes: -5 } }, {}, 'jobs.timeoutMinutes = -5 (file FILE): must be a duration ≥ 0 (a number, in the unit the key names)'],
  ['a zero idle time', { receive: { seriesIdleSeconds: 0 } }, {}, 'receive.seriesIdleSeconds = 0 (file FILE): must be a duration > 0 (a number, in the unit the key names)'],
  [
    'a completion grace longer than 2 s',
    { receive: { completionGraceSeconds: 5 } },
    {},
    'receive.completionGraceSeconds = 5 (file FILE): must be a number of seconds from 0 to 2 (0: only the idle time completes a series)',
  ],
  ['text for a boolean', { model: { verifyChecksums: 'no' } }, {}, 'model.verifyChecksums = "no" (file FILE): must be true or false'],
  ['a value outside an enumeration', { model: { precision: 'fp16' } }, {}, 'model.precision = "fp16" (file FILE): must be one of the possible values: ["auto","FP32","INT8"]'],
  ['a Dice above 1', { model: { reviewDice: 1.2 } }, {}, 'model.reviewDice = 1.2 (file FILE): must be a number from 0 to 1'],
  [
    'a UID root with a leading zero',
    { results: { uidRoot: '1.2.03' } },
    {},
    'results.uidRoot = "1.2.03" (file FILE): must be a DICOM UID prefix such as 2.25 or your organisation root (no leading zeros), at most 40 characters',
  ],
  // The reason after "not valid JSON:" is V8's own wording, which differs between Node versions.
  ['a JSON syntax error', '{\n  "receive": {\n    aeTitle: "NODE1"\n  }\n}\n', {}, 'file FILE, line 3, column 5: not valid JSON: *'],
  ['a bad JSON literal', '{\n  "model": { "verifyChecksums": tru }\n}\n', {}, 'file FILE, line 2, column 36: not valid JSON: *'],
  ['a file that is not an object', '[1, 2]', {}, 'file FILE: must hold a JSON object such as {"receive": {"aeTitle": "BRAINSTRIP"}}, not [1,2]'],
  [
    'an environment variable with a bad value',
    { receive: { port: 11112 } },
    { BRAINSTRIP_DICOM_PORT: 'eleven' },
    `receive.port = "eleven" (environment variable BRAINSTRIP_DICOM_PORT): ${PORT_RULE}`,
  ],
  [
    'an environment list with a bad entry',
    {},
    { BRAINSTRIP_REGISTRATION_LEVELS_MM: '6,3,x' },
    'registration.levelsMm = [6,3,"x"] (environment variable BRAINSTRIP_REGISTRATION_LEVELS_MM): must be a list of numbers > 0',
  ],
  ['TLS enabled without certificate', { tls: { scpEnabled: true } }, {}, 'tls.certificate = "" (default): must be set when tls.scpEnabled is true (the SCP presents it to senders)'],
  [
    'a TLS certificate that does not exist',
    { tls: { certificate: '/nonexistent/node.pem', privateKey: '/nonexistent/node.key' } },
    {},
    'tls.certificate = "/nonexistent/node.pem" (file FILE): must be a readable PEM file (ENOENT)',
  ],
  [
    'registration samples not matching the levels',
    { registration: { levelsMm: [6, 3], samples: [4000, 12000, 30000] } },
    {},
    'registration.samples = [4000,12000,30000] (file FILE): must give one count per level of registration.levelsMm (2)',
  ],
];

describe('a configuration that is not valid is refused with a message that says what, where and what is allowed', () => {
  for (const [what, content, env, expected] of BAD) {
    it(what, () => {
      const { file, messages } = problems(content, env);
      const message = expected.replaceAll('FILE', file);
      if (message.endsWith('*')) expect(messages.some((m) => m.startsWith(message.slice(0, -1))), messages.join('\n')).toBe(true);
      else expect(messages).toContain(message);
    });
  }

  it('masks the PostgreSQL URL of cluster mode, which carries the password, and refuses one that is not a PostgreSQL URL', () => {
    const { messages } = problems({ cluster: { database: 'mysql://brainstrip:s3cret-pw@db:3306/jobs' } });
    expect(messages.join('\n')).toContain('cluster.database = •••••••• (file ');
    expect(messages.join('\n')).toContain('must be empty, or a PostgreSQL URL with a database');
    expect(messages.join('\n')).not.toContain('s3cret-pw');
    expect(problems({ cluster: { database: 'postgresql://brainstrip:s3cret-pw@db:5432/jobs', nodeName: 'node-2' } }).messages).toEqual(['valid']);
    expect(problems({ cluster: { nodeName: 'two words' } }).messages.join('\n')).toContain('cluster.nodeName = "two words"');
  });

  it('masks a secret in the message', () => {
    const { messages } = problems({ tls: { certificate: '', privateKey: '/secret/place/node.key' } });
    expect(messages.join('\n')).toContain('tls.privateKey = •••••••• (file ');
    expect(messages.join('\n')).not.toContain('/secret/place');
  });

  it('lists every problem at once', () => {
    expect(problems({ receive: { port: 70000, aeTitle: '' }, jobs: { concurrency: -1 } }).messages).toHaveLength(3);
  });
});

describe('what a valid configuration becomes', () => {
  it('reads numbers, lists and switches from the environment only when the whole text is one', () => {
    const env = { BRAINSTRIP_SERIES_IDLE_S: ' 12.5 ', BRAINSTRIP_ALLOWED_CALLERS: 'PACS, MODALITY@10.1.2.3', BRAINSTRIP_MODEL_VERIFY: 'FALSE' };
    const config = loadConfig({ file: '', env });
    expect(config.receive.seriesIdleSeconds).toBe(12.5);
    expect(config.receive.allowedCallers).toEqual(['PACS', 'MODALITY@10.1.2.3']);
    expect(config.model.verifyChecksums).toBe(false);
  });

  it('drops the spaces around an AE title, which are not significant', () => {
    expect(loadConfig({ file: configFile({ receive: { aeTitle: '  NODE1 ' } }), env: {} }).receive.aeTitle).toBe('NODE1');
  });

  it('listens on every interface unless receive.host is set', () => {
    expect(loadConfig({ file: '', env: {} }).receive.host).toBe('');
    expect(loadConfig({ file: '', env: { BRAINSTRIP_DICOM_HOST: '::1' } }).receive.host).toBe('::1');
  });

  it('gives every key a format of config/formats.ts or an enumeration, so that none is untyped', () => {
    for (const [key, leaf] of schemaLeaves()) {
      const typed = Array.isArray(leaf.format) || (FORMAT_NAMES as readonly unknown[]).includes(leaf.format);
      expect(typed, `${key}: format ${String(leaf.format)}`).toBe(true);
    }
  });

  it('keeps every default valid', () => {
    expect(() => loadConfig({ file: '', env: {} })).not.toThrow();
  });
});

/** A TCP port in use by another listener for the duration of `body`. */
async function withOccupiedPort<T>(body: (port: number) => Promise<T>): Promise<T> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await body((server.address() as net.AddressInfo).port);
  } finally {
    server.close();
  }
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe.skipIf(!haveDist)('brainstrip config check', () => {
  it('validates without opening a port, and prints each value with its source, secrets masked', async () => {
    const key = path.join(dir, 'node.key');
    const cert = path.join(dir, 'node.pem');
    fs.writeFileSync(key, '');
    fs.writeFileSync(cert, '');
    await withOccupiedPort(async (port) => {
      const file = configFile({ dataDir: path.join(dir, 'data'), receive: { port, aeTitle: 'NODE1' }, tls: { certificate: cert, privateKey: key } });
      const run = await runCli(['config', 'check', '--config', file], {
        BRAINSTRIP_HTTP_PORT: String(port),
        BRAINSTRIP_CLUSTER_DATABASE: 'postgresql://brainstrip:cluster-pw@db.example:5432/brainstrip',
      });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout).toContain(`the configuration is valid (file ${file})`);
      expect(run.stdout).toMatch(new RegExp(`receive\\.port +${port} +file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
      expect(run.stdout).toMatch(new RegExp(`http\\.port +${port} +environment variable BRAINSTRIP_HTTP_PORT\\n`));
      expect(run.stdout).toMatch(/receive\.seriesIdleSeconds +30 +default\n/);
      // The precision is chosen by measurement unless forced.
      expect(run.stdout).toMatch(/model\.precision +"auto" +default\n/);
      expect(run.stdout).toMatch(/tls\.privateKey +•••••••• +file /);
      expect(run.stdout).not.toContain(key);
      expect(run.stdout).toMatch(/cluster\.database +•••••••• +environment variable BRAINSTRIP_CLUSTER_DATABASE\n/);
      expect(run.stdout).not.toContain('cluster-pw');
      // Nothing was started: no data folder was made.
      expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
    });
  });

  it('exits 2 with the messages, and serve refuses to start with the same ones', async () => {
    const file = configFile({ receive: { aeTitle: 'A_TITLE_TOO_LONG_', port: 70000 }, model: { precision: 'fastest' } });
    const check = await runCli(['config', 'check', '--config', file]);
    expect(check.status).toBe(2);
    const expected = [
      `receive.aeTitle = "A_TITLE_TOO_LONG_" (file ${file}): ${AE_RULE}`,
      `receive.port = 70000 (file ${file}): ${PORT_RULE}`,
      `model.precision = "fastest" (file ${file}): must be one of the possible values: ["auto","FP32","INT8"]`,
    ];
    for (const line of expected) expect(check.stderr).toContain(line);
    const serve = await runCli(['serve', '--config', file]);
    expect(serve.status).toBe(2);
    for (const line of expected) expect(serve.stderr).toContain(line);
  });

  it('names the environment variable of a bad value', () => {
    const run = spawnSync(process.execPath, [cli, 'config', 'check'], { env: { PATH: process.env.PATH, BRAINSTRIP_JOBS_CONCURRENCY: 'two' }, encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('jobs.concurrency = "two" (environment variable BRAINSTRIP_JOBS_CONCURRENCY): must be a whole number ≥ 0');
  });
});
