// How long the node keeps what it holds about patients. Only what is delivered or finished is ever removed: work
// that an archive has not confirmed (a job sending, held for review, or failed) is kept whatever its age.
export const retentionSection = {
  resultsDays: {
    doc:
      'The derived images and SEG of a job (work/<job>/) are deleted this many days after every destination confirmed ' +
      'them (0: kept until the job itself is removed); sooner when the spool runs short of space, oldest first',
    format: 'duration',
    default: 7,
    env: 'BRAINSTRIP_RETENTION_RESULTS_DAYS',
  },
  jobDays: {
    doc:
      'A delivered job (its row, timeline and instance list) is removed this many days after it finished (0: kept ' +
      'forever); failed jobs stay until an operator retries or cancels them',
    format: 'duration',
    default: 90,
    env: 'BRAINSTRIP_RETENTION_JOB_DAYS',
  },
  auditDays: {
    doc: 'Entries of the audit log (logins, actions, who viewed which job) are deleted after this many days (0: kept forever)',
    format: 'duration',
    default: 2190,
    env: 'BRAINSTRIP_RETENTION_AUDIT_DAYS',
  },
};
