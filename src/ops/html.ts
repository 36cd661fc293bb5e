// The building blocks of the operations pages: escaping, the page frame with its stylesheet (inline: the page
// works without any network beyond the node), dates in local time, state badges, person names.
import type { JobState } from '../jobs/state/job.js';
import { BRAINSTRIP_VERSION, NODE_VERSION } from '../version.js';

/** Text safe inside HTML element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A trusted fragment of HTML (built by these helpers from escaped parts). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Tagged template: interpolated values are escaped unless they are Html (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((value, n) => {
    const render = (v: unknown): string => (v instanceof Html ? v.text : Array.isArray(v) ? v.map(render).join('') : v === undefined || v === null || v === false ? '' : esc(v));
    out += render(value) + strings[n + 1];
  });
  return new Html(out);
}

const STATE_COLOURS: Record<JobState, string> = {
  receiving: '#5b7083',
  complete: '#8a6d00',
  queued: '#8a6d00',
  processing: '#1f5fbf',
  sending: '#7a3db8',
  done: '#1d7a35',
  failed: '#b3261e',
};

export function stateBadge(state: JobState): Html {
  return html`<span class="state" style="background:${STATE_COLOURS[state]}">${state}</span>`;
}

const dateFormat = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });

/** A timestamp in the node's local time, the UTC value one hover away. */
export function when(iso: string | null | undefined): Html {
  if (!iso) return html`<span class="muted">—</span>`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return html`${iso}`;
  return html`<time datetime="${iso}" title="${iso} (UTC)">${dateFormat.format(date)}</time>`;
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 90) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 5400) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 && u > 0 ? 1 : 0)} ${units[u]}`;
}

/** DICOM PN "Family^Given^Middle^Prefix^Suffix" as a person reads it: "FAMILY, Given Middle". */
export function personName(pn: string | null | undefined): string {
  if (!pn) return '';
  return pn
    .split('=')
    .filter(Boolean)
    .map((group) => {
      const [family = '', given = '', middle = '', prefix = '', suffix = ''] = group.split('^');
      const first = [prefix, given, middle].filter(Boolean).join(' ');
      return [family, first].filter(Boolean).join(', ') + (suffix ? ` ${suffix}` : '');
    })
    .join(' / ');
}

/** DICOM DA (YYYYMMDD) as a date. */
export function dicomDate(da: string | null | undefined): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da ?? '');
  return m ? dateFormat.format(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).replace(/,? \d\d:\d\d:\d\d$/, '') : (da ?? '');
}

export interface PageUser {
  name: string;
  role: string;
  csrf: string;
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;color:#1b1f24;background:#f4f6f8}
header{background:#16324f;color:#fff;display:flex;align-items:center;gap:1.2em;padding:.55em 1.2em;flex-wrap:wrap}
header a{color:#dce7f3;text-decoration:none;padding:.2em .1em}header a.on{color:#fff;border-bottom:2px solid #fff}
header .brand{font-weight:700;color:#fff;margin-right:.6em}header .who{margin-left:auto;font-size:.9em;display:flex;gap:.6em;align-items:center}
main{padding:1em 1.2em;max-width:1400px}h1{font-size:1.35em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.2em 0 .5em}
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{background:#fff;border:1px solid #d6dce2;border-radius:6px;padding:.7em 1em;min-width:14em}
.card .big{font-size:1.6em;font-weight:600}.muted{color:#66717d}.ok{color:#1d7a35;font-weight:600}.bad{color:#b3261e;font-weight:600}.warn{color:#8a6d00;font-weight:600}
table{border-collapse:collapse;background:#fff;width:100%;border:1px solid #d6dce2}th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #e6eaee;vertical-align:top;overflow-wrap:anywhere}
th{background:#eef2f6;font-weight:600;font-size:.92em}tr:hover td{background:#f8fafc}tr.failing td{background:#fbeaea}
.state{display:inline-block;color:#fff;border-radius:3px;padding:0 .45em;font-size:.85em;font-weight:600;letter-spacing:.02em}
form.inline{display:inline;margin-right:.4em}button,.button{font:inherit;border:1px solid #8795a1;background:#fff;border-radius:4px;padding:.25em .8em;cursor:pointer;color:#1b1f24;text-decoration:none}
button.primary{background:#1f5fbf;border-color:#1f5fbf;color:#fff}button.danger{border-color:#b3261e;color:#b3261e}
.filters{display:flex;flex-wrap:wrap;gap:.6em;align-items:end;background:#fff;border:1px solid #d6dce2;padding:.6em;border-radius:6px;margin-bottom:.8em}
.filters label{display:flex;flex-direction:column;font-size:.85em;color:#44505c}input,select{font:inherit;padding:.2em .4em}
.note{padding:.5em .8em;border-radius:4px;margin-bottom:.8em;background:#e8f1fb;border:1px solid #b5cde8}.note.error{background:#fbeaea;border-color:#e0b4b1}
.uids{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85em;word-break:break-all}details summary{cursor:pointer;color:#1f5fbf}
pre.log{background:#10161d;color:#d8e0e8;padding:.6em;border-radius:4px;max-height:28em;overflow:auto;font-size:.82em;white-space:pre-wrap}
.log .error{color:#ff8a80}.log .warn{color:#ffd54f}img.qc{max-width:100%;border:1px solid #d6dce2;background:#000}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1.2em}@media(max-width:900px){.grid2{grid-template-columns:1fr}}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;background:#fff;border:1px solid #d6dce2;padding:.7em 1em;border-radius:6px;margin:0}dl.facts dt{color:#44505c}dl.facts dd{margin:0;min-width:0;overflow-wrap:anywhere}dl.facts dd .warn{font-weight:400}
.login{max-width:22em;margin:4em auto;background:#fff;border:1px solid #d6dce2;border-radius:6px;padding:1.2em}.login label{display:block;margin:.6em 0}.login input{width:100%}
`;

const NAV: Array<[string, string]> = [
  ['/', 'Overview'],
  ['/jobs', 'Jobs'],
  ['/destinations', 'Destinations'],
  ['/self-test', 'Self-test'],
  ['/config', 'Configuration'],
  ['/audit', 'Audit log'],
];

export function page(
  options: { title: string; user?: PageUser; active?: string; note?: string; error?: string; refresh?: number; aeTitle?: string; cluster?: boolean },
  body: Html,
): string {
  const { user } = options;
  // The nodes of a cluster have a page of their own; a single node has none.
  const entries: Array<[string, string]> = options.cluster ? [NAV[0], ['/nodes', 'Nodes'], ...NAV.slice(1)] : NAV;
  const nav = user
    ? entries.map(([href, label]) => html`<a href="${href}" class="${options.active === href ? 'on' : ''}">${label}</a>`)
    : [];
  const who = user
    ? html`<span class="who">${user.name} (${user.role})
        <form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="${user.csrf}"><button type="submit">Log out</button></form></span>`
    : '';
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
${options.refresh ? `<meta http-equiv="refresh" content="${options.refresh}">` : ''}
<title>${esc(options.title)} · brainstrip${options.aeTitle ? ` ${esc(options.aeTitle)}` : ''}</title><style>${STYLE}</style></head>
<body><header><span class="brand">brainstrip${options.aeTitle ? ` · ${esc(options.aeTitle)}` : ''}</span>${nav.map(String).join('')}${who}</header>
<main>${options.note ? html`<div class="note" role="status">${options.note}</div>` : ''}${options.error ? html`<div class="note error" role="alert">${options.error}</div>` : ''}
${body}
<footer class="muted" style="margin-top:2em;font-size:.85em">brainstrip ${esc(BRAINSTRIP_VERSION)} · Node.js ${esc(NODE_VERSION)} · Times in the node's local time (${esc(timeZone)}).</footer></main></body></html>`;
}
