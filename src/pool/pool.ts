// The worker pool: registration and inference run in Piscina worker threads so that the DICOM server, the job
// queue and the HTTP endpoints on the main thread never wait for them. Each task is a module
// dist/src/pool/tasks/<name>.js exporting `default async function (payload)`, listed with its payload and result
// types in PoolTasks, so a caller keeps its types across the thread boundary; a worker keeps what a task caches
// (the ONNX Runtime session of the infer task, the atlas) for its whole life. A worker that dies (a native
// crash, process.exit in a task) fails only the task it was running; Piscina starts a replacement.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { PoolConfig } from '../../config/sections/pool.js';
import { logger } from '../log.js';
import type { DerivePayload, DeriveResult } from './tasks/derive.js';
import type { InferPayload, InferResult } from './tasks/infer.js';
import type { MirroredReadingPayload, MirroredReadingResult } from './tasks/mirrored-reading.js';
import type { PrecisionTrialPayload, PrecisionTrialResult } from './tasks/precision-trial.js';
import type { ProbePayload, ProbeResult } from './tasks/probe.js';
import type { RegisterTaskPayload, RegisterTaskResult } from './tasks/register.js';
import type { WarmPayload, WarmResult } from './tasks/warm.js';

/** Every task of the pool: its module's name (tasks/<name>.ts), what it takes and what it answers. */
export interface PoolTasks {
  register: { payload: RegisterTaskPayload; result: RegisterTaskResult };
  infer: { payload: InferPayload; result: InferResult };
  'mirrored-reading': { payload: MirroredReadingPayload; result: MirroredReadingResult };
  probe: { payload: ProbePayload; result: ProbeResult };
  warm: { payload: WarmPayload; result: WarmResult };
  'precision-trial': { payload: PrecisionTrialPayload; result: PrecisionTrialResult };
  derive: { payload: DerivePayload; result: DeriveResult };
}

export type PoolTaskName = keyof PoolTasks;

export interface WorkerPool {
  run<K extends PoolTaskName>(task: K, payload: PoolTasks[K]['payload'], transferList?: Transferable[]): Promise<PoolTasks[K]['result']>;
  close(): Promise<void>;
  /**
   * Prepares every worker (atlas, ONNX session, a first inference) before the first series needs it: one warm
   * task per worker, all at once, so that each worker takes one. Resolves with each task's time.
   */
  warmAll(payload: WarmPayload): Promise<number[]>;
  /** Worker threads in the pool. */
  readonly workers: number;
  /** ONNX Runtime intra-op threads each worker should use. */
  readonly intraOpThreads: number;
}

/** Defaults that fit the machine: one worker per two cores, the cores shared among workers. */
export function poolSizing(config: Pick<PoolConfig, 'workers' | 'intraOpThreads'>, cores = os.availableParallelism()): { workers: number; intraOpThreads: number } {
  const workers = config.workers > 0 ? config.workers : Math.max(1, Math.floor(cores / 2));
  const intraOpThreads = config.intraOpThreads > 0 ? config.intraOpThreads : Math.max(1, Math.floor(cores / workers));
  return { workers, intraOpThreads };
}

/** Folder of the compiled task modules: workers cannot load TypeScript, so from src/ (tests) use dist/. */
export function tasksDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  if (fileURLToPath(import.meta.url).endsWith('.js')) return path.join(here, 'tasks');
  const repo = path.resolve(here, '..', '..');
  return path.join(repo, 'dist', 'src', 'pool', 'tasks');
}

export function createWorkerPool(config: { pool: PoolConfig }): WorkerPool {
  const { workers, intraOpThreads } = poolSizing(config.pool);
  const dir = tasksDir();
  const log = logger('pool');
  const piscina = new Piscina({
    minThreads: workers,
    maxThreads: workers,
    // Piscina needs a finite idle timeout; "keep forever" is a very long one.
    idleTimeout: config.pool.idleTimeoutMs > 0 ? config.pool.idleTimeoutMs : 2 ** 31 - 1,
    maxQueue: config.pool.maxQueue,
    // One task at a time per worker: a task uses the worker's intra-op threads fully.
    concurrentTasksPerWorker: 1,
  });
  piscina.on('error', (error: unknown) => log.error('worker pool error', { error: error instanceof Error ? error.message : String(error) }));
  let closed = false;
  const known = new Map<string, string>();

  function taskFile(name: string): string {
    const cachedFile = known.get(name);
    if (cachedFile) return cachedFile;
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`worker pool: invalid task name '${name}'`);
    const file = path.join(dir, `${name}.js`);
    if (!fs.existsSync(file)) throw new Error(`worker pool: no task module ${file} (is the project built?)`);
    known.set(name, file);
    return file;
  }

  return {
    workers,
    intraOpThreads,
    async run<K extends PoolTaskName>(task: K, payload: PoolTasks[K]['payload'], transferList?: Transferable[]): Promise<PoolTasks[K]['result']> {
      if (closed) throw new Error('worker pool is closed');
      // Names are checked at run time too: a caller from plain JavaScript (or a cast) must not load any module.
      const filename = taskFile(task);
      return (await piscina.run(payload, { filename, name: 'default', transferList: transferList as never })) as PoolTasks[K]['result'];
    },
    async warmAll(payload) {
      const runs = Array.from({ length: workers }, () => this.run('warm', payload));
      return (await Promise.all(runs)).map((r) => r.milliseconds);
    },
    async close() {
      if (closed) return;
      closed = true;
      await piscina.destroy();
    },
  };
}
