// The operations port: health probes, Prometheus metrics and the job list.
export const httpSection = {
  port: {
    doc: 'TCP port of /health, /metrics and /api/jobs (0: any free port, logged at start)',
    format: 'tcp-port',
    default: 8080,
    env: 'BRAINSTRIP_HTTP_PORT',
  },
  host: {
    doc:
      'Address the operations port listens on. 127.0.0.1 (this machine only) by default: the job list shows UIDs, AE ' +
      'titles and paths; 0.0.0.0 opens it on every interface',
    format: 'host',
    default: '127.0.0.1',
    env: 'BRAINSTRIP_HTTP_HOST',
  },
};
