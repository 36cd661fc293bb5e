// The worker pool that runs registration and inference off the main thread (Piscina, one ONNX Runtime session
// per worker). 0 means: derive from the number of CPU cores.
export const poolSection = {
  workers: {
    doc: 'Worker threads; 0 = one per two cores (at least 1), so that each inference gets intra-op threads of its own',
    format: 'whole-number',
    default: 0,
    env: 'BRAINSTRIP_POOL_WORKERS',
  },
  intraOpThreads: {
    doc: 'ONNX Runtime intra-op threads per worker; 0 = cores divided by workers (at least 1)',
    format: 'whole-number',
    default: 0,
    env: 'BRAINSTRIP_POOL_INTRA_OP_THREADS',
  },
  maxQueue: {
    doc: 'Tasks that may wait for a worker before new ones are refused',
    format: 'whole-number',
    default: 64,
    env: 'BRAINSTRIP_POOL_MAX_QUEUE',
  },
  idleTimeoutMs: {
    doc: 'A worker idle this long exits (its ONNX session with it); 0 keeps workers for the life of the node',
    format: 'duration',
    default: 0,
    env: 'BRAINSTRIP_POOL_IDLE_TIMEOUT_MS',
  },
};

export interface PoolConfig {
  workers: number;
  intraOpThreads: number;
  maxQueue: number;
  idleTimeoutMs: number;
}
