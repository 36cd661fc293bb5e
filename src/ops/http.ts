// The operations port: /health (live and ready) and /metrics (Prometheus), open for monitoring; everything else —
// the operations page and the JSON API under /api — is web.ts's, behind a login.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { logger } from '../log.js';
import type { PrecisionChoice } from '../pipeline/segmentation/precision-choice.js';
import type { MetricsRegistry } from '../metrics.js';
import { API_ENDPOINTS } from './api.js';

export interface Readiness {
  /** Named checks; the node is ready when all are true. */
  checks(): Record<string, boolean>;
  /** Why a ready node is not working as it should (an archive failing, a pause, the disk filling); empty when it is. */
  degraded?(): string[];
}

/** What runs: brainstrip's version, the model and its precision, Node.js. */
export interface BuildInfo {
  version: string;
  model: string;
  /** The precision running ('auto' while the node times FP32 and INT8 at start). */
  precision: string;
  node: string;
  /** How the precision was chosen: configured, or measured on this CPU (both timings, the CPU's instruction sets). */
  precisionChoice?: PrecisionChoice;
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
    metrics: MetricsRegistry;
    readiness: Readiness;
    build?: BuildInfo;
    /** The operations page and the API; answers true when it handled the request. */
    web: (req: http.IncomingMessage, res: http.ServerResponse, url: URL, route: string, readiness: Readiness) => Promise<boolean>;
  },
): Promise<OpsServer> {
  const log = logger('ops.http');
  const started = Date.now();
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = url.pathname.replace(/\/+$/, '') || '/';
      const open = route === '/metrics' || route === '/health' || route.startsWith('/health/');
      if (!open && (await deps.web(req, res, url, route, deps.readiness))) return;
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
      if (route === '/health/live') return send(res, 200, { status: 'live', uptimeSeconds: Math.round((Date.now() - started) / 1000), build: deps.build });
      if (route === '/health/ready' || route === '/health') {
        const checks = deps.readiness.checks();
        const ready = Object.values(checks).every(Boolean);
        // Degraded is still ready (200): the node receives, but someone should look; `reasons` say why.
        const reasons = ready ? (deps.readiness.degraded?.() ?? []) : [];
        const status = !ready ? 'not ready' : reasons.length > 0 ? 'degraded' : 'ready';
        return send(res, ready ? 200 : 503, { status, live: true, ready, degraded: reasons.length > 0, reasons, checks, build: deps.build });
      }
      if (route === '/metrics') return send(res, 200, await deps.metrics.render(), deps.metrics.contentType);
      return send(res, 404, { error: 'not found', endpoints: ['/health', '/health/live', '/health/ready', '/metrics', ...API_ENDPOINTS] });
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
