// A slot must not be held by a processor that ignores its abort signal: the runner races the work against this.

/** A promise that rejects when `signal` aborts (its rejection handled, so that nobody must await it). */
export function abortion(signal: AbortSignal): Promise<never> {
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => undefined);
  return aborted;
}
