// The operations port: health probes, Prometheus metrics and the job list.
export const httpSection = {
  port: {
    doc: 'TCP port of /health, /metrics and /api/jobs (0: any free port, logged at start)',
    format: 'port',
    default: 8080,
    env: 'BRAINSTRIP_HTTP_PORT',
  },
  host: {
    doc: 'Address the operations port listens on (0.0.0.0: every interface)',
    format: String,
    default: '0.0.0.0',
    env: 'BRAINSTRIP_HTTP_HOST',
  },
};
