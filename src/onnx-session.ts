// One ONNX Runtime session per model file per worker thread, created on first use and kept: creating a session
// (graph optimisation, weight packing) costs far more than one inference.
import './ort-env.js';
import ort from 'onnxruntime-node';

const sessions = new Map<string, Promise<ort.InferenceSession>>();

export function getSession(modelPath: string, intraOpThreads: number): Promise<ort.InferenceSession> {
  const key = `${modelPath}|${intraOpThreads}`;
  let session = sessions.get(key);
  if (!session) {
    session = ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // The arena reuses one inference's buffers for the next; memory patterns would plan (and keep) a second set
      // per run, which doubled peak RSS after the second inference.
      enableCpuMemArena: true,
      enableMemPattern: false,
    });
    // A failed load is not cached, so a corrected file can be picked up without restarting the worker.
    session.catch(() => sessions.delete(key));
    sessions.set(key, session);
  }
  return session;
}

/** Frees a session this worker holds (its weights and buffers), such as a model timed at start and not chosen. */
export async function releaseSession(modelPath: string, intraOpThreads: number): Promise<void> {
  const key = `${modelPath}|${intraOpThreads}`;
  const session = sessions.get(key);
  if (!session) return;
  sessions.delete(key);
  await (await session.catch(() => undefined))?.release();
}

/** Runs the brain extraction network on a [1, 1, D, H, W] tensor; returns P(brain) per voxel (softmax class 1). */
export async function brainProbability(modelPath: string, intraOpThreads: number, input: Float32Array, dims: [number, number, number]): Promise<Float32Array> {
  const session = await getSession(modelPath, intraOpThreads);
  const [nx, ny, nz] = dims;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, [1, 1, nz, ny, nx]) };
  const out = await session.run(feeds);
  const logits = out[session.outputNames[0]];
  const n = nx * ny * nz;
  if (logits.dims.length !== 5 || logits.dims[1] !== 2 || (logits.data as Float32Array).length !== 2 * n) {
    throw new Error(`model ${modelPath} returned logits of shape [${logits.dims.join(', ')}], expected [1, 2, ${nz}, ${ny}, ${nx}]`);
  }
  const l = logits.data as Float32Array;
  const p = new Float32Array(n);
  for (let v = 0; v < n; v++) p[v] = 1 / (1 + Math.exp(l[v] - l[n + v]));
  logits.dispose?.();
  return p;
}
