// The spool is the truth about what was acknowledged. Instances that reached their series folder but not the job
// store (the process died in between, or the store could not write) are recorded, so that their series still
// becomes a job — but never a new job for a series whose job ran after the instance was spooled: that job already
// processed it, and processing it again would send its results again.
import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../log.js';
import type { JobStore } from '../jobs/state/store.js';
import type { Job } from '../jobs/state/job.js';
import { readInstanceHeader } from './dataset-header.js';
import { readFileMeta } from './part10.js';
import type { Spool } from './spool.js';

const HEADER_BYTES = 1024 * 1024;

/** Whether a finished job last started processing after a file was spooled (and so read the file). */
async function processedAfter(store: JobStore, job: Job, spooledAtMs: number): Promise<boolean> {
  const starts = (await store.events(job.id)).filter((e) => e.state === 'processing').map((e) => Date.parse(e.at));
  const started = starts.length > 0 ? Math.max(...starts) : Date.parse(job.finishedAt ?? '');
  return Number.isFinite(started) && spooledAtMs <= started;
}

export async function reconcileSpool(spool: Spool, store: JobStore): Promise<{ recorded: number; jobs: Job[] }> {
  const log = logger('scp.recovery');
  let recorded = 0;
  const jobs = new Map<number, Job>();
  for (const series of await spool.listSeries()) {
    // One question per series folder: on a shared spool with a database server, one per file would hold the start up.
    const known = series.files.length > 0 ? await store.seriesInstances(series.series) : new Set<string>();
    for (const name of series.files) {
      const sopFromName = name.replace(/\.dcm$/, '');
      if (known.has(sopFromName)) continue;
      const file = path.join(series.dir, name);
      try {
        const handle = await fs.promises.open(file, 'r');
        let buffer: Buffer;
        let size: number;
        try {
          size = (await handle.stat()).size;
          buffer = Buffer.alloc(Math.min(size, HEADER_BYTES));
          await handle.read(buffer, 0, buffer.length, 0);
        } finally {
          await handle.close();
        }
        const meta = readFileMeta(buffer);
        const { header } = readInstanceHeader(buffer.subarray(meta.datasetOffset), meta.transferSyntaxUid);
        // The SCP names the file and records the instance by the UID of the C-STORE request, which the file meta
        // holds; the dataset's own is the same (anything else is refused).
        const sopInstanceUid = meta.sopInstanceUid || header.sopInstanceUid || sopFromName;
        if (!header.studyInstanceUid || !header.seriesInstanceUid) throw new Error('no Study/Series Instance UID');
        if (await store.hasInstance(header.seriesInstanceUid, sopInstanceUid)) continue;
        const instance = {
          studyInstanceUid: header.studyInstanceUid,
          seriesInstanceUid: header.seriesInstanceUid,
          sopInstanceUid,
          sopClassUid: header.sopClassUid,
          modality: header.modality,
          seriesDescription: header.seriesDescription,
          bytes: size - meta.datasetOffset,
        };
        const latest = await store.latestJobOfSeries(header.seriesInstanceUid);
        const spooledAt = (await fs.promises.stat(file)).mtimeMs;
        if (latest && (latest.state === 'done' || latest.state === 'failed') && (await processedAfter(store, latest, spooledAt))) {
          await store.recordProcessedInstance(latest.id, instance);
          log.info('spooled instance recorded with the finished job that processed it', { jobId: latest.id, sopInstanceUid, seriesInstanceUid: instance.seriesInstanceUid });
          continue;
        }
        const { job } = await store.recordInstance(instance);
        jobs.set(job.id, job);
        recorded++;
      } catch (error) {
        log.error(`spooled file cannot be read back: ${(error as Error).message}`, { file });
      }
    }
  }
  if (recorded > 0) log.warn(`recorded ${recorded} spooled instance(s) the job store did not know (the node stopped in between)`);
  return { recorded, jobs: [...jobs.values()] };
}
