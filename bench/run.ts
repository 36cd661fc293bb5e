// `npm run bench [-- [--quick] [--out DIR] [name …]]`: runs every compiled bench/*.bench.js (or those whose name
// starts with one of the names given), each measuring its own baseline in the same run, and writes
// <out>/<YYYY-MM-DD>-<host>[-quick].json (every bench's BenchResult), a .md summary beside it and one SVG per
// chart (<stem>-<bench>-<chart>.svg). `--quick` asks each bench for fewer rounds and smaller inputs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { describeCpu } from '../src/cpu.js';
import { renderChart } from './report/charts.js';
import { type BenchEntry, type Report, figureText, markdown } from './report/markdown.js';
import type { BenchModule } from './report/types.js';
import { resultProblems } from './report/validate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, fs.existsSync(path.resolve(here, '../package.json')) ? '..' : '../..');

function printEntry(name: string, b: BenchEntry): void {
  if (b.skipped) console.log(`${name}: skipped (${b.skipped})`);
  if (b.figures.length) console.table(Object.fromEntries(b.figures.map((f) => [f.name, { 'median [min–max]': figureText(f), unit: f.unit, runs: f.runs }])));
  if (b.ratios.length) console.table(Object.fromEntries(b.ratios.map((r) => [r.name, { ratio: r.value, baseline: r.baseline }])));
  for (const n of b.notes ?? []) console.log(`  ${n}`);
}

const usage = `usage: npm run bench -- [--quick] [--out <dir>] [bench …]

runs every benchmark (or those whose name starts with one given: ${fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .map((f) => f.replace(/\.bench\.js$/, ''))
  .join(', ')}), each against a baseline measured in the same run,
and writes <out>/<date>-<host>.{json,md} and its charts (default out: bench/results)`;

function parseCommandLine() {
  try {
    return parseArgs({ allowPositionals: true, options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseCommandLine();
  if (values.help) {
    console.log(usage);
    return;
  }
  const quick = values.quick ?? false;
  const outDir = path.resolve(values.out ?? path.join(repoRoot, 'bench', 'results'));
  const files = fs
    .readdirSync(here)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => positionals.length === 0 || positionals.some((o) => f.startsWith(o)))
    .sort();
  if (files.length === 0) throw new Error(`no bench matches ${positionals.join(', ')}`);

  const started = new Date();
  const cpu = describeCpu();
  const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_');
  const stem = `${started.toISOString().slice(0, 10)}-${host}${quick ? '-quick' : ''}`;
  const report: Report = {
    date: started.toISOString(),
    host,
    quick,
    machine: { cpu: cpu.name, cores: cpu.cores, instructionSets: cpu.instructionSets, node: process.version, loadAverage1mBefore: os.loadavg()[0], loadAverage1mAfter: 0 },
    benches: {},
  };
  fs.mkdirSync(outDir, { recursive: true });
  for (const file of files) {
    const name = file.replace(/\.bench\.js$/, '');
    console.log(`\n== ${name}${quick ? ' (quick)' : ''} ==`);
    const t0 = performance.now();
    let entry: BenchEntry;
    try {
      const module = (await import(pathToFileURL(path.join(here, file)).href)) as BenchModule;
      const result = await module.run({ quick });
      const problems = resultProblems(result);
      entry = problems.length
        ? { title: name, figures: [], ratios: [], extra: { returned: result }, error: `not a well-formed result: ${problems.join('; ')}`, seconds: 0 }
        : { ...result, seconds: 0 };
    } catch (error) {
      console.error(`${name}: ${error instanceof Error ? error.stack : String(error)}`);
      entry = { title: name, figures: [], ratios: [], error: error instanceof Error ? error.message : String(error), seconds: 0 };
    }
    entry.seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
    if (entry.error) {
      console.error(`${name}: ${entry.error}`);
      process.exitCode = 1;
    }
    entry.chartFiles = {};
    for (const chart of entry.charts ?? []) {
      const svg = `${stem}-${name}-${chart.id}.svg`;
      fs.writeFileSync(path.join(outDir, svg), renderChart(chart));
      entry.chartFiles[chart.id] = svg;
    }
    report.benches[name] = entry;
    printEntry(name, entry);
  }
  report.machine.loadAverage1mAfter = os.loadavg()[0];
  const json = path.join(outDir, `${stem}.json`);
  fs.writeFileSync(json, `${JSON.stringify(report, null, 1)}\n`);
  fs.writeFileSync(path.join(outDir, `${stem}.md`), markdown(report));
  console.log(`\nreport: ${json}, ${stem}.md and ${Object.values(report.benches).reduce((n, b) => n + Object.keys(b.chartFiles ?? {}).length, 0)} charts beside it`);
}

main()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : String(error));
    process.exitCode = 1;
  })
  // The report is written: a handle some bench left open (a worker thread, a socket) must not keep the run alive.
  .finally(() => setTimeout(() => process.exit(), 2000).unref());
