// The effective configuration, read-only, with where each value came from, the model and precision that run (and
// how the precision was chosen), and what the node keeps about patients and for how long.
import { configSources } from '../../config/sources.js';
import { cpuWords } from '../cpu.js';
import { describePrecisionChoice } from '../pipeline/segmentation/precision-choice.js';
import type { WebContext } from './context.js';
import { html } from './html.js';
import { type PageRequest, showPage } from './page-parts.js';

const kept = (days: number, unit = 'days') => (days > 0 ? `${days} ${unit}` : 'kept until removed by hand');

function retentionTable(ctx: WebContext) {
  const { receive, jobs, retention, ops } = ctx.config;
  const rows: Array<[string, string, string]> = [
    ['received instances of delivered series (spool)', kept(jobs.keepFinishedDays), 'jobs.keepFinishedDays'],
    ['derived images and SEG of delivered jobs (work/)', kept(retention.resultsDays), 'retention.resultsDays'],
    ['delivered jobs: row, timeline, instance list', kept(retention.jobDays), 'retention.jobDays'],
    ['audit log (logins, actions, who viewed which job)', kept(retention.auditDays), 'retention.auditDays'],
    ['instances acknowledged but not processed, and refused ones', kept(receive.unroutedRetentionHours, 'hours'), 'receive.unroutedRetentionHours'],
    ['work not yet delivered (sending, held for review, failed)', 'kept until delivered, or retried or cancelled by an operator', ''],
    ['the node\'s log', 'the journal (or logrotate for log.file)', 'log.file'],
  ];
  return html`<h2>What is kept, and for how long</h2>
      <p>Below ${ops.spoolWarnFreeMegabytes} MB free for the spool, delivered work is removed sooner, oldest first.</p>
      <table id="retention"><tr><th>what</th><th>kept</th><th>key</th></tr>
      ${rows.map(([what, how, key]) => html`<tr><td>${what}</td><td>${how}</td><td><code>${key}</code></td></tr>`)}</table>`;
}

function modelTable(ctx: WebContext) {
  const { build } = ctx;
  if (!build) return undefined;
  const choice = build.precisionChoice;
  const ms = choice?.milliseconds ?? {};
  const timing = (precision: 'FP32' | 'INT8') =>
    ms[precision] === undefined ? undefined : html`<tr><th>${precision}</th><td>${ms[precision]} ms per inference at ${choice?.intraOpThreads} thread(s), the best of ${choice?.runs} timed runs</td></tr>`;
  return html`<h2>Model</h2>
      <table id="model"><tr><th>model</th><td>${build.model}</td></tr>
      <tr><th>precision</th><td>${choice ? describePrecisionChoice(choice) : build.precision === 'auto' ? 'being chosen: FP32 and INT8 are timed on this CPU' : build.precision}</td></tr>
      ${timing('FP32')}${timing('INT8')}
      ${choice ? html`<tr><th>CPU</th><td>${cpuWords(choice.cpu)}</td></tr>` : undefined}</table>`;
}

export function configurationPage(ctx: WebContext, request: PageRequest): void {
  const values = configSources(ctx.config as unknown as Record<string, unknown>, ctx.configFile);
  const body = html`<h1>Configuration</h1>
      ${modelTable(ctx)}
      ${retentionTable(ctx)}
      <h2>Every value</h2>
      <p>The effective configuration, read-only. Precedence: default &lt; file${ctx.configFile ? html` (<code>${ctx.configFile}</code>)` : ' (none given)'} &lt; environment. Secrets are masked.</p>
      <table id="config"><tr><th>key</th><th>value</th><th>source</th><th>meaning</th></tr>
      ${values.map(
        (v) => html`<tr><td><code>${v.key}</code></td><td><code>${typeof v.value === 'string' ? v.value : JSON.stringify(v.value)}</code></td>
          <td>${v.source === 'environment' ? html`environment <code>${v.env}</code>` : v.source}</td><td class="muted">${v.doc}</td></tr>`,
      )}</table>`;
  showPage(ctx, request, { title: 'Configuration', active: '/config' }, body);
}
