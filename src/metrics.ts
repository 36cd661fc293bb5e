// A small Prometheus registry: counters that modules increment and gauges read when /metrics is scraped.
// Text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/).

export type Labels = Record<string, string>;

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: () => Array<[Labels, number]>;
}

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export class Counter {
  private readonly values = new Map<string, [Labels, number]>();

  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    const entry = this.values.get(key);
    if (entry) entry[1] += by;
    else this.values.set(key, [labels, by]);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels))?.[1] ?? 0;
  }

  samples(): Array<[Labels, number]> {
    return [...this.values.values()];
  }
}

export class MetricsRegistry {
  private readonly families: Family[] = [];

  counter(name: string, help: string): Counter {
    const counter = new Counter();
    this.families.push({ name, help, type: 'counter', samples: () => counter.samples() });
    return counter;
  }

  /** A gauge whose value is read at scrape time. */
  gauge(name: string, help: string, collect: () => Array<[Labels, number]> | number): void {
    this.families.push({
      name,
      help,
      type: 'gauge',
      samples: () => {
        const v = collect();
        return typeof v === 'number' ? [[{}, v]] : v;
      },
    });
  }

  render(): string {
    const lines: string[] = [];
    for (const family of this.families) {
      lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
      let samples: Array<[Labels, number]>;
      try {
        samples = family.samples();
      } catch {
        continue; // a gauge whose source is gone (e.g. during shutdown) is left out rather than failing the scrape
      }
      for (const [labels, value] of samples) {
        const entries = Object.entries(labels);
        const text = entries.length ? `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
        lines.push(`${family.name}${text} ${Number.isFinite(value) ? value : 0}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}
