// A job's stages, named from its recorded states and details: the job page, GET /api/jobs/:id and the
// brainstrip_job_stage_seconds histogram all name and measure them the same way.
import type { JobState } from './job.js';

/**
 * Stage names in the order a job passes them. `processing` and `extraction` are what a processing step is called
 * when it does not say more (a step before reading, or an extractor that does not report its steps).
 */
export const STAGES = ['receiving', 'waiting', 'processing', 'reading', 'extraction', 'registration', 'segmentation', 'building', 'sending'] as const;
export type Stage = (typeof STAGES)[number];

/** The details the series processor sets while computing, by stage. */
const PROCESSING_STEPS: Array<[RegExp, Stage]> = [
  [/^reading /, 'reading'],
  [/^brain extraction/, 'extraction'],
  [/^registering/, 'registration'],
  [/^segmenting/, 'segmentation'],
  [/^building /, 'building'],
];

/** The stage a job is in with this state and detail; undefined for an end (done, failed). */
export function stageOf(state: JobState, detail: string | null | undefined): Stage | undefined {
  switch (state) {
    case 'receiving':
    case 'complete':
      return 'receiving';
    case 'queued':
      return 'waiting';
    case 'processing':
      return PROCESSING_STEPS.find(([pattern]) => pattern.test(detail ?? ''))?.[1] ?? 'processing';
    case 'sending':
      return 'sending';
    default:
      return undefined;
  }
}

/** Seconds a job spent in each stage, summed over retries, from its events (oldest first); the current stage counts up to `now`. */
export function stageDurations(events: ReadonlyArray<{ at: string; state: JobState; detail: string | null }>, now = Date.now()): Partial<Record<Stage, number>> {
  const seconds = new Map<Stage, number>();
  events.forEach((e, n) => {
    const stage = stageOf(e.state, e.detail);
    if (!stage) return; // an end, not a stage (until an operator's retry)
    const end = n + 1 < events.length ? Date.parse(events[n + 1].at) : now;
    seconds.set(stage, (seconds.get(stage) ?? 0) + Math.max(0, end - Date.parse(e.at)) / 1000);
  });
  const out: Partial<Record<Stage, number>> = {};
  for (const stage of STAGES) if (seconds.has(stage)) out[stage] = Math.round(seconds.get(stage)! * 1000) / 1000;
  return out;
}
