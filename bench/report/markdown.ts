// The Markdown summary of a `npm run bench` report: per bench its figures (median [min–max]), its ratios against
// the baseline of the same run, its tables and links to its charts.
import { cpuWords } from '../../src/cpu.js';
import { formatValue } from './charts.js';
import type { BenchResult, Figure } from './types.js';

export interface Report {
  date: string;
  host: string;
  quick: boolean;
  /** `instructionSets`: those of src/cpu.ts's list the CPU has (absent in reports from before it was recorded). */
  machine: { cpu: string; cores: number; instructionSets?: string[]; node: string; loadAverage1mBefore: number; loadAverage1mAfter: number };
  /** One entry per bench that ran, by name (the file name before .bench.ts). */
  benches: Record<string, BenchEntry>;
}

export type BenchEntry = BenchResult & {
  /** Wall time of the whole bench, seconds. */
  seconds: number;
  /** Set when the bench threw or returned something that is not a BenchResult; the report still gets written. */
  error?: string;
  /** The chart files written beside the report, by chart id. */
  chartFiles?: Record<string, string>;
};

const cell = (v: string | number | null) => (v === null ? '—' : String(v).replace(/\|/g, '\\|'));

export function figureText(f: Figure): string {
  return f.runs > 1 && f.max > f.min ? `${formatValue(f.median)} [${formatValue(f.min)}–${formatValue(f.max)}]` : formatValue(f.median);
}

export function markdown(report: Report): string {
  const m = report.machine;
  const lines = [
    `# Benchmarks, ${report.date.slice(0, 10)}, ${report.host}${report.quick ? ' (quick)' : ''}`,
    '',
    `${report.date} · ${m.instructionSets ? cpuWords({ name: m.cpu, cores: m.cores, instructionSets: m.instructionSets }) : `${m.cpu}, ${m.cores} cores`} · Node ${m.node} · load average ${m.loadAverage1mBefore.toFixed(1)} before, ${m.loadAverage1mAfter.toFixed(1)} after.`,
    'Figures: median of the timed runs after warm-up, [min–max]. Ratios: against a baseline measured in the same run.',
    '',
  ];
  for (const [name, b] of Object.entries(report.benches)) {
    lines.push(`## ${b.title} (\`${name}\`, ${b.seconds.toFixed(0)} s)`, '');
    if (b.error) lines.push(`**Failed**: ${b.error}`, '');
    if (b.skipped) lines.push(`Skipped: ${b.skipped}`, '');
    if (b.figures.length) {
      lines.push('| figure | median [min–max] | unit | runs |', '|---|---|---|---|');
      for (const f of b.figures) lines.push(`| ${cell(f.name)} | ${figureText(f)} | ${cell(f.unit)} | ${f.runs} |`);
      lines.push('');
    }
    if (b.ratios.length) {
      lines.push('| comparison | ratio | baseline | how to read |', '|---|---|---|---|');
      for (const r of b.ratios) lines.push(`| ${cell(r.name)} | ${r.value.toFixed(2)}× | ${cell(r.baseline)} | ${cell(r.note ?? '')} |`);
      lines.push('');
    }
    for (const t of b.tables ?? []) {
      lines.push(`${t.title}:`, '', `| ${t.columns.map(cell).join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`);
      for (const row of t.rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
      lines.push('');
    }
    for (const c of b.charts ?? []) {
      const file = b.chartFiles?.[c.id];
      if (file) lines.push(`![${c.title}](${encodeURI(file)})`, '');
    }
    for (const n of b.notes ?? []) lines.push(`- ${n}`);
    if (b.notes?.length) lines.push('');
  }
  return lines.join('\n');
}
