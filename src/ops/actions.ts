// What the buttons of the operations page do: retry, cancel or re-send a job, retry the failed jobs a filter
// shows, pause or resume a stage, C-ECHO a destination, start a self-test. Each answers with the page to go back to
// and a note of its outcome, and is written to the audit log, refusals included.
import type http from 'node:http';
import { PAUSABLE, type Pausable, WHOLE_CLUSTER } from '../jobs/controls.js';
import type { Job } from '../jobs/state/job.js';
import { echo } from '../scu/echo.js';
import { destinationKey } from '../scu/ledger.js';
import type { Session } from './accounts.js';
import type { WebContext } from './context.js';
import { forgetDeliveries } from './job-facts.js';
import { filterQuery, jobFilter } from './job-filter.js';
import { localPath, withNote } from './request.js';
import { redirect } from './respond.js';
import type { Route } from './router.js';

export interface ActionRequest {
  by: string;
  form: URLSearchParams;
  query: URLSearchParams;
  match: RegExpExecArray;
  /** What the action acts on, for the audit log; set as soon as it is known, so that a refusal names it too. */
  target: string;
}

interface Action {
  /** Where to go back to when the form does not say. */
  back(match: RegExpExecArray): string;
  /** The outcome for the note and the audit log (throws when refused), and where to go when not back. */
  run(ctx: WebContext, request: ActionRequest): Promise<{ outcome: string; location?: string }>;
}

export async function retryJob(ctx: WebContext, job: Job, by: string): Promise<string> {
  if (job.state === 'failed') {
    const where = await ctx.runner.retry(job.id, `retry requested by ${by}`);
    if (!where) return `job ${job.id} changed meanwhile; not retried`;
    return where === 'sending' ? `job ${job.id} sends its results again (nothing is computed again)` : `job ${job.id} queued again; it resumes at the stage where it stopped`;
  }
  if (ctx.runner.interrupt(job.id, { state: 'queued', detail: `retry requested by ${by}` })) return `job ${job.id} restarted now`;
  throw new Error(`job ${job.id} is ${job.state}: only failed or running jobs can be retried`);
}

async function cancelJob(ctx: WebContext, job: Job, by: string): Promise<string> {
  const reason = `cancelled by ${by}`;
  if (ctx.runner.interrupt(job.id, { state: 'failed', reason })) return `job ${job.id} cancelled`;
  if (await ctx.store.transition(job.id, 'cancel', { reason })) return `job ${job.id} cancelled`;
  throw new Error(`job ${job.id} is ${job.state}: nothing to cancel`);
}

async function resendJob(ctx: WebContext, job: Job, by: string): Promise<string> {
  if (job.state !== 'done' && job.state !== 'failed') throw new Error(`job ${job.id} is ${job.state}: re-send is for finished jobs`);
  const forgotten = await forgetDeliveries(ctx.facts, job);
  if (!(await ctx.runner.retry(job.id, `re-send requested by ${by}`))) throw new Error(`job ${job.id} changed meanwhile`);
  return `job ${job.id} queued to send its results again (${forgotten} confirmed object(s) will be sent again)`;
}

async function releaseJob(ctx: WebContext, job: Job, by: string): Promise<string> {
  if (!job.heldFor) throw new Error(`job ${job.id} holds nothing for review`);
  const releasedBy = `${by} at ${new Date().toISOString()}`;
  if (!(await ctx.store.transition(job.id, 'release', { detail: `released for ${job.heldFor} by ${by}`, releasedBy }))) throw new Error(`job ${job.id} changed meanwhile`);
  ctx.runner.wake();
  return `job ${job.id}: flagged result released by ${by}; it is sent to ${job.heldFor}`;
}

/** The name of a job in the audit log. */
export const jobTarget = (job: Job): string => `job ${job.id} (${job.seriesDescription ?? job.seriesInstanceUid})`;

function onOneJob(act: (ctx: WebContext, job: Job, by: string) => Promise<string>): Action {
  return {
    back: (m) => `/jobs/${m[1]}`,
    run: async (ctx, request) => {
      const job = await ctx.store.get(Number(request.match[1]));
      if (!job) throw new Error(`no job ${request.match[1]}`);
      request.target = jobTarget(job);
      return { outcome: await act(ctx, job, request.by) };
    },
  };
}

const retryFailedShown: Action = {
  back: () => '/jobs',
  run: async (ctx, request) => {
    const { by, query } = request;
    const jobs = (await ctx.store.search(jobFilter(query))).filter((j) => j.state === 'failed');
    request.target = `failed jobs shown by filter ${filterQuery(query) || '(none)'}`;
    let n = 0;
    for (const job of jobs) if (await ctx.runner.retry(job.id, `bulk retry requested by ${by}`)) n++;
    return { outcome: `${n} failed job(s) queued again` };
  },
};

/**
 * Pauses or resumes `what` (form fields what, paused=1|0, and in a cluster node: a node's name, or empty for every
 * node); the page's buttons and POST /api/pause. Answers what it acted on and the outcome.
 */
export async function setPause(ctx: WebContext, form: URLSearchParams, by: string): Promise<{ target: string; outcome: string }> {
  const what = form.get('what') as Pausable;
  if (!PAUSABLE.includes(what)) throw new Error(`cannot pause '${what}': one of ${PAUSABLE.join(', ')}`);
  const paused = form.get('paused') === '1';
  // A single node is its own cluster.
  const node = ctx.cluster ? (form.get('node') ?? WHOLE_CLUSTER) : WHOLE_CLUSTER;
  if (node !== WHOLE_CLUSTER && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(node)) throw new Error(`'${node}' is not a node name`);
  const where = !ctx.cluster ? '' : node === WHOLE_CLUSTER ? ' on every node' : ` on node ${node}`;
  await ctx.controls.set(what, paused, by, node);
  return { target: `${what}${where}`, outcome: `${what} ${paused ? 'paused' : 'resumed'}${where}` };
}

const pauseOrResume: Action = {
  back: () => '/',
  run: async (ctx, request) => {
    request.target = `${request.form.get('what')}`;
    const { target, outcome } = await setPause(ctx, request.form, request.by);
    request.target = target;
    return { outcome };
  },
};

const echoDestination: Action = {
  back: () => '/destinations',
  run: async (ctx, request) => {
    const { config } = ctx;
    const d = config.results.destinations[Number(request.match[1])];
    if (!d) throw new Error('no such destination');
    const target = (request.target = destinationKey(d));
    const result = await echo(d, {
      callingAeTitle: config.results.callingAeTitle,
      timeoutMs: config.results.timeouts.connectMs,
      tls: { ca: config.tls.ca || undefined, certificate: config.tls.certificate || undefined, privateKey: config.tls.privateKey || undefined },
    });
    ctx.echoResults.set(target, { ...result, at: new Date().toISOString(), by: request.by });
    if (!result.ok) throw new Error(`C-ECHO ${target}: ${result.description}`);
    return { outcome: `C-ECHO ${target}: ${result.description} in ${result.milliseconds} ms` };
  },
};

const startSelfTest: Action = {
  back: () => '/',
  run: async (ctx, request) => {
    const d = ctx.config.results.destinations[Number(request.form.get('destination') ?? 0)];
    if (!d) throw new Error('no destination configured (results.destinations)');
    const run = ctx.selfTests.start(d, request.by);
    request.target = destinationKey(d);
    return { outcome: `self-test ${run.id} started`, location: '/self-test' };
  },
};

export const ACTIONS: ReadonlyArray<Route<Action>> = [
  { method: 'POST', path: /^\/jobs\/(\d+)\/retry$/, handler: onOneJob(retryJob) },
  { method: 'POST', path: /^\/jobs\/(\d+)\/cancel$/, handler: onOneJob(cancelJob) },
  { method: 'POST', path: /^\/jobs\/(\d+)\/resend$/, handler: onOneJob(resendJob) },
  { method: 'POST', path: /^\/jobs\/(\d+)\/release$/, handler: onOneJob(releaseJob) },
  { method: 'POST', path: /^\/jobs\/retry$/, handler: retryFailedShown },
  { method: 'POST', path: /^\/pause$/, handler: pauseOrResume },
  { method: 'POST', path: /^\/destinations\/(\d+)\/echo$/, handler: echoDestination },
  { method: 'POST', path: /^\/self-test$/, handler: startSelfTest },
];

/** Runs one action for an admin, audits it, and redirects to where the form said to go back to, with its note. */
export async function runAction(ctx: WebContext, session: Session, action: Action, request: Omit<ActionRequest, 'by' | 'target'>, route: string, res: http.ServerResponse): Promise<void> {
  const by = session.user.name;
  const audited = route.replace(/\/\d+/g, '/:id');
  const back = localPath(request.form.get('back'), action.back(request.match));
  const state: ActionRequest = { ...request, by, target: route };
  try {
    const { outcome, location } = await action.run(ctx, state);
    await ctx.accounts.audit(by, audited, state.target, outcome);
    redirect(res, withNote(location ?? back, outcome));
  } catch (error) {
    const message = (error as Error).message;
    await ctx.accounts.audit(by, audited, state.target, `refused: ${message}`);
    redirect(res, withNote(back, message, true));
  }
}
