// The operations page: server-rendered HTML for the radiology IT team. Every page needs a login; every action
// (a POST) needs the admin role and the session's CSRF token, and is written to the audit log with its outcome.
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { BrainstripConfig } from '../../config/schema.js';
import { configSources } from '../../config/sources.js';
import { dataFolder } from '../data-folder.js';
import { PAUSABLE, type NodeControls, type Pausable } from '../jobs/controls.js';
import type { Interruption } from '../jobs/runner.js';
import { stageDurations } from '../jobs/state/stages.js';
import type { JobFilter, JobStore } from '../jobs/state/store.js';
import { JOB_STATES, type Job, type JobState } from '../jobs/state/job.js';
import { echo } from '../scu/echo.js';
import { destinationKey } from '../scu/ledger.js';
import { type Accounts, type Session, sameToken } from './accounts.js';
import { type Html, bytes, dicomDate, duration, esc, html, page, personName, stateBadge, when } from './html.js';
import { type FactsDeps, describeJobs, forgetDeliveries, jobLogLines, jobResults, lastSendResults } from './job-facts.js';
import type { Readiness } from './http.js';
import { SelfTests } from './self-test.js';

export interface RunnerControl {
  readonly active: number;
  readonly concurrency: number;
  isRunning(id: number): boolean;
  interrupt(id: number, how: Interruption): boolean;
  /** A finished job again: to the send queue when its results are on disk, else to the queue. */
  retry(id: number, detail: string): Promise<'sending' | 'queued' | undefined>;
  wake(): void;
}

export interface WebDeps {
  config: BrainstripConfig;
  configFile?: string;
  store: JobStore;
  accounts: Accounts;
  controls: NodeControls;
  runner: RunnerControl;
  instancePaths(job: Job): Promise<string[]>;
  spoolRoot: string;
  dicomPort(): number;
}

const COOKIE = 'brainstrip_session';
const MAX_FORM_BYTES = 64 * 1024;

function cookies(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk as Buffer);
  }
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) return new URLSearchParams();
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendHtml(res: http.ServerResponse, status: number, body: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // Only this node's own inline styles and no scripts at all; no framing (clickjacking of action buttons).
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    ...headers,
  });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

function redirect(res: http.ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', ...headers });
  res.end();
}

/** A local path to go back to after an action (never another site). */
function safeBack(value: string | null | undefined, fallback: string): string {
  return value && value.startsWith('/') && !value.startsWith('//') ? value : fallback;
}

function withNote(location: string, note: string, error = false): string {
  const url = new URL(location, 'http://x');
  url.searchParams.set(error ? 'error' : 'note', note);
  return `${url.pathname}${url.search}`;
}

function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** Parses the filter form of the jobs list; dates are local calendar days. */
function jobFilter(params: URLSearchParams): JobFilter & { fromDay?: string; toDay?: string } {
  const state = params.get('state') ?? '';
  const day = (v: string | null, plus = 0) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v ?? '');
    return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plus).toISOString() : undefined;
  };
  return {
    state: (JOB_STATES as readonly string[]).includes(state) ? (state as JobState) : undefined,
    from: day(params.get('from')),
    to: day(params.get('to'), 1),
    fromDay: params.get('from') ?? undefined,
    toDay: params.get('to') ?? undefined,
    callingAe: params.get('ae') || undefined,
    text: params.get('q')?.trim() || undefined,
    limit: 500,
  };
}

function filterQuery(params: URLSearchParams): string {
  const keep = new URLSearchParams();
  for (const key of ['state', 'from', 'to', 'ae', 'q']) {
    const v = params.get(key);
    if (v) keep.set(key, v);
  }
  const s = keep.toString();
  return s ? `?${s}` : '';
}

export function createWebHandler(deps: WebDeps) {
  const { config, store, accounts, controls, runner } = deps;
  const folder = dataFolder(config);
  const dataDir = folder.root;
  const destinations = config.results.destinations;
  const facts: FactsDeps = {
    store,
    folder,
    destinations,
    instancePaths: deps.instancePaths,
  };
  const selfTests = new SelfTests({
    store,
    workRoot: folder.work,
    aeTitle: config.receive.aeTitle,
    dicomPort: deps.dicomPort,
    callingAeTitle: config.ops.selfTestCallingAe,
    scpTls: config.tls.scpEnabled,
    echoCallingAe: config.results.callingAeTitle,
  });
  const echoResults = new Map<string, { at: string; by: string; ok: boolean; description: string; milliseconds: number }>();
  const sessionMaxAge = config.ops.sessionHours * 3600;
  // Failed logins per user name: after LOGIN_FAILURES in LOGIN_WINDOW_MS the name is locked for the rest of the
  // window, which makes guessing a password over the network slow whatever the scrypt cost.
  const LOGIN_FAILURES = 5;
  const LOGIN_WINDOW_MS = 15 * 60_000;
  const failedLogins = new Map<string, number[]>();
  const recentFailures = (name: string) => (failedLogins.get(name) ?? []).filter((t) => Date.now() - t < LOGIN_WINDOW_MS);

  // Walking the spool is not free; once every half minute is enough for a dashboard.
  let spoolUse: { at: number; bytes: number; files: number; free: number; size: number } | undefined;
  const spoolUsage = async () => {
    if (spoolUse && Date.now() - spoolUse.at < 30_000) return spoolUse;
    let total = 0;
    let files = 0;
    const walk = async (dir: string) => {
      for (const entry of await fs.promises.readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile()) {
          files++;
          total += (await fs.promises.stat(full).catch(() => ({ size: 0 }))).size;
        }
      }
    };
    await walk(deps.spoolRoot);
    const stat = await fs.promises.statfs(fs.existsSync(deps.spoolRoot) ? deps.spoolRoot : dataDir);
    spoolUse = { at: Date.now(), bytes: total, files, free: stat.bavail * stat.bsize, size: stat.blocks * stat.bsize };
    return spoolUse;
  };

  const pageUser = (s: Session) => ({ name: s.user.name, role: s.user.role, csrf: s.csrf });
  const isAdmin = (s: Session) => s.user.role === 'admin';

  /** A button that POSTs one action with the session's CSRF token. */
  const action = (s: Session, href: string, label: string, options: { back?: string; fields?: Record<string, string>; cls?: string; confirm?: boolean } = {}): Html => {
    if (!isAdmin(s)) return html``;
    const fields = Object.entries({ ...options.fields, back: options.back ?? '' }).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`);
    return html`<form class="inline" method="post" action="${href}"><input type="hidden" name="csrf" value="${s.csrf}">${fields}<button type="submit" class="${options.cls ?? ''}">${label}</button></form>`;
  };

  // The job's own identifiers are on the page already; a log line shows what else it says.
  const extraText = (extra: Record<string, unknown>): string => {
    const rest = Object.entries(extra).filter(([k]) => !['jobId', 'studyInstanceUid', 'seriesInstanceUid', 'callingAe'].includes(k));
    return rest.length ? ` ${rest.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}` : '';
  };

  const jobName = (job: Job): string => job.seriesDescription || `series ${job.seriesNumber ?? ''}`.trim() || 'series';

  // ---------- pages ----------

  async function overview(s: Session, params: URLSearchParams, readiness: Readiness): Promise<string> {
    const checks = readiness.checks();
    const ready = Object.values(checks).every(Boolean);
    const counts = store.countsByState();
    const hour = store.activity(new Date(Date.now() - 3600_000));
    const day = store.activity(new Date(Date.now() - 86400_000));
    const spool = await spoolUsage();
    const sends = lastSendResults(facts);
    const pauses = PAUSABLE.map((what) => {
      const state = controls.get(what);
      return html`<tr><td>${what}</td><td>${state.paused ? html`<span class="warn">paused</span> by ${state.by ?? '?'} ${when(state.at)}` : html`<span class="ok">running</span>`}</td>
        <td>${action(s, '/pause', state.paused ? `Resume ${what}` : `Pause ${what}`, { fields: { what, paused: state.paused ? '0' : '1' }, back: '/', cls: state.paused ? 'primary' : 'danger' })}</td></tr>`;
    });
    const activityRow = (label: string, a: typeof hour) =>
      html`<tr><td>${label}</td><td>${a.received}</td><td>${a.done}</td><td>${a.failed ? html`<span class="bad">${a.failed}</span>` : '0'}</td>
        <td>${duration(percentile(a.turnaroundSeconds, 50))}</td><td>${duration(percentile(a.turnaroundSeconds, 95))}</td></tr>`;
    const body = html`<h1>Overview</h1>
      <div class="cards">
        <div class="card"><div class="muted">Node</div><div class="big ${ready ? 'ok' : 'bad'}">${ready ? 'healthy' : 'not ready'}</div>
          <div class="muted">${Object.entries(checks).map(([k, v]) => `${k} ${v ? 'ok' : 'down'}`).join(' · ')}</div></div>
        <div class="card"><div class="muted">DICOM</div><div class="big">${config.receive.aeTitle}</div><div>port ${deps.dicomPort()}${config.tls.scpEnabled ? ' (TLS)' : ''}</div></div>
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
      <table><tr><th>stage</th><th>state</th><th></th></tr>${pauses}</table>
      <h2>Destinations</h2>
      <table><tr><th>archive</th><th>last send</th></tr>
        ${sends.map((d) => html`<tr><td>${d.key}</td><td>${lastSendCell(d)}</td></tr>`)}</table>`;
    return page({ title: 'Overview', user: pageUser(s), active: '/', note: params.get('note') ?? undefined, error: params.get('error') ?? undefined, aeTitle: config.receive.aeTitle }, body);
  }

  function lastSendCell(d: ReturnType<typeof lastSendResults>[number]): Html {
    if (d.lastFailure) return html`<span class="bad">failed</span> ${when(d.lastFailure.finishedAt)} — <a href="/jobs/${d.lastFailure.id}">${d.lastFailure.reason}</a>`;
    if (d.lastStored) return html`<span class="ok">${d.lastStored.description}</span> ${when(d.lastStored.storedAt)}`;
    return html`<span class="muted">nothing sent yet</span>`;
  }

  async function jobsList(s: Session, params: URLSearchParams): Promise<string> {
    await describeJobs(facts, store.undescribed(200));
    const filter = jobFilter(params);
    const jobs = store.search(filter);
    const query = filterQuery(params);
    const failedShown = jobs.filter((j) => j.state === 'failed').length;
    const aes = store.callingAes();
    const rows = jobs.map(
      (job) => html`<tr>
        <td><a href="/jobs/${job.id}">${job.id}</a></td>
        <td>${stateBadge(job.state)}${job.state === 'failed' ? html`<div class="bad" style="font-weight:400;max-width:28em">${job.reason}</div>` : html`<div class="muted">${job.detail}</div>`}</td>
        <td>${personName(job.patientName)}<div class="muted">${job.patientId}</div></td>
        <td><a href="/jobs/${job.id}">${jobName(job)}</a><div class="muted">${job.studyDescription}${job.accessionNumber ? ` · acc. ${job.accessionNumber}` : ''}</div></td>
        <td>${job.callingAe}</td><td>${job.instances}</td><td>${when(job.createdAt)}</td><td>${when(job.finishedAt)}</td></tr>`,
    );
    const body = html`<h1>Jobs</h1>
      <form class="filters" method="get" action="/jobs">
        <label>State<select name="state"><option value="">any</option>${JOB_STATES.map((st) => html`<option ${filter.state === st ? 'selected' : ''}>${st}</option>`)}</select></label>
        <label>Received from<input type="date" name="from" value="${filter.fromDay ?? ''}"></label>
        <label>to<input type="date" name="to" value="${filter.toDay ?? ''}"></label>
        <label>Calling AE<select name="ae"><option value="">any</option>${aes.map((ae) => html`<option ${filter.callingAe === ae ? 'selected' : ''}>${ae}</option>`)}</select></label>
        <label>Patient ID, name, accession or series<input type="search" name="q" value="${filter.text ?? ''}" size="28"></label>
        <button type="submit" class="primary">Filter</button> <a class="button" href="/jobs">Clear</a>
      </form>
      <p>${jobs.length} job(s)${jobs.length === filter.limit ? ' (the most recent shown)' : ''}.
        ${failedShown > 0 ? action(s, `/jobs/retry${query}`, `Retry the ${failedShown} failed job(s) shown`, { back: `/jobs${query}` }) : ''}</p>
      <table id="jobs"><tr><th>#</th><th>state</th><th>patient</th><th>series</th><th>from</th><th>instances</th><th>received</th><th>finished</th></tr>${rows}</table>`;
    return page({ title: 'Jobs', user: pageUser(s), active: '/jobs', note: params.get('note') ?? undefined, error: params.get('error') ?? undefined, refresh: 10, aeTitle: config.receive.aeTitle }, body);
  }

  async function jobDetail(s: Session, job: Job, params: URLSearchParams): Promise<string> {
    await describeJobs(facts, [job]);
    const events = store.events(job.id);
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
      job.state === 'failed' ? action(s, `/jobs/${job.id}/retry`, 'Retry from the failed stage', { back, cls: 'primary' }) : '',
      running ? action(s, `/jobs/${job.id}/retry`, job.state === 'sending' ? 'Retry sending now' : 'Restart now', { back, cls: 'primary' }) : '',
      ['receiving', 'complete', 'queued', 'processing', 'sending'].includes(job.state) ? action(s, `/jobs/${job.id}/cancel`, 'Cancel', { back, cls: 'danger' }) : '',
      job.state === 'done' && results ? action(s, `/jobs/${job.id}/resend`, 'Re-send results', { back }) : '',
    ];
    const review = summary?.flaggedForReview
      ? html`<span class="bad">flagged for review</span>: ${summary.reviewReason ?? `the brain mask agrees poorly with the registered atlas (Dice ${summary.atlasAgreementDice}, expected at least ${summary.reviewDice ?? config.model.reviewDice})`}`
      : summary
        ? html`<span class="ok">not flagged</span> (atlas agreement Dice ${summary.atlasAgreementDice})`
        : html`<span class="muted">no results yet</span>`;
    const body = html`<h1>${jobName(job)} ${stateBadge(job.state)}</h1>
      <p>${actions}</p>
      <div class="grid2"><div>
      <dl class="facts">
        <dt>Patient</dt><dd>${personName(job.patientName) || '—'} <span class="muted">${job.patientId}</span></dd>
        <dt>Study</dt><dd>${job.studyDescription || '—'} ${dicomDate(job.studyDate)}${job.accessionNumber ? ` · accession ${job.accessionNumber}` : ''}</dd>
        <dt>Series</dt><dd>${job.seriesNumber ? `#${job.seriesNumber} ` : ''}${job.seriesDescription ?? ''} (${job.modality ?? '?'}, ${job.instances} instances, ${bytes(job.bytes)})</dd>
        <dt>From</dt><dd>${job.callingAe ?? '—'}</dd>
        <dt>Now</dt><dd>${job.state === 'failed' ? html`<span class="bad">${job.reason}</span>` : (job.detail ?? job.state)}${problem ? html`<div class="warn">last problem ${when(problem.timestamp)}: ${problem.message}</div>` : ''}</dd>
        <dt>Attempts</dt><dd>${job.attempts}</dd>
        <dt>Received</dt><dd>${when(job.createdAt)}</dd><dt>Finished</dt><dd>${when(job.finishedAt)}</dd>
        <dt>Brain volume</dt><dd>${summary?.brainVolumeMl !== undefined ? `${summary.brainVolumeMl} ml` : '—'}</dd>
        <dt>Review</dt><dd>${review}</dd>
        <dt>Model</dt><dd>${results ? `${results.set.model.name} ${results.set.model.version} (${results.set.model.precision})` : '—'}</dd>
      </dl>
      <details><summary>UIDs</summary><div class="uids">Study ${job.studyInstanceUid}<br>Series ${job.seriesInstanceUid}<br>SOP class ${job.sopClassUid ?? ''}
        ${results ? html`<br>Results: ${results.set.objects.map((o) => html`<br>${o.label}: series ${o.seriesInstanceUid}, instance ${o.sopInstanceUid}`)}` : ''}</div></details>
      <h2>Timeline</h2>
      <table id="timeline"><tr><th>when</th><th>state</th><th>what</th></tr>
        ${events.map((e) => html`<tr><td>${when(e.at)}</td><td>${stateBadge(e.state)}</td><td>${e.state === 'failed' ? html`<span class="bad">${e.reason}</span>` : e.detail}</td></tr>`)}</table>
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
    return page(
      { title: `Job ${job.id}`, user: pageUser(s), active: '/jobs', note: params.get('note') ?? undefined, error: params.get('error') ?? undefined, refresh: ['done', 'failed'].includes(job.state) ? undefined : 5, aeTitle: config.receive.aeTitle },
      body,
    );
  }

  function destinationsPage(s: Session, params: URLSearchParams): string {
    const sends = lastSendResults(facts);
    const rows = sends.map((d, n) => {
      const e = echoResults.get(d.key);
      return html`<tr><td><b>${d.destination.aeTitle}</b><div class="muted">${d.destination.host}:${d.destination.port}${d.destination.tls ? ' (TLS)' : ''}</div></td>
        <td>${lastSendCell(d)}</td>
        <td>${e ? html`<span class="${e.ok ? 'ok' : 'bad'}">${e.ok ? 'OK' : 'failed'}</span>: ${e.description} (${e.milliseconds} ms) ${when(e.at)} by ${e.by}` : html`<span class="muted">not tested</span>`}</td>
        <td>${action(s, `/destinations/${n}/echo`, 'C-ECHO', { back: '/destinations', cls: 'primary' })}</td></tr>`;
    });
    const body = html`<h1>Destinations</h1>
      <p>Archives that receive the skull-stripped series and the SEG (<code>results.destinations</code>); calling AE title ${config.results.callingAeTitle}.</p>
      <table id="destinations"><tr><th>archive</th><th>last send result</th><th>last C-ECHO</th><th></th></tr>${rows}</table>`;
    return page({ title: 'Destinations', user: pageUser(s), active: '/destinations', note: params.get('note') ?? undefined, error: params.get('error') ?? undefined, aeTitle: config.receive.aeTitle }, body);
  }

  function selfTestPage(s: Session, params: URLSearchParams): string {
    const runs = selfTests.list();
    const active = runs.some((r) => !r.finished);
    const body = html`<h1>Self-test</h1>
      <p>Makes a synthetic head series, sends it to this node's own DICOM port (${config.receive.aeTitle}, port ${deps.dicomPort()}) as
        ${config.ops.selfTestCallingAe}, and follows it through processing and sending. Its results go to the chosen destination only.</p>
      ${
        isAdmin(s)
          ? html`<form method="post" action="/self-test" class="filters"><input type="hidden" name="csrf" value="${s.csrf}">
          <label>Destination<select name="destination">${destinations.map((d, n) => html`<option value="${n}">${destinationKey(d)}</option>`)}</select></label>
          <button type="submit" class="primary">Run the self-test</button></form>`
          : ''
      }
      ${runs.map(
        (r) => html`<h2>Run ${r.id} ${r.finished ? (r.ok ? html`<span class="ok">passed</span>` : html`<span class="bad">failed</span>`) : html`<span class="warn">running</span>`}</h2>
        <p class="muted">started ${when(r.startedAt)} by ${r.by}, destination ${r.destination}${r.jobId ? html` · <a href="/jobs/${r.jobId}">job ${r.jobId}</a>` : ''}</p>
        <table class="self-test"><tr><th>stage</th><th>result</th><th>time</th><th></th></tr>
        ${r.stages.map((st) => html`<tr><td>${st.name}</td><td class="${st.status === 'ok' ? 'ok' : st.status === 'failed' ? 'bad' : 'muted'}">${st.status}</td><td>${duration(st.seconds)}</td><td>${st.detail}</td></tr>`)}</table>`,
      )}`;
    return page({ title: 'Self-test', user: pageUser(s), active: '/self-test', note: params.get('note') ?? undefined, error: params.get('error') ?? undefined, refresh: active ? 3 : undefined, aeTitle: config.receive.aeTitle }, body);
  }

  function configPage(s: Session): string {
    const values = configSources(config as unknown as Record<string, unknown>, deps.configFile);
    const body = html`<h1>Configuration</h1>
      <p>The effective configuration, read-only. Precedence: default &lt; file${deps.configFile ? html` (<code>${deps.configFile}</code>)` : ' (none given)'} &lt; environment. Secrets are masked.</p>
      <table id="config"><tr><th>key</th><th>value</th><th>source</th><th>meaning</th></tr>
      ${values.map(
        (v) => html`<tr><td><code>${v.key}</code></td><td><code>${typeof v.value === 'string' ? v.value : JSON.stringify(v.value)}</code></td>
          <td>${v.source === 'environment' ? html`environment <code>${v.env}</code>` : v.source}</td><td class="muted">${v.doc}</td></tr>`,
      )}</table>`;
    return page({ title: 'Configuration', user: pageUser(s), active: '/config', aeTitle: config.receive.aeTitle }, body);
  }

  function auditPage(s: Session): string {
    const entries = accounts.auditLog(500);
    const body = html`<h1>Audit log</h1>
      <table id="audit"><tr><th>when</th><th>who</th><th>what</th><th>on</th><th>outcome</th></tr>
      ${entries.map((e) => html`<tr><td>${when(e.at)}</td><td>${e.user}</td><td>${e.action}</td><td>${e.target}</td><td>${e.outcome}</td></tr>`)}</table>`;
    return page({ title: 'Audit log', user: pageUser(s), active: '/audit', aeTitle: config.receive.aeTitle }, body);
  }

  function loginPage(next: string, error?: string): string {
    const none = accounts.users().length === 0;
    const body = html`<form class="login" method="post" action="/login">
      <h1>brainstrip · ${config.receive.aeTitle}</h1>
      ${none ? html`<p class="note error">No user yet. On the node, create the first admin: <code>brainstrip user add NAME --role admin</code></p>` : ''}
      <input type="hidden" name="next" value="${next}">
      <label>User <input name="user" autocomplete="username" required autofocus></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit" class="primary">Log in</button></form>`;
    return page({ title: 'Log in', error }, body);
  }

  // ---------- actions ----------

  async function retry(job: Job, by: string): Promise<string> {
    if (job.state === 'failed') {
      const where = await runner.retry(job.id, `retry requested by ${by}`);
      if (!where) return `job ${job.id} changed meanwhile; not retried`;
      return where === 'sending' ? `job ${job.id} sends its results again (nothing is computed again)` : `job ${job.id} queued again; it resumes at the stage where it stopped`;
    }
    if (runner.interrupt(job.id, { state: 'queued', detail: `retry requested by ${by}` })) return `job ${job.id} restarted now`;
    throw new Error(`job ${job.id} is ${job.state}: only failed or running jobs can be retried`);
  }

  async function cancel(job: Job, by: string): Promise<string> {
    const reason = `cancelled by ${by}`;
    if (runner.interrupt(job.id, { state: 'failed', reason })) return `job ${job.id} cancelled`;
    if (store.transition(job.id, 'cancel', { reason })) return `job ${job.id} cancelled`;
    throw new Error(`job ${job.id} is ${job.state}: nothing to cancel`);
  }

  async function resend(job: Job, by: string): Promise<string> {
    if (job.state !== 'done' && job.state !== 'failed') throw new Error(`job ${job.id} is ${job.state}: re-send is for finished jobs`);
    const forgotten = await forgetDeliveries(facts, job);
    if (!(await runner.retry(job.id, `re-send requested by ${by}`))) throw new Error(`job ${job.id} changed meanwhile`);
    return `job ${job.id} queued to send its results again (${forgotten} confirmed object(s) will be sent again)`;
  }

  async function handleAction(s: Session, route: string, form: URLSearchParams, url: URL, res: http.ServerResponse): Promise<void> {
    const by = s.user.name;
    const one = /^\/jobs\/(\d+)\/(retry|cancel|resend)$/.exec(route);
    const fallback = one ? `/jobs/${one[1]}` : route.startsWith('/destinations') ? '/destinations' : route === '/jobs/retry' ? '/jobs' : '/';
    const back = safeBack(form.get('back'), fallback);
    let target = route;
    let outcome: string;
    try {
      if (one) {
        const job = store.get(Number(one[1]));
        if (!job) throw new Error(`no job ${one[1]}`);
        target = `job ${job.id} (${job.seriesDescription ?? job.seriesInstanceUid})`;
        outcome = await (one[2] === 'retry' ? retry : one[2] === 'cancel' ? cancel : resend)(job, by);
      } else if (route === '/jobs/retry') {
        const jobs = store.search(jobFilter(url.searchParams)).filter((j) => j.state === 'failed');
        target = `failed jobs shown by filter ${filterQuery(url.searchParams) || '(none)'}`;
        let n = 0;
        for (const job of jobs) if (await runner.retry(job.id, `bulk retry requested by ${by}`)) n++;
        outcome = `${n} failed job(s) queued again`;
      } else if (route === '/pause') {
        const what = form.get('what') as Pausable;
        if (!PAUSABLE.includes(what)) throw new Error(`cannot pause '${what}'`);
        const paused = form.get('paused') === '1';
        controls.set(what, paused, by);
        target = what;
        outcome = `${what} ${paused ? 'paused' : 'resumed'}`;
      } else if (/^\/destinations\/\d+\/echo$/.test(route)) {
        const d = destinations[Number(route.split('/')[2])];
        if (!d) throw new Error('no such destination');
        target = destinationKey(d);
        const result = await echo(d, {
          callingAeTitle: config.results.callingAeTitle,
          timeoutMs: config.results.timeouts.connectMs,
          tls: { ca: config.tls.ca || undefined, certificate: config.tls.certificate || undefined, privateKey: config.tls.privateKey || undefined },
        });
        echoResults.set(target, { ...result, at: new Date().toISOString(), by });
        if (!result.ok) throw new Error(`C-ECHO ${target}: ${result.description}`);
        outcome = `C-ECHO ${target}: ${result.description} in ${result.milliseconds} ms`;
      } else if (route === '/self-test') {
        const d = destinations[Number(form.get('destination') ?? 0)];
        if (!d) throw new Error('no destination configured (results.destinations)');
        const run = selfTests.start(d, by);
        target = destinationKey(d);
        outcome = `self-test ${run.id} started`;
        accounts.audit(by, 'self-test', target, outcome);
        return redirect(res, withNote('/self-test', outcome));
      } else {
        return sendHtml(res, 404, page({ title: 'Not found', user: pageUser(s) }, html`<h1>No such action</h1>`));
      }
    } catch (error) {
      const message = (error as Error).message;
      accounts.audit(by, route.replace(/\/\d+/g, '/:id'), target, `refused: ${message}`);
      return redirect(res, withNote(back, message, true));
    }
    accounts.audit(by, route.replace(/\/\d+/g, '/:id'), target, outcome);
    redirect(res, withNote(back, outcome));
  }

  /**
   * POST /api/jobs/:id/retry, the page's *Retry* as JSON. The page's rules apply: with a login the admin role and the
   * session's CSRF token (header `x-csrf-token`); without one only where ops.apiWithoutLogin allows the API.
   */
  async function apiAction(req: http.IncomingMessage, res: http.ServerResponse, route: string, session: Session | undefined): Promise<void> {
    const by = session ? session.user.name : 'api (ops.apiWithoutLogin)';
    const action = route.replace(/\/\d+/g, '/:id');
    if (session) {
      const header = req.headers['x-csrf-token'];
      if (!sameToken(typeof header === 'string' ? header : undefined, session.csrf)) {
        accounts.audit(by, action, null, 'refused: missing or wrong CSRF token');
        return sendJson(res, 403, { error: "send the session's CSRF token (GET /api/session) in the x-csrf-token header" });
      }
      if (!isAdmin(session)) {
        accounts.audit(by, action, null, 'refused: admin role needed');
        return sendJson(res, 403, { error: `this action needs the admin role; ${by} is a ${session.user.role}` });
      }
    }
    const one = /^\/api\/jobs\/(\d+)\/retry$/.exec(route);
    if (!one) return sendJson(res, 404, { error: 'no such action', actions: ['POST /api/jobs/:id/retry'] });
    const job = store.get(Number(one[1]));
    if (!job) return sendJson(res, 404, { error: `no job ${one[1]}` });
    const target = `job ${job.id} (${job.seriesDescription ?? job.seriesInstanceUid})`;
    try {
      const outcome = await retry(job, by);
      accounts.audit(by, action, target, outcome);
      sendJson(res, 200, { outcome, job: store.get(job.id) });
    } catch (error) {
      const message = (error as Error).message;
      accounts.audit(by, action, target, `refused: ${message}`);
      sendJson(res, 409, { error: message, job });
    }
  }

  // ---------- the handler ----------

  /** Serves everything but /health and /metrics. Answers true when it handled the request. */
  return async function handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL, route: string, readiness: Readiness): Promise<boolean> {
    const secure = config.ops.secureCookie ? '; Secure' : '';
    const token = cookies(req)[COOKIE];
    const session = accounts.session(token);

    if (route === '/login') {
      if (req.method === 'POST') {
        const form = await readForm(req);
        const name = form.get('user') ?? '';
        const next = safeBack(form.get('next'), '/');
        if (recentFailures(name).length >= LOGIN_FAILURES) {
          accounts.audit(name || '(empty)', 'login', null, `refused: ${LOGIN_FAILURES} failed logins in ${LOGIN_WINDOW_MS / 60_000} min`);
          sendHtml(res, 429, loginPage(next, `Too many failed logins for this user; try again in ${LOGIN_WINDOW_MS / 60_000} minutes.`));
          return true;
        }
        const login = await accounts.login(name, form.get('password') ?? '');
        if (!login) {
          failedLogins.set(name, [...recentFailures(name), Date.now()]);
          if (failedLogins.size > 1000) for (const key of failedLogins.keys()) if (recentFailures(key).length === 0) failedLogins.delete(key);
          accounts.audit(name || '(empty)', 'login', null, 'refused: wrong user name or password');
          sendHtml(res, 401, loginPage(next, 'Wrong user name or password.'));
          return true;
        }
        failedLogins.delete(name);
        accounts.audit(name, 'login', null, 'ok');
        redirect(res, next, { 'set-cookie': `${COOKIE}=${login.token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${sessionMaxAge}${secure}` });
        return true;
      }
      sendHtml(res, 200, loginPage(safeBack(url.searchParams.get('next'), '/')));
      return true;
    }

    if (route.startsWith('/api/')) {
      if (!session && !config.ops.apiWithoutLogin) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ error: 'log in first (POST /login) or set ops.apiWithoutLogin on a closed test network' })}\n`);
        return true;
      }
      if (req.method === 'POST') {
        await apiAction(req, res, route, session);
        return true;
      }
      if (route === '/api/session' && session) {
        // A script logged in with the cookie reads its CSRF token here (another site cannot read a GET's answer).
        sendJson(res, 200, { user: session.user.name, role: session.user.role, csrf: session.csrf });
        return true;
      }
      return false; // the read-only JSON API lives in http.ts
    }

    if (!session) {
      if (req.method === 'GET' || req.method === 'HEAD') redirect(res, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
      else sendHtml(res, 403, page({ title: 'Forbidden' }, html`<h1>Log in first</h1>`));
      return true;
    }

    if (req.method === 'POST') {
      const form = await readForm(req);
      if (!sameToken(form.get('csrf') ?? undefined, session.csrf)) {
        accounts.audit(session.user.name, route, null, 'refused: missing or wrong CSRF token');
        sendHtml(res, 403, page({ title: 'Forbidden', user: pageUser(session) }, html`<h1>Refused</h1><p>The form did not carry this session's CSRF token. Reload the page and try again.</p>`));
        return true;
      }
      if (route === '/logout') {
        if (token) accounts.logout(token);
        accounts.audit(session.user.name, 'logout', null, 'ok');
        redirect(res, '/login', { 'set-cookie': `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${secure}` });
        return true;
      }
      if (!isAdmin(session)) {
        accounts.audit(session.user.name, route, null, 'refused: admin role needed');
        sendHtml(res, 403, page({ title: 'Forbidden', user: pageUser(session) }, html`<h1>Refused</h1><p>This action needs the admin role; ${session.user.name} is a ${session.user.role}.</p>`));
        return true;
      }
      await handleAction(session, route, form, url, res);
      return true;
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const params = url.searchParams;
    if (route === '/') sendHtml(res, 200, await overview(session, params, readiness));
    else if (route === '/jobs') sendHtml(res, 200, await jobsList(session, params));
    else if (route === '/destinations') sendHtml(res, 200, destinationsPage(session, params));
    else if (route === '/self-test') sendHtml(res, 200, selfTestPage(session, params));
    else if (route === '/config') sendHtml(res, 200, configPage(session));
    else if (route === '/audit') sendHtml(res, 200, auditPage(session));
    else {
      const detail = /^\/jobs\/(\d+)(\/qc\.png)?$/.exec(route);
      const job = detail && store.get(Number(detail[1]));
      if (!detail) return false;
      if (!job) {
        sendHtml(res, 404, page({ title: 'Not found', user: pageUser(session), active: '/jobs' }, html`<h1>No job ${detail[1]}</h1>`));
        return true;
      }
      if (detail[2]) {
        const results = await jobResults(facts, job);
        if (!results?.qcPng) {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('no QC picture for this job\n');
          return true;
        }
        res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'private, max-age=60', 'x-content-type-options': 'nosniff' });
        res.end(fs.readFileSync(results.qcPng));
        return true;
      }
      sendHtml(res, 200, await jobDetail(session, job, params));
    }
    return true;
  };
}

export { esc };
