// The operations port: /health (live and ready) and /metrics (Prometheus), open for monitoring; the operations
// page (web.ts) and /api/jobs (JSON) behind a login. The API's actions (POST) are web.ts's, under the page's rules.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { logger } from '../log.js';
import { stageDurations } from '../jobs/state/stages.js';
import type { JobStore } from '../jobs/state/store.js';
import { JOB_STATES, type JobState } from '../jobs/state/job.js';
import type { MetricsRegistry } from '../metrics.js';

export interface Readiness {
  /** Named checks; the node is ready when all are true. */
  checks(): Record<string, boolean>;
}

/** What runs: brainstrip's version, the model and its precision, Node.js. */
export interface BuildInfo {
  version: string;
  model: string;
  precision: string;
  node: string;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = contentType === 'application/json' ? `${JSON.stringify(body, null, 2)}\n` : String(body);
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(text);
}

export async function startOpsServer(
  options: { port: number; host: string },
  deps: {
    store: JobStore;
    metrics: MetricsRegistry;
    readiness: Readiness;
    build?: BuildInfo;
    /** The operations page; answers true when it handled the request (it also guards /api/*). */
    web?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL, route: string, readiness: Readiness) => Promise<boolean>;
  },
): Promise<OpsServer> {
  const log = logger('ops.http');
  const started = Date.now();
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = url.pathname.replace(/\/+$/, '') || '/';
      const open = route === '/metrics' || route === '/health' || route.startsWith('/health/');
      if (!open && deps.web && (await deps.web(req, res, url, route, deps.readiness))) return;
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
      if (route === '/health/live') return send(res, 200, { status: 'live', uptimeSeconds: Math.round((Date.now() - started) / 1000), build: deps.build });
      if (route === '/health/ready' || route === '/health') {
        const checks = deps.readiness.checks();
        const ready = Object.values(checks).every(Boolean);
        return send(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', live: true, ready, checks, build: deps.build });
      }
      if (route === '/metrics') return send(res, 200, await deps.metrics.render(), deps.metrics.contentType);
      if (route === '/api/jobs') {
        const state = url.searchParams.get('state') ?? undefined;
        if (state && !JOB_STATES.includes(state as JobState)) return send(res, 400, { error: `unknown state '${state}'`, states: JOB_STATES });
        const limitText = url.searchParams.get('limit');
        const limit = limitText === null ? 200 : Number(limitText);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) return send(res, 400, { error: 'limit must be a whole number from 1 to 10000' });
        const jobs = deps.store.list({ state: state as JobState | undefined, seriesInstanceUid: url.searchParams.get('series') ?? undefined, limit });
        return send(res, 200, { counts: deps.store.countsByState(), jobs });
      }
      const one = /^\/api\/jobs\/(\d+)$/.exec(route);
      if (one) {
        const job = deps.store.get(Number(one[1]));
        if (!job) return send(res, 404, { error: `no job ${one[1]}` });
        // Seconds per stage (receiving, waiting, reading, registration, segmentation, building, sending, …) and the
        // changes they are computed from.
        const events = deps.store.events(job.id);
        return send(res, 200, { ...job, stages: stageDurations(events), events });
      }
      return send(res, 404, { error: 'not found', endpoints: ['/health', '/health/live', '/health/ready', '/metrics', '/api/jobs', '/api/jobs/:id', 'POST /api/jobs/:id/retry', '/api/session'] });
    } catch (error) {
      log.error(`request failed: ${(error as Error).message}`, { url: req.url });
      if (!res.headersSent) send(res, 500, { error: (error as Error).message });
      else res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`HTTP port ${options.port}: ${error.message}`)));
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info('operations HTTP listening', { port, host: options.host });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
