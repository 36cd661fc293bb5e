// The durable job store and the runner that hands complete series to the processing pipeline.
export const jobsSection = {
  database: {
    doc: 'SQLite file of the job store (relative to dataDir)',
    format: String,
    default: 'jobs.sqlite',
    env: 'BRAINSTRIP_JOBS_DATABASE',
  },
  concurrency: {
    doc: 'Series processed at the same time (each one uses the worker pool); 0 pauses processing (series are still received and queued)',
    format: 'nat',
    default: 1,
    env: 'BRAINSTRIP_JOBS_CONCURRENCY',
  },
  timeoutMinutes: {
    doc: 'A job still processing or sending after this many minutes fails with that reason and frees its slot (0: no limit)',
    format: Number,
    default: 60,
    env: 'BRAINSTRIP_JOBS_TIMEOUT_MIN',
  },
  keepFinishedDays: {
    doc: 'Spooled instances of jobs that are done are deleted after this many days (0: keep forever)',
    format: Number,
    default: 7,
    env: 'BRAINSTRIP_JOBS_KEEP_FINISHED_DAYS',
  },
};
