// The node's Prometheus metrics, on prom-client: counters that modules increment, gauges read when /metrics is
// scraped, and histograms of how long each stage of a job takes. One registry per node (not prom-client's global
// one), so tests can run several nodes in one process.
import client from 'prom-client';

export type Labels = Record<string, string>;

/** A counter whose label names are taken from the first use (every use of one counter has the same labels). */
export interface Counter {
  inc(labels?: Labels, by?: number): void;
}

/** A gauge's value, or its value for each set of labels. */
export type GaugeValue = Array<[Labels, number]> | number;

export interface Histogram {
  observe(labels: Labels, value: number): void;
}

export class MetricsRegistry {
  readonly registry = new client.Registry();

  /**
   * With `processMetrics`, also prom-client's standard process and Node.js metrics (resident memory, heap, event
   * loop lag): what an operator watches to see the node keep up and stay within its memory.
   */
  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) client.collectDefaultMetrics({ register: this.registry });
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter {
    const counter = new client.Counter({ name, help, labelNames, registers: [this.registry] });
    return {
      inc: (labels: Labels = {}, by = 1) => {
        if (Object.keys(labels).length === 0) counter.inc(by);
        else counter.inc(labels, by);
      },
    };
  }

  /** A gauge whose value is read at scrape time; a source that throws (e.g. during shutdown) leaves it out. */
  gauge(name: string, help: string, collect: () => GaugeValue | Promise<GaugeValue>, labelNames: string[] = []): void {
    new client.Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        let value: GaugeValue;
        try {
          value = await collect();
        } catch {
          return;
        }
        if (typeof value === 'number') this.set(Number.isFinite(value) ? value : 0);
        else for (const [labels, v] of value) this.set(labels, Number.isFinite(v) ? v : 0);
      },
    });
  }

  /** A histogram (seconds, by default buckets from 0.1 s to 30 min). */
  histogram(name: string, help: string, labelNames: string[], buckets = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800]): Histogram {
    const histogram = new client.Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
    return { observe: (labels, value) => histogram.observe(labels, value) };
  }

  /** The text exposition format (0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
