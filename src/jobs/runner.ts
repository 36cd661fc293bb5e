// The job runner: two queues over the durable job store. The compute queue takes queued jobs in order and runs
// the processor's computation in one of `concurrency` slots; once the results are durably in the job's folder the
// slot is free and the job is `sending`, where the send queue takes it in one of `sendConcurrency` slots of its own.
// An archive that is down therefore holds up sending only: the next series is computed meanwhile. Resolving = the
// stage's work is done; throwing = failed with the error's message; a shutdown leaves the job where it can resume.
import { abortion } from './abortion.js';
import fs from 'node:fs';
import { type Logger, logger } from '../log.js';
import { releaseMemory } from '../memory.js';
import type { MetricsRegistry } from '../metrics.js';
import type { NodeControls } from './controls.js';
import { OnePassAtATime } from './one-pass.js';
import { OrderedMoves } from './ordered-moves.js';
import { HeldForReviewError, type JobContext, ResultsMissingError, type SeriesProcessor } from './processing/contract.js';
import type { Job, ProcessingStep, Stage } from './state/job.js';
import { trailingStageStart } from './state/stages.js';
import type { JobStore } from './state/store.js';
import type { TransitionChange, TransitionName } from './state/transitions.js';

export interface RunnerOptions {
  concurrency: number;
  /** Jobs sending at once (results.sendConcurrency), apart from the computing ones. */
  sendConcurrency?: number;
  /** The job's own work folder. */
  workDir: (job: Job) => string;
  /** The spooled instance files of a job. */
  instancePaths: (job: Job) => Promise<string[]>;
  /** How often the queue is looked at without a wake-up (a safety net, e.g. jobs queued by another process). */
  pollMs?: number;
  /** A computation still running after this long fails (and frees its slot); 0: no limit. Sending is not bounded by it. */
  timeoutMs?: number;
  /** Operator pauses: a paused `processing` starts no job, a paused `sending` holds jobs before they send. */
  controls?: NodeControls;
}

/** What an operator asked of a running job: stop it as failed, or run it again at once. */
export type Interruption = { state: 'failed'; reason: string } | { state: 'queued'; detail: string };

interface Slot {
  controller: AbortController;
  done: Promise<void>;
}

export class JobRunner {
  /** Jobs computing. */
  private running = new Map<number, Slot>();
  /** Jobs sending their results. */
  private sending = new Map<number, Slot>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly moves: OrderedMoves;
  private readonly filling = new OnePassAtATime(() => this.fillSlots());
  /** Processor calls that have not returned yet (including ones abandoned after a timeout). */
  private readonly unsettled = new Set<Promise<void>>();
  private readonly interruptions = new Map<number, Interruption>();
  private readonly log = logger('jobs.runner');
  private readonly failures;
  private readonly done;
  private readonly stageSeconds;

  constructor(
    private readonly store: JobStore,
    private readonly processor: SeriesProcessor,
    private readonly options: RunnerOptions,
    metrics?: MetricsRegistry,
  ) {
    this.moves = new OrderedMoves(store);
    this.failures = metrics?.counter('brainstrip_job_failures_total', 'Jobs that ended failed');
    this.done = metrics?.counter('brainstrip_jobs_done_total', 'Series whose results every destination confirmed (job done)');
    this.stageSeconds = metrics?.histogram(
      'brainstrip_job_stage_seconds',
      'Time a job spent in each stage: waiting (queued), reading, extraction, registration, segmentation, building, sending; processing before the first step',
      ['stage'],
    );
    options.controls?.onChange((what, paused) => {
      if ((what === 'processing' || what === 'sending') && !paused) this.wake();
    });
  }

  get concurrency(): number {
    return this.options.concurrency;
  }

  get sendConcurrency(): number {
    return this.options.sendConcurrency ?? 2;
  }

  /** Jobs computing now. */
  get active(): number {
    return this.running.size;
  }

  /** Jobs sending now. */
  get activeSends(): number {
    return this.sending.size;
  }

  /** The jobs computing or sending now. */
  runningJobs(): number[] {
    return [...this.running.keys(), ...this.sending.keys()];
  }

  isRunning(id: number): boolean {
    return this.running.has(id) || this.sending.has(id);
  }

  /** Stops a running job the way the operator asked; false when the job is not running here. */
  interrupt(id: number, how: Interruption): boolean {
    const slot = this.running.get(id) ?? this.sending.get(id);
    if (!slot) return false;
    this.interruptions.set(id, how);
    slot.controller.abort(new Error(how.state === 'failed' ? how.reason : how.detail));
    return true;
  }

  /** Whether the job's results are complete on disk, so that it can go straight to sending. */
  async hasResults(job: Job): Promise<boolean> {
    try {
      return this.processor.hasResults({ job, instancePaths: await this.options.instancePaths(job), workDir: this.workDir(job) });
    } catch {
      return false;
    }
  }

  /**
   * Runs a finished (done or failed) job again from where it stopped: with its results on disk it goes straight to
   * the send queue (nothing is computed again; objects an archive confirmed are not sent again), else to the queue.
   * Undefined when the job is not finished (any more).
   */
  async retry(id: number, detail: string): Promise<'sending' | 'queued' | undefined> {
    const job = await this.store.get(id);
    if (!job || (job.state !== 'done' && job.state !== 'failed')) return undefined;
    // Each transition is refused unless the job is still finished: nothing changes between the two checks.
    const where = (await this.hasResults(job)) && (await this.store.transition(id, 'resend', { detail })) ? 'sending' : (await this.store.transition(id, 'retry', { detail })) ? 'queued' : undefined;
    this.wake();
    return where;
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), this.options.pollMs ?? 2000);
    this.timer.unref();
    this.wake();
  }

  /**
   * Starts queued jobs while there is a free compute slot, and sending jobs while there is a free send slot. One
   * pass at a time: slots are counted and busy jobs listed before the store answers, so two passes at once could
   * fill a slot twice or send one job twice. A wake-up during a pass makes it look again when it ends.
   */
  wake(): void {
    this.filling.request();
  }

  private async fillSlots(): Promise<void> {
    // concurrency 0 pauses processing: series are still received and queued.
    while (!this.stopped && this.running.size < this.options.concurrency && !this.options.controls?.isPaused('processing')) {
      let job: Job | undefined;
      try {
        job = await this.store.claimNext();
      } catch (error) {
        this.log.error(`cannot read the job queue: ${(error as Error).message}`);
        break;
      }
      if (!job) break;
      if (this.stopped) {
        // Claimed while the runner was closing: back to the queue for the next start.
        await this.moves.move(job, 'requeue', { detail: 'interrupted by shutdown; queued again' }, this.log).catch(() => undefined);
        return;
      }
      this.launch(this.running, job, (j, c) => this.compute(j, c));
    }
    while (!this.stopped && this.sending.size < this.sendConcurrency && !this.options.controls?.isPaused('sending')) {
      let job: Job | undefined;
      try {
        job = await this.store.nextToSend([...this.running.keys(), ...this.sending.keys()]);
      } catch (error) {
        this.log.error(`cannot read the send queue: ${(error as Error).message}`);
        return;
      }
      if (!job || this.stopped) return;
      this.launch(this.sending, job, (j, c) => this.send(j, c));
    }
  }

  private launch(slots: Map<number, Slot>, job: Job, work: (job: Job, controller: AbortController) => Promise<void>): void {
    const controller = new AbortController();
    // What the last series left behind (received instances, a volume, encoded objects) is freed before the next
    // stage allocates its own, and again when this one ends.
    releaseMemory();
    const done = work(job, controller)
      .catch((error: Error) => {
        // Only the store can fail here (e.g. closed at shutdown); the job is then recovered at the next start.
        this.log.error(`cannot record the end of job ${job.id}: ${error.message}`);
      })
      .finally(() => {
        slots.delete(job.id);
        // An interruption asked as the work ended found nothing to stop: it must not stop the job's next run here.
        this.interruptions.delete(job.id);
        releaseMemory();
        this.wake();
      });
    slots.set(job.id, { controller, done });
  }

  private workDir(job: Job): string {
    return this.options.workDir(job);
  }

  private observe(stage: Stage, sinceMs: number | undefined): void {
    if (sinceMs !== undefined) this.stageSeconds?.observe({ stage }, Math.max(0, Date.now() - sinceMs) / 1000);
  }

  /** Shutdown gives a processor that honours its signal a moment to stop cleanly. */
  private track(work: Promise<void>): void {
    this.unsettled.add(work);
    void work.catch(() => undefined).finally(() => this.unsettled.delete(work));
  }

  /**
   * Ends a job an operator interrupted the way they asked: failed with their reason, or again at once (back to
   * the queue, or sending anew). False when nobody interrupted it.
   */
  private async endInterrupted(job: Job, log: Logger, again: 'requeue' | 'sendProgress'): Promise<boolean> {
    const interruption = this.interruptions.get(job.id);
    if (!interruption) return false;
    this.interruptions.delete(job.id);
    if (interruption.state === 'failed') {
      await this.move(job, 'fail', { reason: interruption.reason }, log);
      log.warn(`job stopped: ${interruption.reason}`);
    } else {
      await this.move(job, again, { detail: interruption.detail }, log);
      log.info(`${again === 'requeue' ? 'job queued again' : 'job sends again'}: ${interruption.detail}`);
    }
    return true;
  }

  private sendingDetail(): string {
    return this.options.controls?.isPaused('sending') ? 'waiting: sending is paused' : 'results ready; waiting to send';
  }

  private move(job: Job, name: TransitionName, change: TransitionChange, log: Logger): Promise<void> {
    return this.moves.move(job, name, change, log);
  }

  /**
   * The context a stage runs with; `report` records a step or a progress in the store, in order, without holding
   * up the stage (a report the store cannot record is logged).
   */
  private async context(job: Job, instancePaths: string[], signal: AbortSignal, log: Logger, report: (step: ProcessingStep | undefined, detail: string) => Promise<void>): Promise<JobContext> {
    const recorded = (step: ProcessingStep | undefined, detail: string) => {
      if (!signal.aborted) void report(step, detail).catch((error: Error) => log.warn(`cannot record the job's progress: ${error.message}`));
    };
    return {
      job,
      instancePaths,
      workDir: this.workDir(job),
      log,
      signal,
      onlyDestination: await this.store.destinationOf(job.seriesInstanceUid),
      // Sending paused after this job took its slot: it waits before its first C-STORE.
      whenSendingAllowed: async () => {
        const controls = this.options.controls;
        if (!controls?.isPaused('sending')) return;
        await this.move(job, 'sendProgress', { detail: 'waiting: sending is paused' }, log);
        log.info('sending is paused; the job waits');
        await controls.whenRunning('sending', signal);
      },
      step: (step, detail) => recorded(step, detail),
      progress: (detail) => recorded(undefined, detail),
      recordReview: (review) => this.store.setReview(job.id, review),
    };
  }

  private async compute(job: Job, controller: AbortController): Promise<void> {
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
    const aborted = abortion(signal);
    const log = logger('jobs', { jobId: job.id, studyInstanceUid: job.studyInstanceUid, seriesInstanceUid: job.seriesInstanceUid });
    try {
      // The wait in the queue ends now (the last event is this claim).
      try {
        this.observe('waiting', trailingStageStart(await this.store.events(job.id), 'waiting', 1));
      } catch {
        // a metric is not worth failing a job for
      }
      await fs.promises.mkdir(this.workDir(job), { recursive: true });
      const instancePaths = await this.options.instancePaths(job);
      log.info('processing started', { instances: instancePaths.length, attempt: job.attempts });
      // Stage durations for /metrics: a stage ends when the processing names the next step, or when the job leaves the slot.
      let stage: Stage = 'processing';
      let stageStart = Date.now();
      const ctx = await this.context(job, instancePaths, signal, log, (step, detail) => {
        if (step && step !== stage) {
          this.observe(stage, stageStart);
          stage = step;
          stageStart = Date.now();
        }
        log.info(`job processing: ${detail}`);
        return this.move(job, 'step', { detail, stage }, log);
      });
      const work = this.processor.compute(ctx);
      this.track(work);
      await Promise.race([aborted, work]);
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      this.observe(stage, stageStart);
      // The results are durably on disk: the slot is free for the next series, and the send queue takes over.
      await this.move(job, 'resultsReady', { detail: this.sendingDetail() }, log);
      log.info('results ready; the job waits for a sending slot');
    } catch (error) {
      if (await this.endInterrupted(job, log, 'requeue')) return;
      if (signal.aborted && !timedOut) {
        await this.move(job, 'requeue', { detail: 'interrupted by shutdown; queued again' }, log);
        log.warn('job interrupted by shutdown; it runs again at the next start');
        return;
      }
      await this.failed(job, timedOut ? signal.reason : error, log);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private async failed(job: Job, cause: unknown, log: Logger): Promise<void> {
    const reason = cause instanceof Error ? cause.message : String(cause);
    await this.move(job, 'fail', { reason }, log);
    this.failures?.inc();
    log.error(`job failed: ${reason}`);
  }

  private async send(job: Job, controller: AbortController): Promise<void> {
    const signal = controller.signal;
    const aborted = abortion(signal);
    const log = logger('jobs', { jobId: job.id, studyInstanceUid: job.studyInstanceUid, seriesInstanceUid: job.seriesInstanceUid });
    try {
      // Taken from the send queue before this slot held it: an operator may have cancelled it in between (once the
      // slot holds it, a cancel interrupts it instead).
      if ((await this.store.get(job.id))?.state !== 'sending') {
        log.info('job left the send queue before sending started; not sent');
        return;
      }
      const instancePaths = await this.options.instancePaths(job);
      log.info('sending started');
      const ctx = await this.context(job, instancePaths, signal, log, (_step, detail) => {
        log.info(`job sending: ${detail}`);
        return this.move(job, 'sendProgress', { detail }, log);
      });
      const work = this.processor.send(ctx);
      this.track(work);
      await Promise.race([aborted, work]);
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      this.observe('sending', trailingStageStart(await this.store.events(job.id), 'sending'));
      await this.move(job, 'delivered', {}, log);
      this.done?.inc();
      log.info('job done');
    } catch (error) {
      // Sending again at once (e.g. ending a back-off wait): its results are on disk, nothing is computed.
      if (await this.endInterrupted(job, log, 'sendProgress')) return;
      if (signal.aborted) {
        await this.move(job, 'sendProgress', { detail: 'interrupted by shutdown; sends again at the next start' }, log);
        log.warn('sending interrupted by shutdown; it resumes at the next start');
        return;
      }
      if (error instanceof HeldForReviewError) {
        await this.move(job, 'hold', { detail: `held for review: ${error.destinations.join(', ')} get it once a person releases it`, heldFor: error.destinations.join(','), stage: 'held' }, log);
        log.warn(error.message);
        return;
      }
      if (error instanceof ResultsMissingError) {
        await this.move(job, 'requeue', { detail: 'results not on disk any more; computed again' }, log);
        log.warn(`${error.message}; the job is computed again`);
        return;
      }
      await this.failed(job, error, log);
    }
  }

  /** Stops taking jobs, aborts the running ones (they resume at the next start) and waits at most `graceMs` for them. */
  async close(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // A pass waiting for the store may still claim a job: it puts it back, or its slot is among those aborted.
    await this.filling.idle();
    const running = [...this.running.values(), ...this.sending.values()];
    for (const r of running) r.controller.abort(new Error('node shutting down'));
    await Promise.allSettled(running.map((r) => r.done));
    await Promise.race([Promise.allSettled([...this.unsettled]), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
  }
}
