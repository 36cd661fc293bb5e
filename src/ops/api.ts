// The JSON API under /api: the job list and one job with its time per stage (read-only), the session's CSRF token,
// and POST /api/jobs/:id/retry, the page's *Retry* as JSON. The page's rules apply: with a login a POST needs the
// admin role and the session's CSRF token (header `x-csrf-token`); without one the API answers only where
// ops.apiWithoutLogin allows it.
import type http from 'node:http';
import { stageDurations } from '../jobs/state/stages.js';
import { JOB_STATES, type JobState } from '../jobs/state/job.js';
import { type Session, sameToken } from './accounts.js';
import { jobTarget, retryJob, setPause } from './actions.js';
import type { WebContext } from './context.js';
import { readForm } from './request.js';
import { sendJson } from './respond.js';
import { type Route, findRoute } from './router.js';

interface ApiRequest {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  match: RegExpExecArray;
  session: Session | undefined;
}

type ApiHandler = (ctx: WebContext, request: ApiRequest) => Promise<void> | void;

async function jobList(ctx: WebContext, { url, res }: ApiRequest): Promise<void> {
  const state = url.searchParams.get('state') ?? undefined;
  if (state && !JOB_STATES.includes(state as JobState)) return sendJson(res, 400, { error: `unknown state '${state}'`, states: JOB_STATES });
  const limitText = url.searchParams.get('limit');
  const limit = limitText === null ? 200 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) return sendJson(res, 400, { error: 'limit must be a whole number from 1 to 10000' });
  const review = (url.searchParams.get('review') ?? undefined) as 'flagged' | 'held' | undefined;
  if (review && review !== 'flagged' && review !== 'held') return sendJson(res, 400, { error: `review must be flagged or held, not '${review}'` });
  const series = url.searchParams.get('series') ?? undefined;
  const jobs = review
    ? (await ctx.store.search({ state: state as JobState | undefined, review, limit })).filter((j) => !series || j.seriesInstanceUid === series)
    : await ctx.store.list({ state: state as JobState | undefined, seriesInstanceUid: series, limit });
  sendJson(res, 200, { counts: await ctx.store.countsByState(), jobs });
}

async function oneJob(ctx: WebContext, { match, res }: ApiRequest): Promise<void> {
  const job = await ctx.store.get(Number(match[1]));
  if (!job) return sendJson(res, 404, { error: `no job ${match[1]}` });
  // Seconds per stage (receiving, waiting, reading, registration, segmentation, building, sending, …) and the
  // changes they are computed from.
  const events = await ctx.store.events(job.id);
  sendJson(res, 200, { ...job, stages: stageDurations(events), events });
}

function sessionToken(_ctx: WebContext, { session, res }: ApiRequest): void {
  // A script logged in with the cookie reads its CSRF token here (another site cannot read a GET's answer).
  if (!session) return sendJson(res, 404, { error: 'no session: log in first (POST /login)' });
  sendJson(res, 200, { user: session.user.name, role: session.user.role, csrf: session.csrf });
}

async function retry(ctx: WebContext, { match, res, session }: ApiRequest): Promise<void> {
  const by = session ? session.user.name : 'api (ops.apiWithoutLogin)';
  const job = await ctx.store.get(Number(match[1]));
  if (!job) return sendJson(res, 404, { error: `no job ${match[1]}` });
  const target = jobTarget(job);
  try {
    const outcome = await retryJob(ctx, job, by);
    await ctx.accounts.audit(by, '/api/jobs/:id/retry', target, outcome);
    sendJson(res, 200, { outcome, job: await ctx.store.get(job.id) });
  } catch (error) {
    const message = (error as Error).message;
    await ctx.accounts.audit(by, '/api/jobs/:id/retry', target, `refused: ${message}`);
    sendJson(res, 409, { error: message, job });
  }
}

async function clusterNodes(ctx: WebContext, { res }: ApiRequest): Promise<void> {
  if (!ctx.cluster) return sendJson(res, 404, { error: 'this node is not part of a cluster (cluster.database is not set)' });
  sendJson(res, 200, { node: ctx.cluster.node, nodes: await ctx.cluster.nodes(), pauses: ctx.controls.pauses() });
}

/** The page's pause and resume: what, paused (1 or 0) and, in a cluster, node (empty: every node), as a form or in the query. */
async function pause(ctx: WebContext, { req, res, url, session }: ApiRequest): Promise<void> {
  const by = session ? session.user.name : 'api (ops.apiWithoutLogin)';
  const form = await readForm(req);
  for (const [key, value] of url.searchParams) if (!form.has(key)) form.set(key, value);
  try {
    const { target, outcome } = await setPause(ctx, form, by);
    await ctx.accounts.audit(by, '/api/pause', target, outcome);
    sendJson(res, 200, { outcome, pauses: ctx.controls.pauses() });
  } catch (error) {
    const message = (error as Error).message;
    await ctx.accounts.audit(by, '/api/pause', form.get('what'), `refused: ${message}`);
    sendJson(res, 400, { error: message });
  }
}

const ROUTES: ReadonlyArray<Route<ApiHandler>> = [
  { method: 'GET', path: /^\/api\/jobs$/, handler: jobList },
  { method: 'GET', path: /^\/api\/jobs\/(\d+)$/, handler: oneJob },
  { method: 'GET', path: /^\/api\/session$/, handler: sessionToken },
  { method: 'POST', path: /^\/api\/jobs\/(\d+)\/retry$/, handler: retry },
  { method: 'GET', path: /^\/api\/cluster$/, handler: clusterNodes },
  { method: 'POST', path: /^\/api\/pause$/, handler: pause },
];

export const API_ENDPOINTS = ['/api/jobs', '/api/jobs/:id', 'POST /api/jobs/:id/retry', '/api/session', '/api/cluster', 'POST /api/pause'];

/** A POST with a login must carry the session's CSRF token and come from an admin; answers false after refusing. */
async function mayAct(ctx: WebContext, req: http.IncomingMessage, res: http.ServerResponse, route: string, session: Session): Promise<boolean> {
  const by = session.user.name;
  const action = route.replace(/\/\d+/g, '/:id');
  const header = req.headers['x-csrf-token'];
  if (!sameToken(typeof header === 'string' ? header : undefined, session.csrf)) {
    await ctx.accounts.audit(by, action, null, 'refused: missing or wrong CSRF token');
    sendJson(res, 403, { error: "send the session's CSRF token (GET /api/session) in the x-csrf-token header" });
    return false;
  }
  if (session.user.role !== 'admin') {
    await ctx.accounts.audit(by, action, null, 'refused: admin role needed');
    sendJson(res, 403, { error: `this action needs the admin role; ${by} is a ${session.user.role}` });
    return false;
  }
  return true;
}

/** Serves a request under /api/; answers false for one it has no route for (the caller answers 404 or 405). */
export async function serveApi(ctx: WebContext, req: http.IncomingMessage, res: http.ServerResponse, url: URL, route: string, session: Session | undefined): Promise<boolean> {
  if (!session && !ctx.config.ops.apiWithoutLogin) {
    sendJson(res, 401, { error: 'log in first (POST /login) or set ops.apiWithoutLogin on a closed test network' });
    return true;
  }
  const method = req.method ?? 'GET';
  if (method === 'POST' && session && !(await mayAct(ctx, req, res, route, session))) return true;
  const found = findRoute(ROUTES, method, route);
  if (!found) {
    if (method !== 'POST') return false;
    sendJson(res, 404, { error: 'no such action', actions: ['POST /api/jobs/:id/retry', 'POST /api/pause'] });
    return true;
  }
  await found.handler(ctx, { req, res, url, match: found.match, session });
  return true;
}
