// The audit log: who did what to which job or destination, and how it ended (refusals included).
import type { WebContext } from './context.js';
import { html, when } from './html.js';
import { type PageRequest, showPage } from './page-parts.js';

export function auditPage(ctx: WebContext, request: PageRequest): void {
  const entries = ctx.accounts.auditLog(500);
  const body = html`<h1>Audit log</h1>
      <table id="audit"><tr><th>when</th><th>who</th><th>what</th><th>on</th><th>outcome</th></tr>
      ${entries.map((e) => html`<tr><td>${when(e.at)}</td><td>${e.user}</td><td>${e.action}</td><td>${e.target}</td><td>${e.outcome}</td></tr>`)}</table>`;
  showPage(ctx, request, { title: 'Audit log', active: '/audit' }, body);
}
