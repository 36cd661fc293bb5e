// The operations page: server-rendered HTML for the radiology IT team. Every page needs a login; every action
// (a POST) needs the admin role and the session's CSRF token, and is written to the audit log with its outcome.
// This module only routes: a request goes to the login, the JSON API, a page or an action, in that order of checks.
import type http from 'node:http';
import { ACTIONS, runAction } from './actions.js';
import { serveApi } from './api.js';
import { Authentication } from './auth.js';
import { type WebDeps, createWebContext } from './context.js';
import { html, page } from './html.js';
import type { Readiness } from './http.js';
import { type PageHandler, pageUser } from './page-parts.js';
import { auditExport, auditPage } from './page-audit.js';
import { configurationPage } from './page-configuration.js';
import { destinationsPage } from './page-destinations.js';
import { jobPage, qcPicture } from './page-job.js';
import { jobsPage } from './page-jobs.js';
import { nodesPage } from './page-nodes.js';
import { overviewPage } from './page-overview.js';
import { selfTestPage } from './page-self-test.js';
import { readForm } from './request.js';
import { sendHtml } from './respond.js';
import { type Route, findRoute } from './router.js';

export type { RunnerControl, WebDeps } from './context.js';

const PAGES: ReadonlyArray<Route<PageHandler>> = [
  { method: 'GET', path: /^\/$/, handler: overviewPage },
  { method: 'GET', path: /^\/nodes$/, handler: nodesPage },
  { method: 'GET', path: /^\/jobs$/, handler: jobsPage },
  { method: 'GET', path: /^\/jobs\/(\d+)$/, handler: jobPage },
  { method: 'GET', path: /^\/jobs\/(\d+)\/qc\.png$/, handler: qcPicture },
  { method: 'GET', path: /^\/destinations$/, handler: destinationsPage },
  { method: 'GET', path: /^\/self-test$/, handler: selfTestPage },
  { method: 'GET', path: /^\/config$/, handler: configurationPage },
  { method: 'GET', path: /^\/audit$/, handler: auditPage },
  { method: 'GET', path: /^\/audit\.csv$/, handler: auditExport },
];

export function createWebHandler(deps: WebDeps) {
  const ctx = createWebContext(deps);
  const auth = new Authentication(ctx);

  /** Serves everything but /health and /metrics. Answers true when it handled the request. */
  return async function handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL, route: string, readiness: Readiness): Promise<boolean> {
    if (route === '/login') {
      await auth.login(req, res, url);
      return true;
    }
    const { token, session } = await auth.sessionOf(req);
    if (route.startsWith('/api/')) return serveApi(ctx, req, res, url, route, session);
    if (!session) {
      auth.refuseAnonymous(req, res, url);
      return true;
    }
    const method = req.method ?? 'GET';
    if (method === 'POST') {
      const form = await readForm(req);
      if (!(await auth.formIsGenuine(res, session, form, route))) return true;
      if (route === '/logout') {
        await auth.logout(res, session, token);
        return true;
      }
      if (!(await auth.mayAct(res, session, route))) return true;
      const action = findRoute(ACTIONS, method, route);
      if (!action) sendHtml(res, 404, page({ title: 'Not found', user: pageUser(session) }, html`<h1>No such action</h1>`));
      else await runAction(ctx, session, action.handler, { form, query: url.searchParams, match: action.match }, route, res);
      return true;
    }
    const found = findRoute(PAGES, method, route);
    if (!found) return false;
    await found.handler(ctx, { session, params: url.searchParams, match: found.match, readiness, res });
    return true;
  };
}
