// Charts as plain SVG text, one implementation for every report: grouped horizontal bars with min–max error
// bars (linear or log axis), lines over a numeric x axis, and stacked bars. See ChartSpec in ./types.ts.
import type { BarChartSpec, ChartSpec, LineChartSpec, StackedBarChartSpec } from './types.js';

const COLOURS = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac', '#eeca3b'];
const colour = (i: number) => COLOURS[i % COLOURS.length];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const px = (x: number) => Number(x.toFixed(1));

/** A readable number: 3 significant digits, no exponent below a million. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return a === 0 ? '0' : v.toPrecision(2);
}

/** An axis tick: whole numbers without decimals, others as short as they are. */
const tickText = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en-US') : String(Number(v.toPrecision(4))));

/** Round numbers from lo to hi for a linear axis (about `count` of them). */
function ticks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const step = [1, 2, 2.5, 5, 10].map((m) => m * 10 ** Math.floor(Math.log10(raw))).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function legend(names: string[], x0: number, y: number): string[] {
  const parts: string[] = [];
  let x = x0;
  names.forEach((name, i) => {
    parts.push(`<rect x="${x}" y="${y - 10}" width="10" height="10" fill="${colour(i)}"/>`, `<text x="${x + 14}" y="${y}">${esc(name)}</text>`);
    x += 24 + name.length * 7;
  });
  return parts;
}

/** A value axis from lo to hi mapped onto [x0, x1]: linear from 0, or logarithmic by decades. */
function valueAxis(values: number[], x0: number, x1: number, log: boolean) {
  if (log) {
    const positive = values.filter((v) => v > 0);
    if (positive.length === 0) positive.push(1);
    const lo = Math.floor(Math.log10(Math.min(...positive)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive))));
    const x = (v: number) => x0 + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (x1 - x0);
    const marks: number[] = [];
    for (let p = lo; p <= hi; p++) marks.push(10 ** p);
    return { x, marks, origin: x0 };
  }
  const hi = Math.max(...values, 0) || 1;
  const lo = Math.min(...values, 0);
  const marks = ticks(lo, hi);
  const top = Math.max(hi, marks[marks.length - 1]);
  const x = (v: number) => x0 + ((v - lo) / (top - lo || 1)) * (x1 - x0);
  return { x, marks, origin: x(0) };
}

export function barChart(spec: BarChartSpec): string {
  const groups = [...new Set(spec.bars.map((b) => b.group))];
  const series = [...new Set(spec.bars.map((b) => b.series))];
  const barH = 14;
  const groupH = series.length * barH + 12;
  const left = Math.min(420, 20 + Math.max(...groups.map((g) => g.length), 4) * 7);
  const width = left + 560;
  const top = 40;
  const height = top + groups.length * groupH + 56;
  const axis = valueAxis(spec.bars.flatMap((b) => [b.median, b.min ?? b.median, b.max ?? b.median]), left, width - 130, spec.log ?? false);
  const parts: string[] = [];
  for (const m of axis.marks) {
    const gx = px(axis.x(m));
    parts.push(`<line x1="${gx}" y1="${top - 5}" x2="${gx}" y2="${height - 46}" stroke="#ddd"/>`, `<text x="${gx}" y="${height - 32}" text-anchor="middle">${tickText(m)}</text>`);
  }
  parts.push(`<text x="${width - 96}" y="${height - 32}">${esc(spec.unit)}${spec.log ? ' (log)' : ''}</text>`);
  groups.forEach((g, i) => {
    const y0 = top + i * groupH;
    parts.push(`<text x="${left - 8}" y="${y0 + (series.length * barH) / 2 + 4}" text-anchor="end">${esc(g)}</text>`);
    series.forEach((s, j) => {
      const bar = spec.bars.find((b) => b.group === g && b.series === s);
      if (!bar) return;
      const y = y0 + j * barH;
      const x0 = px(axis.origin);
      const xm = px(axis.x(bar.median));
      parts.push(`<rect x="${Math.min(x0, xm)}" y="${y}" width="${Math.max(1, Math.abs(xm - x0))}" height="${barH - 2}" fill="${colour(j)}"><title>${esc(`${g} · ${s}: ${formatValue(bar.median)} ${spec.unit}`)}</title></rect>`);
      if (bar.min !== undefined && bar.max !== undefined && bar.max > bar.min) {
        const a = px(axis.x(bar.min));
        const b = px(axis.x(bar.max));
        const cy = y + (barH - 2) / 2;
        parts.push(`<path d="M${a},${cy}H${b}M${a},${cy - 4}V${cy + 4}M${b},${cy - 4}V${cy + 4}" stroke="#333" fill="none"/>`);
      }
      parts.push(`<text x="${px(Math.max(xm, axis.x(bar.max ?? bar.median)) + 4)}" y="${y + barH - 4}">${formatValue(bar.median)}</text>`);
    });
  });
  if (series.length > 1 || series[0] !== '') parts.push(...legend(series, left, height - 10));
  return frame(width, height, `${spec.title} (${spec.unit}; median, whiskers min–max)`, parts);
}

export function lineChart(spec: LineChartSpec): string {
  const width = 760;
  const height = 380;
  const left = 70;
  const right = width - 30;
  const top = 40;
  const bottom = height - 60;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = spec.series.flatMap((s) => s.points.flatMap((p) => [p.y, p.min ?? p.y, p.max ?? p.y]));
  // the x axis spans the data (thread counts start at 1, time at 0); whole-number data get whole-number ticks
  const xLo = xs.length ? Math.min(...xs) : 0;
  const xHi = xs.length && Math.max(...xs) > xLo ? Math.max(...xs) : xLo + 1;
  const integers = xs.every(Number.isInteger);
  const xt = ticks(xLo, xHi).filter((t) => !integers || Number.isInteger(t));
  const xAxis = { x: (v: number) => left + ((v - xLo) / (xHi - xLo)) * (right - left) };
  const yTop = Math.max(...ys, 0) || 1;
  const yt = ticks(Math.min(...ys, 0), yTop);
  const yMax = Math.max(yTop, yt[yt.length - 1]);
  const yMin = Math.min(...ys, 0);
  const y = (v: number) => bottom - ((v - yMin) / (yMax - yMin || 1)) * (bottom - top);
  const parts: string[] = [];
  for (const t of yt) parts.push(`<line x1="${left}" y1="${px(y(t))}" x2="${right}" y2="${px(y(t))}" stroke="#ddd"/>`, `<text x="${left - 6}" y="${px(y(t)) + 4}" text-anchor="end">${tickText(t)}</text>`);
  for (const t of xt) parts.push(`<line x1="${px(xAxis.x(t))}" y1="${bottom}" x2="${px(xAxis.x(t))}" y2="${bottom + 4}" stroke="#333"/>`, `<text x="${px(xAxis.x(t))}" y="${bottom + 18}" text-anchor="middle">${tickText(t)}</text>`);
  parts.push(
    `<path d="M${left},${top}V${bottom}H${right}" stroke="#333" fill="none"/>`,
    `<text x="${(left + right) / 2}" y="${bottom + 36}" text-anchor="middle">${esc(spec.xLabel)}${spec.xUnit ? ` (${esc(spec.xUnit)})` : ''}</text>`,
    `<text x="14" y="${(top + bottom) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(top + bottom) / 2})">${esc(spec.unit)}</text>`,
  );
  spec.series.forEach((s, i) => {
    const points = [...s.points].sort((a, b) => a.x - b.x);
    if (points.length === 0) return;
    parts.push(`<path d="${points.map((p, k) => `${k ? 'L' : 'M'}${px(xAxis.x(p.x))},${px(y(p.y))}`).join('')}" stroke="${colour(i)}" stroke-width="2" fill="none"/>`);
    for (const p of points) {
      const cx = px(xAxis.x(p.x));
      if (p.min !== undefined && p.max !== undefined && p.max > p.min) parts.push(`<path d="M${cx},${px(y(p.min))}V${px(y(p.max))}M${cx - 4},${px(y(p.min))}H${cx + 4}M${cx - 4},${px(y(p.max))}H${cx + 4}" stroke="${colour(i)}" fill="none"/>`);
      if (points.length <= 40) parts.push(`<circle cx="${cx}" cy="${px(y(p.y))}" r="3" fill="${colour(i)}"><title>${esc(`${s.name}: ${formatValue(p.x)} → ${formatValue(p.y)} ${spec.unit}`)}</title></circle>`);
    }
  });
  parts.push(...legend(spec.series.map((s) => s.name), left, height - 8));
  return frame(width, height, `${spec.title} (${spec.unit})`, parts);
}

export function stackedBarChart(spec: StackedBarChartSpec): string {
  const names = [...new Set(spec.bars.flatMap((b) => b.segments.map((s) => s.name)))];
  const barH = 22;
  const left = Math.min(420, 20 + Math.max(...spec.bars.map((b) => b.label.length), 4) * 7);
  const width = left + 560;
  const top = 40;
  const height = top + spec.bars.length * (barH + 10) + 56;
  const totals = spec.bars.map((b) => b.segments.reduce((sum, s) => sum + Math.max(0, s.value), 0));
  const axis = valueAxis(totals, left, width - 130, false);
  const parts: string[] = [];
  for (const m of axis.marks) {
    const gx = px(axis.x(m));
    parts.push(`<line x1="${gx}" y1="${top - 5}" x2="${gx}" y2="${height - 46}" stroke="#ddd"/>`, `<text x="${gx}" y="${height - 32}" text-anchor="middle">${tickText(m)}</text>`);
  }
  parts.push(`<text x="${width - 96}" y="${height - 32}">${esc(spec.unit)}</text>`);
  spec.bars.forEach((bar, i) => {
    const y = top + i * (barH + 10);
    parts.push(`<text x="${left - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${esc(bar.label)}</text>`);
    let at = 0;
    for (const seg of bar.segments) {
      const v = Math.max(0, seg.value);
      const a = px(axis.x(at));
      const b = px(axis.x(at + v));
      parts.push(`<rect x="${a}" y="${y}" width="${Math.max(0.5, b - a)}" height="${barH}" fill="${colour(names.indexOf(seg.name))}" stroke="white"><title>${esc(`${bar.label} · ${seg.name}: ${formatValue(seg.value)} ${spec.unit}`)}</title></rect>`);
      at += v;
    }
    parts.push(`<text x="${px(axis.x(at)) + 4}" y="${y + barH / 2 + 4}">${formatValue(totals[i])}</text>`);
  });
  parts.push(...legend(names, left, height - 10));
  return frame(width, height, `${spec.title} (${spec.unit})`, parts);
}

/** The SVG text of any chart spec. */
export function renderChart(spec: ChartSpec): string {
  switch (spec.kind) {
    case 'bar':
      return barChart(spec);
    case 'line':
      return lineChart(spec);
    case 'stacked':
      return stackedBarChart(spec);
    default:
      throw new Error(`unknown chart kind ${(spec as { kind: string }).kind}`);
  }
}

/**
 * The quantization report's latency chart: one group of bars per variant, one bar per thread count, seconds on
 * a log axis (the PyTorch baseline and the INT8 model differ by well over 10×).
 */
export function latencyChart(rows: Array<{ label: string; byThreads: Record<number, number> }>, threads: number[]): string {
  return barChart({
    kind: 'bar',
    id: 'latency',
    title: 'Inference latency per 3D volume',
    unit: 's',
    log: true,
    bars: rows.flatMap((r) => threads.map((t) => ({ group: r.label, series: `${t} thread${t === 1 ? '' : 's'}`, median: r.byThreads[t] / 1000 }))),
  });
}
