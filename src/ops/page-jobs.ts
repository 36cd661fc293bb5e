// The jobs list: every series the node (in a cluster: any node, and which holds it) received, filtered by state,
// date, sender or text, with a bulk retry of the failed ones shown.
import { JOB_STATES } from '../jobs/state/job.js';
import type { WebContext } from './context.js';
import { html, personName, stateBadge, when } from './html.js';
import { describeJobs } from './job-facts.js';
import { filterQuery, jobFilter } from './job-filter.js';
import { type PageRequest, actionButton, jobName, reviewCell, showPage } from './page-parts.js';

export async function jobsPage(ctx: WebContext, request: PageRequest): Promise<void> {
  const { store } = ctx;
  const { session: s, params } = request;
  await describeJobs(ctx.facts, await store.undescribed(200));
  const filter = jobFilter(params);
  const jobs = await store.search(filter);
  const query = filterQuery(params);
  const failedShown = jobs.filter((j) => j.state === 'failed').length;
  const aes = await store.callingAes();
  const rows = jobs.map(
    (job) => html`<tr>
        <td><a href="/jobs/${job.id}">${job.id}</a></td>
        <td>${stateBadge(job.state)}${job.state === 'failed' ? html`<div class="bad" style="font-weight:400;max-width:28em">${job.reason}</div>` : html`<div class="muted">${job.detail}</div>`}${ctx.cluster && job.owner ? html`<div class="muted">on ${job.owner}</div>` : ''}</td>
        <td>${personName(job.patientName)}<div class="muted">${job.patientId}</div></td>
        <td><a href="/jobs/${job.id}">${jobName(job)}</a><div class="muted">${job.studyDescription}${job.accessionNumber ? ` · acc. ${job.accessionNumber}` : ''}</div></td>
        <td>${reviewCell(job)}</td>
        <td>${job.callingAe}</td><td>${job.instances}</td><td>${when(job.createdAt)}</td><td>${when(job.finishedAt)}</td></tr>`,
  );
  const body = html`<h1>Jobs</h1>
      <form class="filters" method="get" action="/jobs">
        <label>State<select name="state"><option value="">any</option>${JOB_STATES.map((st) => html`<option ${filter.state === st ? 'selected' : ''}>${st}</option>`)}</select></label>
        <label>Received from<input type="date" name="from" value="${filter.fromDay ?? ''}"></label>
        <label>to<input type="date" name="to" value="${filter.toDay ?? ''}"></label>
        <label>Calling AE<select name="ae"><option value="">any</option>${aes.map((ae) => html`<option ${filter.callingAe === ae ? 'selected' : ''}>${ae}</option>`)}</select></label>
        <label>Review<select name="review"><option value="">any</option>${(['flagged', 'held'] as const).map((r) => html`<option value="${r}" ${filter.review === r ? 'selected' : ''}>${r === 'flagged' ? 'flagged for review' : 'held until released'}</option>`)}</select></label>
        <label>Patient ID, name, accession or series<input type="search" name="q" value="${filter.text ?? ''}" size="28"></label>
        <button type="submit" class="primary">Filter</button> <a class="button" href="/jobs">Clear</a>
      </form>
      <p>${jobs.length} job(s)${jobs.length === filter.limit ? ' (the most recent shown)' : ''}.
        ${failedShown > 0 ? actionButton(s, `/jobs/retry${query}`, `Retry the ${failedShown} failed job(s) shown`, { back: `/jobs${query}` }) : ''}</p>
      <table id="jobs"><tr><th>#</th><th>state</th><th>patient</th><th>series</th><th>review</th><th>from</th><th>instances</th><th>received</th><th>finished</th></tr>${rows}</table>`;
  showPage(ctx, request, { title: 'Jobs', active: '/jobs', refresh: 10 }, body);
}
