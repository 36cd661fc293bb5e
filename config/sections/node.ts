// Where the node keeps its data and how it logs. Every other section's paths default to folders under dataDir.
export const nodeSection = {
  dataDir: {
    doc: 'Root folder for spool, job database, results and error area',
    format: 'path',
    default: './var',
    env: 'BRAINSTRIP_DATA_DIR',
  },
  log: {
    level: {
      doc: 'winston log level',
      format: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'],
      default: 'info',
      env: 'BRAINSTRIP_LOG_LEVEL',
    },
    file: {
      doc: 'Also write JSON lines to this file (relative to dataDir); empty for stdout only',
      format: 'optional-path',
      default: 'logs/brainstrip.log',
      env: 'BRAINSTRIP_LOG_FILE',
    },
  },
};
