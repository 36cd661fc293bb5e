// What the pages of the operations page have in common: the frame with the user and the note of the last action,
// the action buttons (forms that POST with the session's CSRF token, shown to admins only), and the small
// summaries several pages show.
import type http from 'node:http';
import type { Job } from '../jobs/state/job.js';
import type { Session } from './accounts.js';
import type { WebContext } from './context.js';
import { type Html, html, page, when } from './html.js';
import type { Readiness } from './http.js';
import type { lastSendResults } from './job-facts.js';
import { sendHtml } from './respond.js';

/** A GET of one page: who asks, the query, the route's captures. */
export interface PageRequest {
  session: Session;
  params: URLSearchParams;
  match: RegExpExecArray;
  readiness: Readiness;
  res: http.ServerResponse;
}

export type PageHandler = (ctx: WebContext, request: PageRequest) => Promise<void> | void;

export const isAdmin = (s: Session): boolean => s.user.role === 'admin';

export const pageUser = (s: Session) => ({ name: s.user.name, role: s.user.role, csrf: s.csrf });

/** Answers with `body` in the page frame, showing the note or error an action redirected with. */
export function showPage(ctx: WebContext, request: PageRequest, options: { title: string; active: string; refresh?: number }, body: Html): void {
  const { params } = request;
  const frame = { ...options, user: pageUser(request.session), note: params.get('note') ?? undefined, error: params.get('error') ?? undefined, aeTitle: ctx.config.receive.aeTitle, cluster: !!ctx.cluster };
  sendHtml(request.res, 200, page(frame, body));
}

/** A button that POSTs one action with the session's CSRF token. */
export function actionButton(s: Session, href: string, label: string, options: { back?: string; fields?: Record<string, string>; cls?: string } = {}): Html {
  if (!isAdmin(s)) return html``;
  const fields = Object.entries({ ...options.fields, back: options.back ?? '' }).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`);
  return html`<form class="inline" method="post" action="${href}"><input type="hidden" name="csrf" value="${s.csrf}">${fields}<button type="submit" class="${options.cls ?? ''}">${label}</button></form>`;
}

export function lastSendCell(d: Awaited<ReturnType<typeof lastSendResults>>[number]): Html {
  const now = d.status;
  if (now?.failingSince !== undefined) {
    return html`<span class="bad">failing</span> since ${when(new Date(now.failingSince).toISOString())} (${now.consecutiveFailures} attempt(s), ${now.objectsWaiting} object(s) waiting) — ${now.lastError ?? ''}
      <div class="muted">last success: ${now.lastSuccessAt ? when(new Date(now.lastSuccessAt).toISOString()) : 'none'}</div>`;
  }
  if (d.lastFailure) return html`<span class="bad">failed</span> ${when(d.lastFailure.finishedAt)} — <a href="/jobs/${d.lastFailure.id}">${d.lastFailure.reason}</a>`;
  if (d.lastStored) return html`<span class="ok">${d.lastStored.description}</span> ${when(d.lastStored.storedAt)}`;
  return html`<span class="muted">nothing sent yet</span>`;
}

/** The review flag of a job as the lists show it: flagged (with the reasons), held until released, released by whom. */
export function reviewCell(job: Job): Html {
  if (!job.review) return html``;
  return html`<span class="warn" title="${job.review}">flagged</span>${job.heldFor ? html` <span class="bad">held</span>` : ''}${job.releasedBy ? html`<div class="muted">released by ${job.releasedBy}</div>` : ''}`;
}

export const jobName = (job: Job): string => job.seriesDescription || `series ${job.seriesNumber ?? ''}`.trim() || 'series';
