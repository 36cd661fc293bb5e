// The filter of the jobs list, read from its query: shown by the jobs page and applied by the bulk retry of the
// failed jobs it shows.
import type { JobFilter } from '../jobs/state/store.js';
import { JOB_STATES, type JobState } from '../jobs/state/job.js';

/** Parses the filter form of the jobs list; dates are local calendar days. */
export function jobFilter(params: URLSearchParams): JobFilter & { fromDay?: string; toDay?: string } {
  const state = params.get('state') ?? '';
  const day = (v: string | null, plus = 0) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v ?? '');
    return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plus).toISOString() : undefined;
  };
  return {
    state: (JOB_STATES as readonly string[]).includes(state) ? (state as JobState) : undefined,
    from: day(params.get('from')),
    to: day(params.get('to'), 1),
    fromDay: params.get('from') ?? undefined,
    toDay: params.get('to') ?? undefined,
    callingAe: params.get('ae') || undefined,
    text: params.get('q')?.trim() || undefined,
    review: params.get('review') === 'flagged' || params.get('review') === 'held' ? (params.get('review') as 'flagged' | 'held') : undefined,
    limit: 500,
  };
}

/** The filter's part of a query string ('' or '?…'), to carry it into links and actions. */
export function filterQuery(params: URLSearchParams): string {
  const keep = new URLSearchParams();
  for (const key of ['state', 'from', 'to', 'ae', 'q', 'review']) {
    const v = params.get(key);
    if (v) keep.set(key, v);
  }
  const s = keep.toString();
  return s ? `?${s}` : '';
}
