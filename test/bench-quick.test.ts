// `npm run bench -- --quick` as a reader of its report sees it: every compiled benchmark appears in the JSON with
// well-formed figures (finite numbers, min ≤ median ≤ max, a unit) or the reason it was skipped, the Markdown
// summary links SVG charts that exist, and every chart is an SVG document. How fast anything was is not checked.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderChart } from '../bench/report/charts.js';
import type { Report } from '../bench/report/markdown.js';
import { resultProblems } from '../bench/report/validate.js';
import { repoRoot } from './derived-fixtures.js';
import { sharedData, sharedDataMissing } from './shared-data.js';

const runner = path.join(repoRoot, 'dist', 'bench', 'run.js');
const T1_SERIES = path.join(sharedData, 'dicom', 'siemens-xa30-t1-classic', '5001_anat-T1w_acq-tfl');
/** Benchmarks that skip themselves without ../shared/data: allowed on a developer's clone, not under CI. */
const NEEDS_SHARED: Record<string, string> = { scu: T1_SERIES, ingest: T1_SERIES };

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when a source under bench/, src/ or config/ is newer than the compiled runner. */
function buildIfStale(): void {
  const built = fs.existsSync(runner) ? fs.statSync(runner).mtimeMs : 0;
  if (Math.max(...['bench', 'src', 'config'].map((d) => newestSource(path.join(repoRoot, d)))) <= built) return;
  try {
    execFileSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(repoRoot, 'tsconfig.json')], { stdio: 'pipe' });
  } catch (error) {
    // tsc still writes dist/ on type errors; whether the runner works is what the test below finds out
    console.warn(`tsc reported errors: ${String((error as { stdout?: Buffer }).stdout ?? error).slice(0, 2000)}`);
  }
}

describe('npm run bench -- --quick', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-bench-quick-'));
  let report: Report;
  let markdown: string;
  let benches: string[];
  let log = '';

  beforeAll(async () => {
    buildIfStale();
    benches = fs
      .readdirSync(path.dirname(runner))
      .filter((f) => f.endsWith('.bench.js'))
      .map((f) => f.replace(/\.bench\.js$/, ''));
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [runner, '--quick', '--out', out], { cwd: repoRoot, maxBuffer: 1 << 26, timeout: 570_000 });
      log = `${stdout}\n${stderr}`;
    } catch (error) {
      // a failed bench makes the runner exit 1 after writing the report; the report says which and why
      log = `${(error as { stdout?: string }).stdout ?? ''}\n${(error as { stderr?: string }).stderr ?? String(error)}`;
    }
    const stems = fs.readdirSync(out).filter((f) => /^\d{4}-\d{2}-\d{2}-.+-quick\.json$/.test(f));
    if (stems.length !== 1) throw new Error(`expected one <date>-<host>-quick.json in ${out}, found ${stems.join(', ') || 'none'}; runner output:\n${log.slice(-4000)}`);
    report = JSON.parse(fs.readFileSync(path.join(out, stems[0]), 'utf8')) as Report;
    markdown = fs.readFileSync(path.join(out, stems[0].replace(/\.json$/, '.md')), 'utf8');
  }, 600_000);

  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('reports every benchmark, none failed', () => {
    expect(report.quick).toBe(true);
    expect(Object.keys(report.benches).sort()).toEqual([...benches].sort());
    for (const [name, entry] of Object.entries(report.benches)) expect(entry.error, `${name} failed; runner output:\n${log.slice(-4000)}`).toBeUndefined();
  });

  it('gives each benchmark well-formed figures and ratios, or the reason it was skipped', () => {
    for (const [name, entry] of Object.entries(report.benches)) {
      expect(resultProblems(entry), name).toEqual([]);
      if (entry.skipped) {
        if (NEEDS_SHARED[name]) expect(sharedDataMissing(`bench ${name}`, NEEDS_SHARED[name]), `${name} skipped although its data is there: ${entry.skipped}`).toBeDefined();
        continue;
      }
      expect(entry.figures.length, name).toBeGreaterThan(0);
      for (const f of entry.figures) {
        expect(f.unit, `${name}: ${f.name}`).toMatch(/\S/);
        for (const v of [f.median, f.min, f.max]) expect(Number.isFinite(v), `${name}: ${f.name}`).toBe(true);
        expect(f.min, `${name}: ${f.name}`).toBeLessThanOrEqual(f.median);
        expect(f.median, `${name}: ${f.name}`).toBeLessThanOrEqual(f.max);
        expect(f.runs, `${name}: ${f.name}`).toBeGreaterThanOrEqual(1);
      }
      for (const r of entry.ratios) {
        expect(r.value, `${name}: ${r.name}`).toBeGreaterThan(0);
        expect(r.baseline, `${name}: ${r.name}`).toMatch(/\S/);
      }
    }
  });

  it('times the model by variant (FP32 and INT8) and by thread count', () => {
    const model = report.benches.model;
    expect(model, 'the model bench ran').toBeDefined();
    const latency = model.figures.filter((f) => f.unit === 'ms').map((f) => f.name);
    for (const variant of ['FP32', 'INT8']) for (const threads of ['1 thread', '2 threads']) expect(latency.some((n) => n.includes(variant) && n.endsWith(threads)), `${variant}, ${threads}`).toBe(true);
    expect(model.ratios.some((r) => r.name.startsWith('INT8 speedup'))).toBe(true);
  });

  it('writes a Markdown summary whose chart links are SVG files beside it', () => {
    const links = [...markdown.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => decodeURI(m[1]));
    const charts = Object.values(report.benches).flatMap((b) => Object.values(b.chartFiles ?? {}));
    expect(charts.length).toBeGreaterThan(0);
    expect(links.sort()).toEqual([...charts].sort());
    for (const name of Object.keys(report.benches)) expect(markdown).toContain(`\`${name}\``);
    for (const file of links) {
      expect(file).toMatch(/\.svg$/);
      const svg = fs.readFileSync(path.join(out, file), 'utf8');
      expect(svg.trimStart().startsWith('<svg'), file).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>'), file).toBe(true);
      expect(svg.match(/<svg\b/g)?.length, file).toBe(1);
    }
  });
});

describe('chart kinds a bench can return', () => {
  it('draws a stage breakdown as stacked bars and completions over time as lines', () => {
    const stacked = renderChart({
      kind: 'stacked',
      id: 'stages',
      title: 'Where a series spends its time',
      unit: 's',
      bars: [{ label: 'median series', segments: [{ name: 'receive', value: 4 }, { name: 'register & infer', value: 2 }, { name: 'send <SCU>', value: 3 }] }],
    });
    expect(stacked).toMatch(/^<svg[^>]*>[\s\S]*<\/svg>\n$/);
    expect(stacked).toContain('send &lt;SCU&gt;');
    expect(stacked.match(/<rect [^>]*fill="#/g)?.length).toBeGreaterThanOrEqual(3);
    const line = renderChart({
      kind: 'line',
      id: 'completed',
      title: 'Series completed over time',
      unit: 'series',
      xLabel: 'time',
      xUnit: 's',
      series: [{ name: 'node', points: [{ x: 0, y: 0 }, { x: 30, y: 1 }, { x: 55, y: 2 }] }],
    });
    expect(line).toMatch(/^<svg[^>]*>[\s\S]*<\/svg>\n$/);
    expect(line).toMatch(/<path d="M[\d.]+,[\d.]+L/);
    expect(line).not.toMatch(/NaN|Infinity/);
  });
});
