// Worker thread: reads a series from its spooled files (the parsing a hostile instance can make slow or huge), so
// that the thread serving DICOM and HTTP never runs it. Receives { paths, options }, answers the loaded series and
// the acquisition attributes of its first instance, or the error message. The volume comes back in a
// SharedArrayBuffer.
import { parentPort, workerData } from 'node:worker_threads';
import { configureLogging, type LogOptions } from '../../log.js';
import { DicomError } from '../../dicom/errors.js';
import { readMrAcquisition } from '../../pipeline/derived/acquisition.js';
import { loadSeries, type LoadSeriesOptions } from '../../pipeline/dicom/load-series.js';

/**
 * A copy that survives postMessage: dcmjs decorates some values (person names) with functions, which structured
 * cloning refuses. Arrays and objects are copied without them; binary data is passed as it is.
 */
function plain(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
  if (Array.isArray(value)) return value.map(plain);
  return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v !== 'function').map(([k, v]) => [k, plain(v)]));
}

const { paths, options, log } = workerData as { paths: string[]; options: LoadSeriesOptions; log?: LogOptions };
// The pipeline's own log lines (what it read, what it refused) go where the node's go.
if (log) configureLogging(log);
try {
  // The voxels in shared memory: the registration and inference workers read this one copy.
  const loaded = await loadSeries(paths, { ...options, allocate: (voxels) => new Float32Array(new SharedArrayBuffer(voxels * 4)) });
  const acquisition = await readMrAcquisition(loaded.source.frames[0].path);
  parentPort!.postMessage({ ok: true, loaded: plain(loaded), acquisition: plain(acquisition) });
} catch (error) {
  const identifiers = error instanceof DicomError ? error.identifiers : undefined;
  parentPort!.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error), identifiers });
}
