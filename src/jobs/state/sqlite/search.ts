// Search and activity on SQLite: what the operations page asks of the jobs (filters, the identification read
// from each series' first instance, the figures of the overview).
import type { Job } from '../job.js';
import { type JobFilter, type JobIdentification, MAX_LIST_LIMIT } from '../store.js';
import { type JobRow, boundedLimit, toJob } from '../rows.js';
import type { Db } from './schema.js';

export class SqliteSearch {
  constructor(private readonly db: Db) {}

  /** Most recent first. */
  search(filter: JobFilter): Job[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state) where.push('state = ?'), args.push(filter.state);
    if (filter.from) where.push('created_at >= ?'), args.push(filter.from);
    if (filter.to) where.push('created_at < ?'), args.push(filter.to);
    if (filter.callingAe) where.push('calling_ae = ?'), args.push(filter.callingAe.trim());
    if (filter.review === 'flagged') where.push('review IS NOT NULL');
    if (filter.review === 'held') where.push('held_for IS NOT NULL');
    if (filter.text) {
      where.push(["patient_id", "patient_name", "accession_number", "series_description"].map((c) => `${c} LIKE ? ESCAPE '\\'`).join(' OR '));
      const like = `%${filter.text.replace(/[%_\\]/g, (c) => `\\${c}`)}%`;
      args.push(like, like, like, like);
    }
    const clause = where.length ? `WHERE ${where.map((w) => `(${w})`).join(' AND ')}` : '';
    return (this.db.prepare(`SELECT * FROM jobs ${clause} ORDER BY id DESC LIMIT ?`).all(...args, boundedLimit(filter.limit, 500, MAX_LIST_LIMIT)) as JobRow[]).map(toJob);
  }

  /** Calling AE titles seen, for a filter's choices. */
  callingAes(): string[] {
    return (this.db.prepare('SELECT DISTINCT calling_ae AS ae FROM jobs WHERE calling_ae IS NOT NULL ORDER BY 1').all() as Array<{ ae: string }>).map((r) => r.ae);
  }

  /** Jobs whose patient and study identification has not been read yet. */
  undescribed(limit = 50): Job[] {
    return (this.db.prepare('SELECT * FROM jobs WHERE patient_name IS NULL ORDER BY id DESC LIMIT ?').all(limit) as JobRow[]).map(toJob);
  }

  describe(id: number, ident: JobIdentification): void {
    this.db
      .prepare('UPDATE jobs SET patient_name = ?, patient_id = ?, accession_number = ?, study_description = ?, study_date = ?, series_number = ? WHERE id = ?')
      .run(ident.patientName, ident.patientId, ident.accessionNumber, ident.studyDescription, ident.studyDate, ident.seriesNumber, id);
  }

  setReview(id: number, review: string | null): void {
    this.db.prepare('UPDATE jobs SET review = ? WHERE id = ?').run(review, id);
  }

  reviewCounts(): { flagged: number; held: number } {
    return this.db.prepare('SELECT count(review) AS flagged, count(held_for) AS held FROM jobs').get() as { flagged: number; held: number };
  }

  /** Series received, processed and failed since `since`, and the turnaround (first instance to done) of those done. */
  activity(since: Date): { received: number; done: number; failed: number; turnaroundSeconds: number[] } {
    const iso = since.toISOString();
    const count = (sql: string) => (this.db.prepare(sql).get(iso) as { n: number }).n;
    const turnaround = this.db
      .prepare("SELECT (julianday(finished_at) - julianday(created_at)) * 86400 AS s FROM jobs WHERE state = 'done' AND finished_at >= ? ORDER BY s")
      .all(iso) as Array<{ s: number }>;
    return {
      received: count('SELECT count(*) AS n FROM jobs WHERE created_at >= ?'),
      done: count("SELECT count(*) AS n FROM jobs WHERE state = 'done' AND finished_at >= ?"),
      failed: count("SELECT count(*) AS n FROM jobs WHERE state = 'failed' AND finished_at >= ?"),
      turnaroundSeconds: turnaround.map((r) => r.s),
    };
  }
}
