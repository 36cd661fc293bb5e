// Search and activity on PostgreSQL: what the operations page asks of the jobs, with the SQLite store's filters and
// figures (text is matched case-insensitively, its %, _ and \ literally).
import type { Job } from '../job.js';
import { boundedLimit } from '../rows.js';
import { type JobFilter, MAX_LIST_LIMIT } from '../store.js';
import { jobsWhere } from './queue.js';
import type { Sql } from './schema.js';

export async function searchJobs(sql: Sql, filter: JobFilter): Promise<Job[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  const arg = (value: unknown) => (args.push(value), `$${args.length}`);
  if (filter.state) where.push(`state = ${arg(filter.state)}`);
  if (filter.from) where.push(`created_at >= ${arg(filter.from)}`);
  if (filter.to) where.push(`created_at < ${arg(filter.to)}`);
  if (filter.callingAe) where.push(`calling_ae = ${arg(filter.callingAe.trim())}`);
  if (filter.review === 'flagged') where.push('review IS NOT NULL');
  if (filter.review === 'held') where.push('held_for IS NOT NULL');
  if (filter.text) {
    const like = arg(`%${filter.text.replace(/[%_\\]/g, (c) => `\\${c}`)}%`);
    where.push(['patient_id', 'patient_name', 'accession_number', 'series_description'].map((c) => `${c} ILIKE ${like} ESCAPE '\\'`).join(' OR '));
  }
  const limit = arg(boundedLimit(filter.limit, 500, MAX_LIST_LIMIT));
  return jobsWhere(sql, where.map((w) => `(${w})`).join(' AND '), args, `ORDER BY id DESC LIMIT ${limit}`);
}

/** Series received, processed and failed since `since`, and the turnaround (first instance to done) of those done. */
export async function jobActivity(sql: Sql, since: Date): Promise<{ received: number; done: number; failed: number; turnaroundSeconds: number[] }> {
  const iso = since.toISOString();
  const counts = await sql.row<{ received: number; done: number; failed: number }>(
    `SELECT count(*) FILTER (WHERE created_at >= $1) AS received, count(*) FILTER (WHERE state = 'done' AND finished_at >= $1) AS done,
       count(*) FILTER (WHERE state = 'failed' AND finished_at >= $1) AS failed FROM jobs`,
    [iso],
  );
  const turnaround = await sql.rows<{ s: number }>(
    "SELECT extract(epoch FROM finished_at::timestamptz - created_at::timestamptz)::float8 AS s FROM jobs WHERE state = 'done' AND finished_at >= $1 ORDER BY s",
    [iso],
  );
  return { ...counts!, turnaroundSeconds: turnaround.map((r) => r.s) };
}
