// The effective configuration, read-only, with where each value came from.
import { configSources } from '../../config/sources.js';
import type { WebContext } from './context.js';
import { html } from './html.js';
import { type PageRequest, showPage } from './page-parts.js';

export function configurationPage(ctx: WebContext, request: PageRequest): void {
  const values = configSources(ctx.config as unknown as Record<string, unknown>, ctx.configFile);
  const body = html`<h1>Configuration</h1>
      <p>The effective configuration, read-only. Precedence: default &lt; file${ctx.configFile ? html` (<code>${ctx.configFile}</code>)` : ' (none given)'} &lt; environment. Secrets are masked.</p>
      <table id="config"><tr><th>key</th><th>value</th><th>source</th><th>meaning</th></tr>
      ${values.map(
        (v) => html`<tr><td><code>${v.key}</code></td><td><code>${typeof v.value === 'string' ? v.value : JSON.stringify(v.value)}</code></td>
          <td>${v.source === 'environment' ? html`environment <code>${v.env}</code>` : v.source}</td><td class="muted">${v.doc}</td></tr>`,
      )}</table>`;
  showPage(ctx, request, { title: 'Configuration', active: '/config' }, body);
}
