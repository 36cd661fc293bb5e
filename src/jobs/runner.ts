// The job runner: takes queued jobs in order, hands each to the SeriesProcessor, and records how it ended.
// Resolving = done; throwing = failed with the error's message; a shutdown puts the job back in the queue.
import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../log.js';
import type { MetricsRegistry } from '../metrics.js';
import type { NodeControls } from './controls.js';
import type { JobStore } from './store.js';
import type { Job, SeriesProcessor } from './types.js';

export interface RunnerOptions {
  concurrency: number;
  /** Root of the per-job work folders. */
  workRoot: string;
  /** The spooled instance files of a job. */
  instancePaths: (job: Job) => Promise<string[]>;
  /** How often the queue is looked at without a wake-up (a safety net, e.g. jobs queued by another process). */
  pollMs?: number;
  /** A job still running after this long fails (and frees its slot); 0: no limit. */
  timeoutMs?: number;
  /** Operator pauses: a paused `processing` starts no job, a paused `sending` holds jobs before they send. */
  controls?: NodeControls;
}

/** What an operator asked of a running job: stop it as failed, or put it back in the queue at once. */
export type Interruption = { state: 'failed'; reason: string } | { state: 'queued'; detail: string };

export class JobRunner {
  private running = new Map<number, { controller: AbortController; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Processor calls that have not returned yet (including ones abandoned after a timeout). */
  private readonly unsettled = new Set<Promise<void>>();
  private readonly interruptions = new Map<number, Interruption>();
  private readonly log = logger('jobs.runner');
  private readonly failures;
  private readonly stageSeconds;

  constructor(
    private readonly store: JobStore,
    private readonly processor: SeriesProcessor,
    private readonly options: RunnerOptions,
    metrics?: MetricsRegistry,
  ) {
    this.failures = metrics?.counter('brainstrip_job_failures_total', 'Jobs that ended failed');
    this.stageSeconds = metrics?.histogram('brainstrip_job_stage_seconds', 'Time a job spent in each stage (processing: reading, extraction, building; sending: delivery)', ['stage']);
    options.controls?.onChange((what, paused) => {
      if (what === 'processing' && !paused) this.wake();
    });
  }

  get concurrency(): number {
    return this.options.concurrency;
  }

  isRunning(id: number): boolean {
    return this.running.has(id);
  }

  /** Stops a running job the way the operator asked; false when the job is not running here. */
  interrupt(id: number, how: Interruption): boolean {
    const running = this.running.get(id);
    if (!running) return false;
    this.interruptions.set(id, how);
    running.controller.abort(new Error(how.state === 'failed' ? how.reason : how.detail));
    return true;
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), this.options.pollMs ?? 2000);
    this.timer.unref();
    this.wake();
  }

  get active(): number {
    return this.running.size;
  }

  /** Starts queued jobs while there is a free slot. */
  wake(): void {
    // concurrency 0 pauses processing: series are still received and queued.
    while (!this.stopped && this.running.size < this.options.concurrency && !this.options.controls?.isPaused('processing')) {
      let job: Job | undefined;
      try {
        job = this.store.claimNext();
      } catch (error) {
        this.log.error(`cannot read the job queue: ${(error as Error).message}`);
        return;
      }
      if (!job) return;
      const controller = new AbortController();
      const done = this.run(job, controller)
        .catch((error: Error) => {
          // Only the store can fail here (e.g. closed at shutdown); the job is then recovered at the next start.
          this.log.error(`cannot record the end of job ${job.id}: ${error.message}`);
        })
        .finally(() => {
          this.running.delete(job.id);
          this.wake();
        });
      this.running.set(job.id, { controller, done });
    }
  }

  private async run(job: Job, controller: AbortController): Promise<void> {
    const signal = controller.signal;
    let timedOut = false;
    const limit = this.options.timeoutMs ?? 0;
    const timer =
      limit > 0
        ? setTimeout(() => {
            timedOut = true;
            controller.abort(new Error(`processing took longer than ${Math.round(limit / 60_000)} min (jobs.timeoutMinutes)`));
          }, limit)
        : undefined;
    // A processor that ignores its signal must not hold the slot: the abort ends the wait for it.
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    aborted.catch(() => undefined);
    const ids = { jobId: job.id, studyInstanceUid: job.studyInstanceUid, seriesInstanceUid: job.seriesInstanceUid };
    const log = logger('jobs', ids);
    const workDir = path.join(this.options.workRoot, String(job.id));
    try {
      await fs.promises.mkdir(workDir, { recursive: true });
      const instancePaths = await this.options.instancePaths(job);
      log.info('processing started', { instances: instancePaths.length, attempt: job.attempts });
      // Stage durations for /metrics: the current stage ends when the processor moves on, or when the job is done.
      let stage: 'processing' | 'sending' = 'processing';
      let stageStart = performance.now();
      const endStage = () => this.stageSeconds?.observe({ stage }, (performance.now() - stageStart) / 1000);
      const processing = this.processor({
        job,
        instancePaths,
        workDir,
        log,
        signal,
        onlyDestination: this.store.destinationOf(job.seriesInstanceUid),
        whenSendingAllowed: async () => {
          const controls = this.options.controls;
          if (!controls?.isPaused('sending')) return;
          if (timer) clearTimeout(timer);
          this.store.setState(job.id, 'sending', 'waiting: sending is paused');
          log.info('sending is paused; the job waits');
          await controls.whenRunning('sending', signal);
        },
        setState: (state, detail) => {
          if (signal.aborted) return;
          // jobs.timeoutMinutes bounds the computation; an archive outage is bounded by results.retry instead.
          if (state === 'sending' && timer) clearTimeout(timer);
          if (state !== stage) {
            endStage();
            stage = state;
            stageStart = performance.now();
          }
          this.store.setState(job.id, state, detail ?? null);
          log.info(`job ${state}${detail ? `: ${detail}` : ''}`);
        },
      });
      // Shutdown gives a processor that honours its signal a moment to stop cleanly.
      this.unsettled.add(processing);
      void processing.catch(() => undefined).finally(() => this.unsettled.delete(processing));
      await Promise.race([aborted, processing]);
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      endStage();
      this.store.setState(job.id, 'done');
      log.info('job done');
    } catch (error) {
      const interruption = this.interruptions.get(job.id);
      if (interruption) {
        this.interruptions.delete(job.id);
        if (interruption.state === 'failed') {
          this.store.setState(job.id, 'failed', null, interruption.reason);
          log.warn(`job stopped: ${interruption.reason}`);
        } else {
          this.store.setState(job.id, 'queued', interruption.detail);
          log.info(`job queued again: ${interruption.detail}`);
        }
        return;
      }
      if (signal.aborted && !timedOut) {
        this.store.setState(job.id, 'queued', 'interrupted by shutdown; queued again');
        log.warn('job interrupted by shutdown; it runs again at the next start');
        return;
      }
      const cause = timedOut ? signal.reason : error;
      const reason = cause instanceof Error ? cause.message : String(cause);
      this.store.setState(job.id, 'failed', null, reason);
      this.failures?.inc();
      log.error(`job failed: ${reason}`);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Stops taking jobs, aborts the running ones (they are queued again) and waits at most `graceMs` for them. */
  async close(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const running = [...this.running.values()];
    for (const r of running) r.controller.abort(new Error('node shutting down'));
    await Promise.allSettled(running.map((r) => r.done));
    await Promise.race([Promise.allSettled([...this.unsettled]), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
  }
}
