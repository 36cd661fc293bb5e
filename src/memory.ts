// A full garbage collection, on purpose, where a large piece of work has just ended (a job's stage, a worker's
// task). A series' volumes, masks and encoded objects are large external buffers that V8 frees only when it
// collects, and it collects by heap pressure, not by the size of those buffers: left alone, the garbage of one
// series still holds hundreds of MB of resident memory when the next arrives. Collecting at these points keeps
// the node's peak near what one series needs. Without access to the collector (an embedder that forbids it),
// nothing happens.
import v8 from 'node:v8';
import vm from 'node:vm';

let collect: (() => void) | null | undefined;

export function releaseMemory(): void {
  if (collect === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
    } catch {
      collect = null;
    }
  }
  collect?.();
}

/**
 * Collects whenever this thread's array buffers grew by `growthMb` since the last look: receiving and sending a
 * series churn through hundreds of MB of short-lived buffers (each instance as read from the network, parsed and
 * written; each result read, encoded and sent) that V8 would otherwise let pile up. Returns a stop function.
 */
export function startMemoryGovernor(options: { intervalMs?: number; growthMb?: number } = {}): () => void {
  const growth = (options.growthMb ?? 64) * 2 ** 20;
  let baseline = process.memoryUsage().arrayBuffers;
  const timer = setInterval(() => {
    const now = process.memoryUsage().arrayBuffers;
    if (now - baseline > growth) {
      releaseMemory();
      baseline = process.memoryUsage().arrayBuffers;
    } else if (now < baseline) baseline = now;
  }, options.intervalMs ?? 500);
  timer.unref();
  return () => clearInterval(timer);
}
