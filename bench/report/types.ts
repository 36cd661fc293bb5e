// The one result shape every bench/*.bench.ts returns, what `npm run bench` (bench/run.ts) writes as JSON and
// Markdown, and the chart specifications it draws as SVG (bench/report/charts.ts).

/** What the runner passes to each bench's `run()`. */
export interface BenchOptions {
  /** `--quick`: fewer rounds, fewer thread counts, smaller inputs, slow baselines left out (with a note). */
  quick: boolean;
}

/** One measured quantity: the median of `runs` measurements after warm-up, with their min and max. */
export interface Figure {
  /** What was measured, e.g. "INT8, 2 threads" or "brainstrip SCU". */
  name: string;
  /** "ms", "s", "MiB", "objects/s", "mm", … */
  unit: string;
  median: number;
  min: number;
  max: number;
  /** How many measurements the median is of (1 for a single reading such as a peak RSS). */
  runs: number;
  /** The measurements themselves, in the order taken. */
  samples?: number[];
}

/** A comparison against a baseline measured in the same run: `value` = ours over baseline (see `note`). */
export interface Ratio {
  name: string;
  value: number;
  /** What the ratio is against, e.g. "DCMTK storescu" or "FP32, same thread count". */
  baseline: string;
  /** How to read it, e.g. "baseline time / our time; above 1 is faster". */
  note?: string;
}

/** A free-form table (a bench's detail that is neither a figure nor a ratio). */
export interface Table {
  title: string;
  columns: string[];
  rows: Array<Array<string | number | null>>;
}

/**
 * A chart the runner draws as `<out>/<date>-<host>-<bench>-<id>.svg` and links from the Markdown summary.
 * Every kind shares `id` (file-name safe: letters, digits, '-'), `title` and `unit` (of the value axis).
 *
 * - `bar`: grouped horizontal bars with min–max error bars. One group per distinct `group` (in first-seen
 *   order), one bar per `series` inside it, e.g. group = model variant, series = "2 threads". `log` draws the
 *   value axis logarithmically (for values that differ by more than 10×).
 *     { kind: 'bar', id: 'latency', title: 'Model latency', unit: 'ms',
 *       bars: [{ group: 'INT8', series: '2 threads', median: 392, min: 380, max: 410 }] }
 *
 * - `line`: one line per series over a numeric x axis, each point with an optional min–max whisker, e.g.
 *   latency against thread count, or series completed against seconds since the start (throughput over time).
 *     { kind: 'line', id: 'completed', title: 'Series completed over time', unit: 'series', xLabel: 'time', xUnit: 's',
 *       series: [{ name: 'node', points: [{ x: 0, y: 0 }, { x: 31.5, y: 1 }] }] }
 *
 * - `stacked`: one horizontal bar per `label`, split into named segments (the same segment names in every bar
 *   share a colour), e.g. the end-to-end stage breakdown of a series: receive, register, infer, send.
 *     { kind: 'stacked', id: 'stages', title: 'Where a series spends its time', unit: 's',
 *       bars: [{ label: 'median series', segments: [{ name: 'receive', value: 4.1 }, { name: 'infer', value: 0.4 }] }] }
 */
export type ChartSpec = BarChartSpec | LineChartSpec | StackedBarChartSpec;

interface ChartBase {
  id: string;
  title: string;
  unit: string;
}

export interface BarChartSpec extends ChartBase {
  kind: 'bar';
  bars: Array<{ group: string; series: string; median: number; min?: number; max?: number }>;
  log?: boolean;
}

export interface LineChartSpec extends ChartBase {
  kind: 'line';
  xLabel: string;
  xUnit?: string;
  series: Array<{ name: string; points: Array<{ x: number; y: number; min?: number; max?: number }> }>;
}

export interface StackedBarChartSpec extends ChartBase {
  kind: 'stacked';
  bars: Array<{ label: string; segments: Array<{ name: string; value: number }> }>;
}

/** What every bench's `run(options)` resolves to. */
export interface BenchResult {
  title: string;
  figures: Figure[];
  ratios: Ratio[];
  tables?: Table[];
  charts?: ChartSpec[];
  /** Sentences for the reader: inputs, what was left out in quick mode and why. */
  notes?: string[];
  /** Set (to the reason) when the bench could not run here, e.g. its test data is absent; figures are then empty. */
  skipped?: string;
  /** Raw detail a bench wants kept in the JSON (not rendered). */
  extra?: Record<string, unknown>;
}

/** The module shape the runner imports: bench/<name>.bench.ts. */
export interface BenchModule {
  run(options?: BenchOptions): Promise<BenchResult>;
}
