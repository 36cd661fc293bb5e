// The receiving half of the node, as the rest of the node (serve, tests, the pipeline) uses it.

export { startScp, type RunningScp } from './scp.js';
export type { ScpDependencies, ScpOptions } from './runtime.js';
export { callerAllowed } from './association-policy.js';
export { Spool, uidFileName } from './spool.js';
export { SpoolWriter } from './spool-writer.js';
export { SeriesCompletion, spooledSeriesEvidence } from './series-completion.js';
export { reconcileSpool } from './recovery.js';
export { cleanSpool, startHousekeeping } from './housekeeping.js';
export { startStorageProbe, type StorageProbe, type StorageState } from './storage-probe.js';
export { routeInstance, isOwnOutput, type RoutingConfig } from './routing.js';
export { readInstanceHeader, type InstanceHeader } from './dataset-header.js';
export { readFileMeta, fileMetaHeader } from './part10.js';
