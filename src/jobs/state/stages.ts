// Time per stage, from a job's recorded events: each event carries the stage the job entered (a typed value the
// processing named), so the figures do not depend on how the detail text is worded.
import { STAGES, type Stage } from './job.js';

/** Seconds a job spent in each stage, summed over retries, from its events (oldest first); the current stage counts up to `now`. */
export function stageDurations(events: ReadonlyArray<{ at: string; stage: Stage | null }>, now = Date.now()): Partial<Record<Stage, number>> {
  const seconds = new Map<Stage, number>();
  events.forEach((e, n) => {
    if (!e.stage) return; // an end, not a stage (until an operator's retry)
    const end = n + 1 < events.length ? Date.parse(events[n + 1].at) : now;
    seconds.set(e.stage, (seconds.get(e.stage) ?? 0) + Math.max(0, end - Date.parse(e.at)) / 1000);
  });
  const out: Partial<Record<Stage, number>> = {};
  for (const stage of STAGES) if (seconds.has(stage)) out[stage] = Math.round(seconds.get(stage)! * 1000) / 1000;
  return out;
}

/** When the job entered the stretch of `stage` its events end with (ignoring the last `skip` events), in ms. */
export function trailingStageStart(events: ReadonlyArray<{ at: string; stage: Stage | null }>, stage: Stage, skip = 0): number | undefined {
  let start: string | undefined;
  for (let n = events.length - 1 - skip; n >= 0 && events[n].stage === stage; n--) start = events[n].at;
  return start === undefined ? undefined : Date.parse(start);
}
