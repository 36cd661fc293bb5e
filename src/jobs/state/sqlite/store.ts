// The job store on SQLite (write-ahead log): one row per job, one row per distinct instance of a series, one
// event per change. It survives kill -9: a committed transaction is in the WAL file, which SQLite replays at the
// next open. Each concern is a module of its own (queue, registry, search); this class joins them as a JobStore.
// better-sqlite3 is synchronous: each method does its work when called and answers a settled promise, as the
// interface asks; a read followed by a write (claim, record an instance, complete a series) is one SQLite transaction.
import type { Job, JobState } from '../job.js';
import { type JobEvent, type JobFilter, type JobIdentification, type JobStore, MAX_LIST_LIMIT, type ReceivedInstance, type RecordedInstance } from '../store.js';
import type { TransitionChange, TransitionName } from '../transitions.js';
import { boundedLimit, now } from '../rows.js';
import { SqliteQueue } from './queue.js';
import { SqliteRegistry } from './registry.js';
import { type Db, openJobDatabase } from './schema.js';
import { SqliteSearch } from './search.js';

export class SqliteJobStore implements JobStore {
  private readonly db: Db;
  private readonly queue: SqliteQueue;
  private readonly registry: SqliteRegistry;
  private readonly searches: SqliteSearch;

  constructor(readonly file: string) {
    this.db = openJobDatabase(file);
    this.queue = new SqliteQueue(this.db);
    this.registry = new SqliteRegistry(this.db, this.queue);
    this.searches = new SqliteSearch(this.db);
  }

  async get(id: number): Promise<Job | undefined> {
    return this.queue.get(id);
  }

  async list(options: { state?: JobState; seriesInstanceUid?: string; limit?: number } = {}): Promise<Job[]> {
    return this.queue.list({ ...options, limit: boundedLimit(options.limit, 1000, MAX_LIST_LIMIT) });
  }

  async countsByState(): Promise<Record<JobState, number>> {
    return this.queue.countsByState();
  }

  async transition(id: number, name: TransitionName, change?: TransitionChange): Promise<boolean> {
    return this.queue.transition(id, name, change);
  }

  async markComplete(id: number): Promise<Job | undefined> {
    return this.queue.markComplete(id);
  }

  async claimNext(): Promise<Job | undefined> {
    return this.queue.claimNext();
  }

  async nextToSend(busy: number[]): Promise<Job | undefined> {
    return this.queue.nextToSend(busy);
  }

  async recoverAfterRestart(maxInterruptions = 0, canSend: (job: Job) => boolean = () => false) {
    return this.queue.recoverAfterRestart(maxInterruptions, canSend);
  }

  async events(id: number): Promise<JobEvent[]> {
    return this.queue.events(id);
  }

  async seriesInstances(seriesInstanceUid: string): Promise<Set<string>> {
    return this.registry.seriesInstances(seriesInstanceUid);
  }

  async hasInstance(seriesInstanceUid: string, sopInstanceUid: string): Promise<boolean> {
    return this.registry.hasInstance(seriesInstanceUid, sopInstanceUid);
  }

  async recordInstance(instance: ReceivedInstance): Promise<RecordedInstance> {
    return this.registry.recordInstance(instance);
  }

  async recordProcessedInstance(jobId: number, instance: ReceivedInstance): Promise<void> {
    this.registry.recordProcessedInstance(jobId, instance);
  }

  async forgetSeriesInstances(seriesInstanceUid: string): Promise<void> {
    this.registry.forgetSeriesInstances(seriesInstanceUid);
  }

  async studyOfSeries(seriesInstanceUid: string): Promise<string | undefined> {
    return this.registry.studyOfSeries(seriesInstanceUid);
  }

  async latestJobOfSeries(seriesInstanceUid: string): Promise<Job | undefined> {
    return this.registry.latestJobOfSeries(seriesInstanceUid);
  }

  async finishedBefore(before: Date): Promise<Job[]> {
    return this.registry.finishedBefore(before);
  }

  async restrictDestination(seriesInstanceUid: string, destination: string): Promise<void> {
    this.registry.restrictDestination(seriesInstanceUid, destination);
  }

  async destinationOf(seriesInstanceUid: string): Promise<string | undefined> {
    return this.registry.destinationOf(seriesInstanceUid);
  }

  async search(filter: JobFilter): Promise<Job[]> {
    return this.searches.search(filter);
  }

  async callingAes(): Promise<string[]> {
    return this.searches.callingAes();
  }

  async undescribed(limit?: number): Promise<Job[]> {
    return this.searches.undescribed(limit);
  }

  async describe(id: number, ident: JobIdentification): Promise<void> {
    this.searches.describe(id, ident);
  }

  async purgeDeliveredBefore(before: Date): Promise<Job[]> {
    return this.registry.purgeDeliveredBefore(before);
  }

  async setReview(id: number, review: string | null): Promise<void> {
    this.searches.setReview(id, review);
  }

  async reviewCounts(): Promise<{ flagged: number; held: number }> {
    return this.searches.reviewCounts();
  }

  async activity(since: Date) {
    return this.searches.activity(since);
  }

  async probeWrite(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS write_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL)');
    this.db.prepare('INSERT OR REPLACE INTO write_probe (id, at) VALUES (1, ?)').run(now());
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
