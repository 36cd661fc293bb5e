// The operations page: who may log in (local users in their own SQLite file), how long a login lasts, how much
// password guessing is tolerated, and whether the JSON API needs a login.
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
  loginFailuresPerUser: {
    doc: 'Failed logins for one user name within ops.loginWindowMinutes before that name is locked for the rest of the window',
    format: 'positive-whole-number',
    default: 5,
    env: 'BRAINSTRIP_OPS_LOGIN_FAILURES_PER_USER',
  },
  loginFailuresPerClient: {
    doc:
      'Failed logins from one client address, whatever the user names, within ops.loginWindowMinutes before that address ' +
      'is answered 429 without any password check for the rest of the window (behind a proxy all users share its address)',
    format: 'positive-whole-number',
    default: 30,
    env: 'BRAINSTRIP_OPS_LOGIN_FAILURES_PER_CLIENT',
  },
  loginWindowMinutes: {
    doc: 'The sliding window of the login limits, in minutes',
    format: 'positive-duration',
    default: 15,
    env: 'BRAINSTRIP_OPS_LOGIN_WINDOW_MINUTES',
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
  destinationFailingSeconds: {
    doc: 'An archive that has stored nothing for this long while objects wait for it makes /health degraded and shows red on the page',
    format: 'positive-duration',
    default: 300,
    env: 'BRAINSTRIP_OPS_DESTINATION_FAILING_SECONDS',
  },
  spoolWarnFreeMegabytes: {
    doc: 'Below this much free space in the spool, /health is degraded (instances are refused below receive.minFreeMegabytes)',
    format: 'whole-number',
    default: 2048,
    env: 'BRAINSTRIP_OPS_SPOOL_WARN_FREE_MEGABYTES',
  },
  selfTestCallingAe: {
    doc: 'Calling AE title of the self-test when it sends its synthetic series to this node',
    format: 'ae-title',
    default: 'BRAINSTRIP_TEST',
    env: 'BRAINSTRIP_OPS_SELF_TEST_AE',
  },
};
