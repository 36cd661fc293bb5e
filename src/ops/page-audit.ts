// The audit log: who did what to which job or destination, and how it ended (refusals included).
import { auditCsv } from './accounts.js';
import type { WebContext } from './context.js';
import { html, when } from './html.js';
import { type PageRequest, showPage } from './page-parts.js';

export async function auditPage(ctx: WebContext, request: PageRequest): Promise<void> {
  const entries = await ctx.accounts.auditLog(500);
  const body = html`<h1>Audit log</h1>
      <p>Who logged in, viewed a job (and so a patient's images) or acted on the node, newest first.
        <a class="button" href="/audit.csv" download>Export as CSV</a></p>
      <table id="audit"><tr><th>when</th><th>who</th><th>what</th><th>on</th><th>outcome</th></tr>
      ${entries.map((e) => html`<tr><td>${when(e.at)}</td><td>${e.user}</td><td>${e.action}</td><td>${e.target}</td><td>${e.outcome}</td></tr>`)}</table>`;
  showPage(ctx, request, { title: 'Audit log', active: '/audit' }, body);
}

/** The whole audit log as CSV, for the hospital's privacy officer. */
export async function auditExport(ctx: WebContext, request: PageRequest): Promise<void> {
  await ctx.accounts.audit(request.session.user.name, 'export audit log', null, 'exported');
  const entries = await ctx.accounts.auditLog(Number.MAX_SAFE_INTEGER);
  request.res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="brainstrip-audit-${new Date().toISOString().slice(0, 10)}.csv"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  request.res.end(auditCsv(entries));
}
