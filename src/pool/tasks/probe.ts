// Diagnostic task: which worker answers and how it is doing. `brainstrip` uses it to check that workers start;
// tests use `exit` to kill a worker thread the way a native crash would, to prove the pool survives it.
import { threadId } from 'node:worker_threads';

export interface ProbePayload {
  /** Milliseconds to stay busy (so several probes occupy several workers). */
  busyMs?: number;
  /** End this worker thread abruptly with this exit code instead of answering. */
  exit?: number;
}

export interface ProbeResult {
  threadId: number;
  pid: number;
  rssMb: number;
}

export default async function probe(payload: ProbePayload = {}): Promise<ProbeResult> {
  if (payload.exit !== undefined) process.exit(payload.exit);
  if (payload.busyMs) await new Promise((resolve) => setTimeout(resolve, payload.busyMs));
  return { threadId, pid: process.pid, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) };
}
