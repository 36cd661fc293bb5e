// One job: who and what it is, its timeline and time per stage, its results (QC picture, brain volume, review flag)
// and what each archive answered, its log lines, and the actions that fit its state.
import fs from 'node:fs';
import type http from 'node:http';
import { stageDurations } from '../jobs/state/stages.js';
import type { Job } from '../jobs/state/job.js';
import type { WebContext } from './context.js';
import { bytes, dicomDate, duration, html, page, personName, stateBadge, when } from './html.js';
import { describeJobs, jobLogLines, jobResults } from './job-facts.js';
import { type PageRequest, actionButton, jobName, pageUser, showPage } from './page-parts.js';
import { sendHtml } from './respond.js';

// The job's own identifiers are on the page already; a log line shows what else it says.
function extraText(extra: Record<string, unknown>): string {
  const rest = Object.entries(extra).filter(([k]) => !['jobId', 'studyInstanceUid', 'seriesInstanceUid', 'callingAe'].includes(k));
  return rest.length ? ` ${rest.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}` : '';
}

/** The job of the route's first capture, or undefined after answering 404. */
async function routeJob(ctx: WebContext, request: PageRequest): Promise<Job | undefined> {
  const job = await ctx.store.get(Number(request.match[1]));
  if (!job) sendHtml(request.res, 404, page({ title: 'Not found', user: pageUser(request.session), active: '/jobs' }, html`<h1>No job ${request.match[1]}</h1>`));
  return job;
}

export async function qcPicture(ctx: WebContext, request: PageRequest): Promise<void> {
  const job = await routeJob(ctx, request);
  if (!job) return;
  const results = await jobResults(ctx.facts, job);
  const res: http.ServerResponse = request.res;
  if (!results?.qcPng) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('no QC picture for this job\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'private, max-age=60', 'x-content-type-options': 'nosniff' });
  res.end(fs.readFileSync(results.qcPng));
}

export async function jobPage(ctx: WebContext, request: PageRequest): Promise<void> {
  const job = await routeJob(ctx, request);
  if (!job) return;
  const { config, store, runner, facts } = ctx;
  const s = request.session;
  await describeJobs(facts, [job]);
  // Who looked at which patient's images: the audit log keeps it (and the CSV export carries it).
  const described = (await store.get(job.id)) ?? job;
  await ctx.accounts.audit(s.user.name, 'view job', `job ${job.id}: patient ${described.patientId ?? '?'} ${described.patientName ?? ''}`.trim(), 'viewed');
  const events = await store.events(job.id);
  const results = await jobResults(facts, job);
  const lines = jobLogLines(facts, job);
  const back = `/jobs/${job.id}`;
  const stages = Object.entries(stageDurations(events));
  const summary = results?.set.summary as { brainVolumeMl?: number; atlasAgreementDice?: number; flaggedForReview?: boolean; reviewReason?: string; reviewDice?: number } | undefined;
  const running = runner.isRunning(job.id);
  // While a job retries (an archive down), its state says what it attempts; the log says what went wrong.
  const lastProblem = [...lines].reverse().find((l) => l.level === 'warn' || l.level === 'error');
  const problem = running && lastProblem && Date.parse(lastProblem.timestamp) >= Date.parse(events[events.length - 1]?.at ?? job.updatedAt) - 1000 ? lastProblem : undefined;
  const actions = [
    job.state === 'failed' ? actionButton(s, `/jobs/${job.id}/retry`, 'Retry from the failed stage', { back, cls: 'primary' }) : '',
    running ? actionButton(s, `/jobs/${job.id}/retry`, job.state === 'sending' ? 'Retry sending now' : 'Restart now', { back, cls: 'primary' }) : '',
    ['receiving', 'complete', 'queued', 'processing', 'sending'].includes(job.state) ? actionButton(s, `/jobs/${job.id}/cancel`, 'Cancel', { back, cls: 'danger' }) : '',
    job.state === 'done' && results ? actionButton(s, `/jobs/${job.id}/resend`, 'Re-send results', { back }) : '',
    job.heldFor ? actionButton(s, `/jobs/${job.id}/release`, `Release for ${job.heldFor}`, { back, cls: 'primary' }) : '',
  ];
  const review = summary?.flaggedForReview
    ? html`<span class="bad">flagged for review</span>: ${summary.reviewReason ?? `the brain mask agrees poorly with the registered atlas (Dice ${summary.atlasAgreementDice}, expected at least ${summary.reviewDice ?? config.model.reviewDice})`}`
    : summary
      ? html`<span class="ok">not flagged</span> (atlas agreement Dice ${summary.atlasAgreementDice})`
      : html`<span class="muted">no results yet</span>`;
  const hold = job.heldFor
    ? html`<div class="bad">held for ${job.heldFor} until a person who reviewed it releases it</div>`
    : job.releasedBy
      ? html`<div class="muted">released by ${job.releasedBy}</div>`
      : '';
  const body = html`<h1>${jobName(job)} ${stateBadge(job.state)}</h1>
    <p>${actions}</p>
    <div class="grid2"><div>
    <dl class="facts">
      <dt>Patient</dt><dd>${personName(job.patientName) || '—'} <span class="muted">${job.patientId}</span></dd>
      <dt>Study</dt><dd>${job.studyDescription || '—'} ${dicomDate(job.studyDate)}${job.accessionNumber ? ` · accession ${job.accessionNumber}` : ''}</dd>
      <dt>Series</dt><dd>${job.seriesNumber ? `#${job.seriesNumber} ` : ''}${job.seriesDescription ?? ''} (${job.modality ?? '?'}, ${job.instances} instances, ${bytes(job.bytes)})</dd>
      <dt>From</dt><dd>${job.callingAe ?? '—'}</dd>
      <dt>Now</dt><dd>${job.state === 'failed' ? html`<span class="bad">${job.reason}</span>` : (job.detail ?? job.state)}${problem ? html`<div class="warn">last problem ${when(problem.timestamp)}: ${problem.message}</div>` : ''}</dd>
      <dt>Attempts</dt><dd>${job.attempts}</dd>${ctx.cluster ? html`<dt>Held by</dt><dd>${job.owner ?? '—'}</dd>` : ''}
      <dt>Received</dt><dd>${when(job.createdAt)}</dd><dt>Finished</dt><dd>${when(job.finishedAt)}</dd>
      <dt>Brain volume</dt><dd>${summary?.brainVolumeMl !== undefined ? `${summary.brainVolumeMl} ml` : '—'}</dd>
      <dt>Review</dt><dd>${review}${hold}</dd>
      <dt>Model</dt><dd>${results ? `${results.set.model.name} ${results.set.model.version} (${results.set.model.precision})` : '—'}</dd>
    </dl>
    <details><summary>UIDs</summary><div class="uids">Study ${job.studyInstanceUid}<br>Series ${job.seriesInstanceUid}<br>SOP class ${job.sopClassUid ?? ''}
      ${results ? html`<br>Results: ${results.set.objects.map((o) => html`<br>${o.label}: series ${o.seriesInstanceUid}, instance ${o.sopInstanceUid}`)}` : ''}</div></details>
    <h2>Timeline</h2>
    <table id="timeline"><tr><th>when</th><th>state</th><th>what</th>${ctx.cluster ? html`<th>node</th>` : ''}</tr>
      ${events.map((e) => html`<tr><td>${when(e.at)}</td><td>${stateBadge(e.state)}</td><td>${e.state === 'failed' ? html`<span class="bad">${e.reason}</span>` : e.detail}</td>${ctx.cluster ? html`<td>${e.node ?? ''}</td>` : ''}</tr>`)}</table>
    <h2>Time per stage</h2>
    <table id="stages"><tr><th>stage</th><th>time</th></tr>${stages.map(([k, v]) => html`<tr><td>${k}</td><td>${duration(v)}</td></tr>`)}</table>
    </div><div>
    <h2>QC picture</h2>
    ${results?.qcPng ? html`<a href="/jobs/${job.id}/qc.png"><img class="qc" id="qc" src="/jobs/${job.id}/qc.png" alt="QC picture: brain mask outline on axial, coronal and sagittal slices"></a>` : html`<p class="muted">not made yet</p>`}
    <h2>Archives</h2>
    ${
      results
        ? results.deliveries.map((d) => {
            const stored = d.objects.filter((o) => o.record).length;
            const statuses = new Map<string, number>();
            for (const o of d.objects) if (o.record) statuses.set(o.record.description, (statuses.get(o.record.description) ?? 0) + 1);
            return html`<p><b>${d.destination}</b>: ${stored} of ${d.objects.length} objects confirmed
              ${[...statuses].map(([desc, n]) => html` · <span class="${/^Success/.test(desc) ? 'ok' : 'warn'}">${desc}</span> ×${n}`)}</p>
              <details><summary>per object</summary><table><tr><th>object</th><th>archive's answer</th><th>when</th></tr>
              ${d.objects.map((o) => html`<tr><td>${o.label} <span class="uids">${o.sopInstanceUid}</span></td><td>${o.record ? o.record.description : html`<span class="muted">not confirmed</span>`}</td><td>${when(o.record?.storedAt)}</td></tr>`)}</table></details>`;
          })
        : html`<p class="muted">no results yet</p>`
    }
    </div></div>
    <h2>Log</h2>
    <pre class="log" id="log">${lines.map((l) => html`<span class="${l.level}">${when(l.timestamp)} ${l.level.padEnd(5)} ${l.component ?? ''} ${l.message}${extraText(l.extra)}</span>\n`)}</pre>`;
  showPage(ctx, request, { title: `Job ${job.id}`, active: '/jobs', refresh: ['done', 'failed'].includes(job.state) ? undefined : 5 }, body);
}
