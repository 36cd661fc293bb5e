// The durable job store and the runner that hands complete series to the processing pipeline.
export const jobsSection = {
  database: {
    doc: 'SQLite file of the job store (relative to dataDir)',
    format: 'path',
    default: 'jobs.sqlite',
    env: 'BRAINSTRIP_JOBS_DATABASE',
  },
  concurrency: {
    doc: 'Series processed at the same time (each one uses the worker pool); 0 pauses processing (series are still received and queued)',
    format: 'whole-number',
    default: 1,
    env: 'BRAINSTRIP_JOBS_CONCURRENCY',
  },
  timeoutMinutes: {
    doc: 'A job still processing or sending after this many minutes fails with that reason and frees its slot (0: no limit)',
    format: 'duration',
    default: 60,
    env: 'BRAINSTRIP_JOBS_TIMEOUT_MIN',
  },
  parseTimeoutSeconds: {
    doc: 'Reading a series (in a worker thread) that takes longer than this stops; twice for one series fails its job as poison',
    format: 'positive-duration',
    default: 300,
    env: 'BRAINSTRIP_JOBS_PARSE_TIMEOUT_S',
  },
  parseMemoryMb: {
    doc: 'Heap limit of the worker thread that reads a series (pixel buffers come on top); exceeded twice, the job fails as poison',
    format: 'positive-whole-number',
    default: 2048,
    env: 'BRAINSTRIP_JOBS_PARSE_MEMORY_MB',
  },
  maxInterruptions: {
    doc: 'A job whose processing was cut short by this many restarts (the node died while processing it) fails instead of running again',
    format: 'whole-number',
    default: 2,
    env: 'BRAINSTRIP_JOBS_MAX_INTERRUPTIONS',
  },
  keepFinishedDays: {
    doc: 'Spooled instances of jobs that are done are deleted after this many days (0: keep forever)',
    format: 'duration',
    default: 7,
    env: 'BRAINSTRIP_JOBS_KEEP_FINISHED_DAYS',
  },
};
