// Worker task: rigid registration of one volume to the atlas, off the main thread. The atlas is loaded once
// per worker (loadAtlas caches it) and reused for every series the worker registers.
import { loadAtlas } from '../../pipeline/segmentation/atlas.js';
import { type RegistrationOptions, registerToAtlasWithReport } from '../../pipeline/registration/index.js';
import type { DicomContext } from '../../dicom/errors.js';
import type { Volume } from '../../pipeline/space/volume.js';
import { releaseMemory } from '../../memory.js';

export interface RegisterTaskPayload {
  volume: Volume<Float32Array>;
  context?: DicomContext;
  /** Models folder holding atlas/ (empty: the shipped one). */
  modelsDir?: string;
  /** Usually registrationOptionsFromConfig(config.registration). */
  options?: Omit<RegistrationOptions, 'context'>;
}

export interface RegisterTaskResult {
  /** Input LPS → atlas LPS, row-major 4×4 (a RigidTransform). */
  matrix: number[];
  nmi: number;
  candidate: number;
  milliseconds: number;
}

export default async function register(payload: RegisterTaskPayload): Promise<RegisterTaskResult> {
  // The previous task's payload and intermediates are garbage now: freed before this task allocates its own.
  releaseMemory();
  const atlas = loadAtlas(payload.modelsDir || undefined);
  const report = await registerToAtlasWithReport(payload.volume, atlas, { ...payload.options, context: payload.context });
  return { matrix: report.transform.matrix, nmi: report.nmi, candidate: report.candidate, milliseconds: report.milliseconds };
}
