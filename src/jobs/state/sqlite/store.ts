// The job store on SQLite (write-ahead log): one row per job, one row per distinct instance of a series, one
// event per change. It survives kill -9: a committed transaction is in the WAL file, which SQLite replays at the
// next open. Each concern is a module of its own (queue, registry, search); this class joins them as a JobStore.
import type { Job, JobState } from '../job.js';
import { type JobEvent, type JobFilter, type JobIdentification, type JobStore, MAX_LIST_LIMIT, type ReceivedInstance, type RecordedInstance } from '../store.js';
import type { TransitionChange, TransitionName } from '../transitions.js';
import { SqliteQueue, boundedLimit } from './queue.js';
import { SqliteRegistry } from './registry.js';
import { type Db, now, openJobDatabase } from './schema.js';
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

  get(id: number): Job | undefined {
    return this.queue.get(id);
  }

  list(options: { state?: JobState; seriesInstanceUid?: string; limit?: number } = {}): Job[] {
    return this.queue.list({ ...options, limit: boundedLimit(options.limit, 1000, MAX_LIST_LIMIT) });
  }

  countsByState(): Record<JobState, number> {
    return this.queue.countsByState();
  }

  transition(id: number, name: TransitionName, change?: TransitionChange): boolean {
    return this.queue.transition(id, name, change);
  }

  markComplete(id: number): Job | undefined {
    return this.queue.markComplete(id);
  }

  claimNext(): Job | undefined {
    return this.queue.claimNext();
  }

  nextToSend(busy: number[]): Job | undefined {
    return this.queue.nextToSend(busy);
  }

  recoverAfterRestart(maxInterruptions = 0, canSend: (job: Job) => boolean = () => false) {
    return this.queue.recoverAfterRestart(maxInterruptions, canSend);
  }

  events(id: number): JobEvent[] {
    return this.queue.events(id);
  }

  hasInstance(seriesInstanceUid: string, sopInstanceUid: string): boolean {
    return this.registry.hasInstance(seriesInstanceUid, sopInstanceUid);
  }

  recordInstance(instance: ReceivedInstance): RecordedInstance {
    return this.registry.recordInstance(instance);
  }

  recordProcessedInstance(jobId: number, instance: ReceivedInstance): void {
    this.registry.recordProcessedInstance(jobId, instance);
  }

  forgetSeriesInstances(seriesInstanceUid: string): void {
    this.registry.forgetSeriesInstances(seriesInstanceUid);
  }

  studyOfSeries(seriesInstanceUid: string): string | undefined {
    return this.registry.studyOfSeries(seriesInstanceUid);
  }

  latestJobOfSeries(seriesInstanceUid: string): Job | undefined {
    return this.registry.latestJobOfSeries(seriesInstanceUid);
  }

  finishedBefore(before: Date): Job[] {
    return this.registry.finishedBefore(before);
  }

  restrictDestination(seriesInstanceUid: string, destination: string): void {
    this.registry.restrictDestination(seriesInstanceUid, destination);
  }

  destinationOf(seriesInstanceUid: string): string | undefined {
    return this.registry.destinationOf(seriesInstanceUid);
  }

  search(filter: JobFilter): Job[] {
    return this.searches.search(filter);
  }

  callingAes(): string[] {
    return this.searches.callingAes();
  }

  undescribed(limit?: number): Job[] {
    return this.searches.undescribed(limit);
  }

  describe(id: number, ident: JobIdentification): void {
    this.searches.describe(id, ident);
  }

  activity(since: Date) {
    return this.searches.activity(since);
  }

  probeWrite(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS write_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL)');
    this.db.prepare('INSERT OR REPLACE INTO write_probe (id, at) VALUES (1, ?)').run(now());
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
