// The self-test page: start a run against a chosen destination, and follow each run's stages.
import { destinationKey } from '../scu/ledger.js';
import type { WebContext } from './context.js';
import { duration, html, when } from './html.js';
import { type PageRequest, isAdmin, showPage } from './page-parts.js';

export function selfTestPage(ctx: WebContext, request: PageRequest): void {
  const { config } = ctx;
  const s = request.session;
  const runs = ctx.selfTests.list();
  const active = runs.some((r) => !r.finished);
  const body = html`<h1>Self-test</h1>
      <p>Makes a synthetic head series, sends it to this node's own DICOM port (${config.receive.aeTitle}, port ${ctx.dicomPort()}) as
        ${config.ops.selfTestCallingAe}, and follows it through processing and sending. Its results go to the chosen destination only.</p>
      ${
        isAdmin(s)
          ? html`<form method="post" action="/self-test" class="filters"><input type="hidden" name="csrf" value="${s.csrf}">
          <label>Destination<select name="destination">${config.results.destinations.map((d, n) => html`<option value="${n}">${destinationKey(d)}</option>`)}</select></label>
          <button type="submit" class="primary">Run the self-test</button></form>`
          : ''
      }
      ${runs.map(
        (r) => html`<h2>Run ${r.id} ${r.finished ? (r.ok ? html`<span class="ok">passed</span>` : html`<span class="bad">failed</span>`) : html`<span class="warn">running</span>`}</h2>
        <p class="muted">started ${when(r.startedAt)} by ${r.by}, destination ${r.destination}${r.jobId ? html` · <a href="/jobs/${r.jobId}">job ${r.jobId}</a>` : ''}</p>
        <table class="self-test"><tr><th>stage</th><th>result</th><th>time</th><th></th></tr>
        ${r.stages.map((st) => html`<tr><td>${st.name}</td><td class="${st.status === 'ok' ? 'ok' : st.status === 'failed' ? 'bad' : 'muted'}">${st.status}</td><td>${duration(st.seconds)}</td><td>${st.detail}</td></tr>`)}</table>`,
      )}`;
  showPage(ctx, request, { title: 'Self-test', active: '/self-test', refresh: active ? 3 : undefined }, body);
}
