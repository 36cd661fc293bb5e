// What makes a bench result well formed, for the runner (which reports a malformed one as that bench's error)
// and for the test of `npm run bench -- --quick`. Says nothing about how fast anything was.
import type { BenchResult } from './types.js';

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Everything wrong with `result` as a BenchResult (empty when well formed). */
export function resultProblems(result: unknown): string[] {
  if (typeof result !== 'object' || result === null) return ['not an object'];
  const r = result as Partial<BenchResult>;
  const out: string[] = [];
  if (!text(r.title)) out.push('no title');
  if (!Array.isArray(r.figures)) out.push('no figures array');
  if (!Array.isArray(r.ratios)) out.push('no ratios array');
  if (r.skipped !== undefined && !text(r.skipped)) out.push('skipped is not a reason');
  if (!r.skipped && Array.isArray(r.figures) && r.figures.length === 0) out.push('neither figures nor a reason for skipping');
  for (const f of r.figures ?? []) {
    const at = `figure "${f?.name}"`;
    if (!text(f?.name) || !text(f?.unit)) out.push(`${at}: name and unit must be non-empty`);
    if (![f?.median, f?.min, f?.max].every(finite)) out.push(`${at}: median, min and max must be finite numbers`);
    else if (!(f.min <= f.median && f.median <= f.max)) out.push(`${at}: min ≤ median ≤ max does not hold`);
    if (!Number.isInteger(f?.runs) || f.runs < 1) out.push(`${at}: runs must be a positive integer`);
    if (f?.samples !== undefined && (!Array.isArray(f.samples) || f.samples.length !== f.runs || !f.samples.every(finite))) out.push(`${at}: samples must be runs finite numbers`);
  }
  for (const q of r.ratios ?? []) {
    if (!text(q?.name) || !text(q?.baseline) || !finite(q?.value) || q.value <= 0) out.push(`ratio "${q?.name}": name, baseline and a positive value needed`);
  }
  const ids = new Set<string>();
  for (const c of r.charts ?? []) {
    if (!c || !/^[A-Za-z0-9-]+$/.test(c.id ?? '')) out.push(`chart "${c?.id}": id must be letters, digits and '-'`);
    else if (ids.has(c.id)) out.push(`chart "${c.id}" appears twice`);
    else ids.add(c.id);
    if (!['bar', 'line', 'stacked'].includes(c?.kind)) out.push(`chart "${c?.id}": unknown kind`);
  }
  return out;
}
