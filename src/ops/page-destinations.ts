// The archives results go to: what each answered last, and a C-ECHO button to test one now.
import type { WebContext } from './context.js';
import { html, when } from './html.js';
import { lastSendResults } from './job-facts.js';
import { type PageRequest, actionButton, lastSendCell, showPage } from './page-parts.js';

export async function destinationsPage(ctx: WebContext, request: PageRequest): Promise<void> {
  const s = request.session;
  const rows = (await lastSendResults(ctx.facts, ctx.destinationHealth)).map((d, n) => {
    const e = ctx.echoResults.get(d.key);
    return html`<tr class="${d.failing ? 'failing' : ''}"><td><b>${d.destination.aeTitle}</b><div class="muted">${d.destination.host}:${d.destination.port}${d.destination.tls ? ' (TLS)' : ''}</div></td>
        <td>${lastSendCell(d)}</td>
        <td>${e ? html`<span class="${e.ok ? 'ok' : 'bad'}">${e.ok ? 'OK' : 'failed'}</span>: ${e.description} (${e.milliseconds} ms) ${when(e.at)} by ${e.by}` : html`<span class="muted">not tested</span>`}</td>
        <td>${actionButton(s, `/destinations/${n}/echo`, 'C-ECHO', { back: '/destinations', cls: 'primary' })}</td></tr>`;
  });
  const body = html`<h1>Destinations</h1>
      <p>Archives that receive the skull-stripped series and the SEG (<code>results.destinations</code>); calling AE title ${ctx.config.results.callingAeTitle}.</p>
      <table id="destinations"><tr><th>archive</th><th>last send result</th><th>last C-ECHO</th><th></th></tr>${rows}</table>`;
  showPage(ctx, request, { title: 'Destinations', active: '/destinations' }, body);
}
