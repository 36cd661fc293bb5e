// The overview: is the node healthy, how full is the spool, how busy are the workers, what is queued, how fast
// series come back, what is paused, and what each archive answered last.
import { PAUSABLE, WHOLE_CLUSTER } from '../jobs/controls.js';
import { JOB_STATES } from '../jobs/state/job.js';
import type { WebContext } from './context.js';
import { bytes, duration, html, stateBadge, when } from './html.js';
import { lastSendResults } from './job-facts.js';
import { type PageRequest, actionButton, lastSendCell, showPage } from './page-parts.js';

function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export async function overviewPage(ctx: WebContext, request: PageRequest): Promise<void> {
  const { config, store, controls, runner } = ctx;
  const s = request.session;
  const checks = request.readiness.checks();
  const ready = Object.values(checks).every(Boolean);
  const reasons = ready ? (request.readiness.degraded?.() ?? []) : [];
  const counts = await store.countsByState();
  const hour = await store.activity(new Date(Date.now() - 3600_000));
  const day = await store.activity(new Date(Date.now() - 86400_000));
  const spool = await ctx.spoolUsage();
  const sends = await lastSendResults(ctx.facts, ctx.destinationHealth);
  // In a cluster: this node's switches (the whole cluster's pause or its own); pausing here pauses every node.
  const scope = (node: string | undefined) => (!ctx.cluster ? '' : node ? ' on this node' : ' on every node');
  const pauses = PAUSABLE.map((what) => {
    const state = controls.get(what);
    const label = state.paused ? `Resume ${what}${scope(state.node)}` : `Pause ${what}${scope('')}`;
    const fields = { what, paused: state.paused ? '0' : '1', node: state.node ?? WHOLE_CLUSTER };
    return html`<tr><td>${what}</td><td>${state.paused ? html`<span class="warn">paused</span>${scope(state.node)} by ${state.by ?? '?'} ${when(state.at)}` : html`<span class="ok">running</span>`}</td>
        <td>${actionButton(s, '/pause', label, { fields, back: '/', cls: state.paused ? 'primary' : 'danger' })}</td></tr>`;
  });
  const activityRow = (label: string, a: typeof hour) =>
    html`<tr><td>${label}</td><td>${a.received}</td><td>${a.done}</td><td>${a.failed ? html`<span class="bad">${a.failed}</span>` : '0'}</td>
        <td>${duration(percentile(a.turnaroundSeconds, 50))}</td><td>${duration(percentile(a.turnaroundSeconds, 95))}</td></tr>`;
  const body = html`<h1>Overview</h1>
      <div class="cards">
        <div class="card" id="node-health"><div class="muted">Node</div><div class="big ${!ready ? 'bad' : reasons.length ? 'warn' : 'ok'}">${!ready ? 'not ready' : reasons.length ? 'degraded' : 'healthy'}</div>
          <div class="muted">${Object.entries(checks).map(([k, v]) => `${k} ${v ? 'ok' : 'down'}`).join(' · ')}</div>${reasons.map((r) => html`<div class="warn">${r}</div>`)}</div>
        <div class="card"><div class="muted">DICOM</div><div class="big">${config.receive.aeTitle}</div><div>port ${ctx.dicomPort()}${config.tls.scpEnabled ? ' (TLS)' : ''}</div></div>
        <div class="card"><div class="muted">Spool</div><div class="big">${bytes(spool.bytes)}</div><div>${spool.files} files · ${bytes(spool.free)} free of ${bytes(spool.size)}</div></div>
        <div class="card"><div class="muted">Workers busy</div><div class="big">${runner.active} / ${runner.concurrency}</div><div>series processed at a time</div></div>
      </div>
      <h2>Queue</h2>
      <table><tr>${JOB_STATES.map((st) => html`<th>${stateBadge(st)}</th>`)}</tr>
        <tr>${JOB_STATES.map((st) => html`<td><a href="/jobs?state=${st}">${counts[st]}</a></td>`)}</tr></table>
      <h2>Series</h2>
      <table><tr><th></th><th>received</th><th>processed</th><th>failed</th><th>turnaround median</th><th>turnaround 95th percentile</th></tr>
        ${activityRow('last hour', hour)}${activityRow('last 24 hours', day)}</table>
      <h2>Intake, processing, sending</h2>
      <table><tr><th>stage</th><th>state</th><th></th></tr>${pauses}</table>${ctx.cluster ? html`<p><a href="/nodes">Pause or resume one node</a></p>` : ''}
      <h2>Destinations</h2>
      <table><tr><th>archive</th><th>last send</th></tr>
        ${sends.map((d) => html`<tr class="${d.failing ? 'failing' : ''}"><td>${d.key}</td><td>${lastSendCell(d)}</td></tr>`)}</table>`;
  showPage(ctx, request, { title: 'Overview', active: '/' }, body);
}
