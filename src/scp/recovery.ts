// At start: the spool is the truth about what was acknowledged. Instances that reached their series folder but not
// the job store (the process died in between) are recorded now, so that their series still becomes a job.
import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../log.js';
import type { JobStore } from '../jobs/store.js';
import type { Job } from '../jobs/types.js';
import { readInstanceHeader } from './dataset-header.js';
import { readFileMeta } from './part10.js';
import type { Spool } from './spool.js';

const HEADER_BYTES = 1024 * 1024;

export async function reconcileSpool(spool: Spool, store: JobStore): Promise<{ recorded: number; jobs: Job[] }> {
  const log = logger('scp.recovery');
  let recorded = 0;
  const jobs = new Map<number, Job>();
  for (const series of await spool.listSeries()) {
    for (const name of series.files) {
      const sopFromName = name.replace(/\.dcm$/, '');
      if (store.hasInstance(series.series, sopFromName)) continue;
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
        const sopInstanceUid = header.sopInstanceUid ?? sopFromName;
        if (!header.studyInstanceUid || !header.seriesInstanceUid) throw new Error('no Study/Series Instance UID');
        if (store.hasInstance(header.seriesInstanceUid, sopInstanceUid)) continue;
        const { job } = store.recordInstance({
          studyInstanceUid: header.studyInstanceUid,
          seriesInstanceUid: header.seriesInstanceUid,
          sopInstanceUid,
          sopClassUid: header.sopClassUid,
          modality: header.modality,
          seriesDescription: header.seriesDescription,
          bytes: size - meta.datasetOffset,
        });
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
