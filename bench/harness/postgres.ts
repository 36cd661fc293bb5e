// A throwaway PostgreSQL cluster for the tests of the PostgreSQL job store and of cluster mode, and for the cluster
// bench: initdb into a temp folder, the server on a free port of 127.0.0.1 with its socket in that folder, trust
// authentication; stopped and removed afterwards. Debian's postgresql package (scripts/setup.sh) provides the binaries in
// /usr/lib/postgresql/<version>/bin. initdb refuses to run as root, so as root the cluster is the postgres user's.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './peers.js';

/** The newest installed PostgreSQL's bin folder, if any. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => path.join(root, v, 'bin')).find((bin) => fs.existsSync(path.join(bin, 'initdb')) && fs.existsSync(path.join(bin, 'pg_ctl')));
}

export interface PostgresCluster {
  /** postgresql://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** Creates a fresh database; its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server now (-m immediate: as if killed), keeping its files. */
  kill(): void;
  /** Starts it again on the same port after kill(). */
  restart(): void;
  /** Stops the server and removes its files. */
  stop(): void;
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed (Debian package postgresql)');
  const asRoot = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-postgres-'));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    fs.chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  const as = (tool: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : path.join(bin, tool), asRoot ? ['-u', 'postgres', '--', path.join(bin, tool), ...args] : args, { stdio: 'pipe', cwd: dir });
  as('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-sync']);
  const port = await freePort();
  // No fsync: a test cluster need not survive a power cut; listen on loopback only, the socket in the temp folder.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  const start = () => as('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  const halt = () => as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
  try {
    start();
  } catch (err) {
    const log = fs.existsSync(path.join(dir, 'server.log')) ? fs.readFileSync(path.join(dir, 'server.log'), 'utf8') : '';
    throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`);
  }
  const base = `postgresql://postgres@127.0.0.1:${port}`;
  let running = true;
  return {
    url: `${base}/postgres`,
    port,
    async createDatabase(name: string) {
      const db = name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      const client = new pg.Client({ connectionString: `${base}/postgres` });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${db}`);
      } finally {
        await client.end();
      }
      return `${base}/${db}`;
    },
    kill() {
      if (running) halt();
      running = false;
    },
    restart() {
      if (!running) start();
      running = true;
    },
    stop() {
      try {
        if (running) halt();
      } finally {
        running = false;
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
