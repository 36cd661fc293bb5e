// Whether the spool and the job store can write, probed every few seconds: a full disk fails writes while reads,
// and so a naive health check, still succeed. The SCP refuses instances (Out of Resources) and /health answers
// 503 while a probe fails.
import type { JobStore } from '../jobs/state/store.js';
import type { Logger } from '../log.js';
import type { Spool } from './spool.js';

/** Why the spool or the job store cannot write, as last probed; undefined where it can. */
export interface StorageState {
  spool?: string;
  jobStore?: string;
}

export interface StorageProbe {
  readonly state: StorageState;
  stop(): void;
}

/** Probes once (awaited), then every `everyMs`. */
export async function startStorageProbe(deps: { spool: Spool; store: JobStore; minFreeBytes: number; log: Logger }, everyMs = 5000): Promise<StorageProbe> {
  const state: StorageState = {};
  const probe = async () => {
    state.spool = await deps.spool.probeWritable(256 * 1024, deps.minFreeBytes);
    try {
      await deps.store.probeWrite();
      state.jobStore = undefined;
    } catch (error) {
      state.jobStore = `job store cannot write: ${(error as Error).message}`;
    }
    if (state.spool || state.jobStore) deps.log.warn('storage problem: not ready', { ...state });
  };
  await probe();
  const timer = setInterval(() => void probe().catch(() => undefined), everyMs);
  timer.unref();
  return { state, stop: () => clearInterval(timer) };
}
