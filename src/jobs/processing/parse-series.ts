// Reading a series for the pipeline, isolated: in a worker thread with a memory limit and a time limit, so that an
// instance built to exhaust a parser (deeply nested sequences, millions of elements) costs one worker, never the
// thread that answers C-ECHO, C-STORE and /health. A series that kills or stalls its worker twice is poison: the
// job fails with that reason instead of trying again and again.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LogOptions } from '../../log.js';
import { DicomError, type DicomIdentifiers } from '../../dicom/errors.js';
import type { MrAcquisition } from '../../pipeline/derived/acquisition.js';
import type { LoadSeriesOptions } from '../../pipeline/dicom/load-series.js';
import type { LoadedSeries } from '../../pipeline/dicom/series.js';

export interface ParseLimits {
  /** A worker still reading after this long is stopped. */
  timeoutMs: number;
  /** V8 heap of the worker (pixel buffers are outside it). */
  maxMemoryMb: number;
  /** Worker deaths or stalls before the series counts as poison (default 2). */
  maxWorkerFailures?: number;
  /** Logging of the worker (the node's level and file). */
  log?: LogOptions;
}

/** The series could not be read because its worker died or stalled, every time it was tried. */
export class PoisonSeriesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonSeriesError';
  }
}

/** The compiled worker: worker threads cannot load TypeScript, so from src/ (tests) the one in dist/ is used. */
function workerFile(): string {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.js')) return path.join(path.dirname(self), 'parse-worker.js');
  return path.resolve(path.dirname(self), '..', '..', '..', 'dist', 'src', 'jobs', 'processing', 'parse-worker.js');
}

type Outcome = { ok: true; loaded: LoadedSeries; acquisition: MrAcquisition } | { ok: false; message: string; identifiers?: DicomIdentifiers } | { died: string };

function once(paths: string[], options: LoadSeriesOptions, limits: ParseLimits, signal?: AbortSignal): Promise<Outcome> {
  return new Promise((resolve) => {
    const worker = new Worker(workerFile(), {
      workerData: { paths, options, log: limits.log },
      resourceLimits: { maxOldGenerationSizeMb: limits.maxMemoryMb, maxYoungGenerationSizeMb: Math.min(64, limits.maxMemoryMb) },
      stdout: false,
      stderr: false,
    });
    let settled = false;
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ died: `reading the series took longer than ${Math.round(limits.timeoutMs / 1000)} s` }), limits.timeoutMs);
    const onAbort = () => finish({ ok: false, message: 'interrupted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (message: Outcome) => finish(message));
    worker.once('error', (error: Error & { code?: string }) =>
      finish({
        died:
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `reading the series needed more than its ${limits.maxMemoryMb} MB memory limit`
            : `the worker reading the series failed: ${error.message}`,
      }),
    );
    worker.once('exit', (code) => finish({ died: `the worker reading the series exited (code ${code})` }));
  });
}

export async function loadSeriesIsolated(
  paths: string[],
  options: LoadSeriesOptions,
  limits: ParseLimits,
  signal?: AbortSignal,
): Promise<{ loaded: LoadedSeries; acquisition: MrAcquisition }> {
  const deaths: string[] = [];
  const allowed = limits.maxWorkerFailures ?? 2;
  while (deaths.length < allowed) {
    const outcome = await once(paths, options, limits, signal);
    if ('died' in outcome) {
      deaths.push(outcome.died);
      continue;
    }
    if (!outcome.ok) throw outcome.identifiers ? DicomError.withMessage(outcome.message, outcome.identifiers) : new Error(outcome.message);
    return { loaded: outcome.loaded, acquisition: outcome.acquisition };
  }
  throw new PoisonSeriesError(`poison series, not retried: ${deaths.join('; then ')}`);
}
