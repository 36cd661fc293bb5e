// The nodes of a cluster: each node's name, roles, version, how long ago it last said it is alive, whether it
// is, and the jobs it holds; and the pause switches, for the whole cluster and for each node (a node is paused
// when either is). A single node has no such page.
import { PAUSABLE, type Pausable, WHOLE_CLUSTER } from '../jobs/controls.js';
import type { WebContext } from './context.js';
import { type Html, duration, html, when } from './html.js';
import { type PageRequest, actionButton, showPage } from './page-parts.js';

export async function nodesPage(ctx: WebContext, request: PageRequest): Promise<void> {
  const s = request.session;
  if (!ctx.cluster) {
    showPage(ctx, request, { title: 'Nodes', active: '/' }, html`<h1>Nodes</h1><p class="muted">This node is not part of a cluster (cluster.database is not set).</p>`);
    return;
  }
  const me = ctx.cluster.node;
  const nodes = await ctx.cluster.nodes();
  const pauses = ctx.controls.pauses();
  const switchCell = (what: Pausable, node: string): Html => {
    const p = pauses.find((r) => r.what === what && r.node === node);
    const state = p ? html`<span class="warn">paused</span> by ${p.by ?? '?'} ${when(p.at)}` : html`<span class="ok">running</span>`;
    const button = actionButton(s, '/pause', p ? 'Resume' : 'Pause', { fields: { what, node, paused: p ? '0' : '1' }, back: '/nodes', cls: p ? 'primary' : 'danger' });
    return html`<td>${state} ${button}</td>`;
  };
  const scopes = [WHOLE_CLUSTER, ...nodes.map((n) => n.name)];
  const ago = (iso: string) => duration(Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)));
  const body = html`<h1>Nodes</h1>
    <table id="nodes"><tr><th>node</th><th>roles</th><th>version</th><th>last heartbeat</th><th>state</th><th>jobs in hand</th></tr>
      ${nodes.map(
        (n) => html`<tr data-node="${n.name}"><td>${n.name}${n.name === me ? html` <span class="muted">(this node)</span>` : ''}</td><td>${n.roles.join(', ')}</td><td>${n.version}</td>
          <td>${ago(n.heartbeatAt)} ago</td><td>${n.alive ? html`<span class="ok">alive</span>` : html`<span class="bad">dead</span>`}</td><td>${n.jobsInHand}</td></tr>`,
      )}</table>
    <h2>Intake, processing, sending</h2>
    <p class="muted">A node is paused when the whole cluster or the node itself is.</p>
    <table id="pauses"><tr><th></th>${PAUSABLE.map((what) => html`<th>${what}</th>`)}</tr>
      ${scopes.map((node) => html`<tr data-scope="${node}"><td>${node === WHOLE_CLUSTER ? html`<b>every node</b>` : node}</td>${PAUSABLE.map((what) => switchCell(what, node))}</tr>`)}</table>`;
  showPage(ctx, request, { title: 'Nodes', active: '/nodes', refresh: 5 }, body);
}
