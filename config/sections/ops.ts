// The operations page: who may log in (local users in their own SQLite file), how long a login lasts, and
// whether the JSON API needs one.
export const opsSection = {
  database: {
    doc: 'SQLite file of the operations page: users, sessions and the audit log (relative to dataDir)',
    format: 'path',
    default: 'ops.sqlite',
    env: 'BRAINSTRIP_OPS_DATABASE',
  },
  sessionHours: {
    doc: 'A login lasts this long without activity',
    format: 'positive-duration',
    default: 12,
    env: 'BRAINSTRIP_OPS_SESSION_HOURS',
  },
  secureCookie: {
    doc: 'Mark the session cookie Secure (only sent over HTTPS): set it when a TLS proxy fronts the operations port',
    format: 'flag',
    default: false,
    env: 'BRAINSTRIP_OPS_SECURE_COOKIE',
  },
  apiWithoutLogin: {
    doc: 'Serve /api/* without a login (closed test set-ups only); /health and /metrics are always open',
    format: 'flag',
    default: false,
    env: 'BRAINSTRIP_OPS_API_WITHOUT_LOGIN',
  },
  selfTestCallingAe: {
    doc: 'Calling AE title of the self-test when it sends its synthetic series to this node',
    format: 'ae-title',
    default: 'BRAINSTRIP_TEST',
    env: 'BRAINSTRIP_OPS_SELF_TEST_AE',
  },
};
