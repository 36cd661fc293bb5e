// ONNX Runtime sessions for models the quantizer builds in memory (calibration, candidates, validation). The
// options match the node's own sessions (src/onnx-session.ts) so that what is measured here is what runs.
import ort from 'onnxruntime-node';

export interface QuantizerSessionOptions {
  threads?: number;
  /** Write the graph as ONNX Runtime optimised it (to prove which kernels it chose). */
  optimizedModelFilePath?: string;
  /** Profile every node's kernel; the JSON file is written on release under this prefix. */
  profileFilePrefix?: string;
}

export async function createSession(model: Uint8Array | string, options: QuantizerSessionOptions = {}): Promise<ort.InferenceSession> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: false,
    ...(options.optimizedModelFilePath ? { optimizedModelFilePath: options.optimizedModelFilePath } : {}),
    ...(options.profileFilePrefix ? { enableProfiling: true, profileFilePrefix: options.profileFilePrefix } : {}),
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, sessionOptions) : ort.InferenceSession.create(model, sessionOptions);
}

/** Runs a single-input model; every output comes back as float32 values. */
export async function runFloat(session: ort.InferenceSession, input: Float32Array, shape: number[]): Promise<Record<string, Float32Array>> {
  const results = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, shape) });
  const out: Record<string, Float32Array> = {};
  for (const name of session.outputNames) {
    const t = results[name];
    if (t.type !== 'float32') throw new Error(`output ${name} is ${t.type}, expected float32`);
    out[name] = t.data as Float32Array;
  }
  return out;
}
