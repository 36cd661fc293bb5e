// Worker task: everything a worker's first series would otherwise pay for, done once when the node starts: the
// atlas and its registration pyramid and samples (a registration of the atlas to itself, at the configured
// options), the ONNX Runtime session, and one inference (the first run of a session allocates its buffers).
import { loadAtlas } from '../../pipeline/segmentation/atlas.js';
import { type RegistrationOptions, registerToAtlasWithReport } from '../../pipeline/registration/index.js';
import { downsample } from '../../pipeline/registration/pyramid.js';
import type { Grid } from '../../pipeline/space/volume.js';
import { brainProbability } from '../../onnx-session.js';

export interface WarmPayload {
  modelPath: string;
  intraOpThreads: number;
  /** Models folder holding atlas/ (empty: the shipped one). */
  modelsDir?: string;
  /** The model's own input grid (absent: the atlas grid). */
  grid?: Grid;
  /** Usually registrationOptionsFromConfig(config.registration). */
  options?: Omit<RegistrationOptions, 'context'>;
}

export interface WarmResult {
  milliseconds: number;
}

export default async function warm(payload: WarmPayload): Promise<WarmResult> {
  const started = performance.now();
  const atlas = loadAtlas(payload.modelsDir || undefined);
  // A coarse copy of the atlas head is enough to prepare the atlas side, which is the costly part.
  await registerToAtlasWithReport(downsample(atlas.template, [3, 3, 3]), atlas, payload.options);
  const dims = (payload.grid ?? atlas.grid).dims;
  await brainProbability(payload.modelPath, payload.intraOpThreads, new Float32Array(dims[0] * dims[1] * dims[2]), dims);
  return { milliseconds: Math.round(performance.now() - started) };
}
