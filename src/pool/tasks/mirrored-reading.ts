// Worker task: the network's second reading of one volume (mirrored left–right, mirrored back) on the model grid,
// for reviewing a mask the node did not make (`brainstrip review`, the evaluation's damaged masks). Same session
// cache as the infer task.
import { mirroredReadingOf } from '../../pipeline/segmentation/segment.js';
import type { Grid, Volume } from '../../pipeline/space/volume.js';
import { brainProbability } from '../../onnx-session.js';
import { releaseMemory } from '../../memory.js';

export interface MirroredReadingPayload {
  modelPath: string;
  intraOpThreads: number;
  volume: Volume<Float32Array>;
  /** Registration result: input LPS → atlas LPS, row-major 4×4. */
  transform: number[];
  /** The model's own input grid in atlas space. */
  grid: Grid;
}

/** P(brain) on the payload's grid. */
export type MirroredReadingResult = Float32Array;

export default async function mirroredReading(payload: MirroredReadingPayload): Promise<MirroredReadingResult> {
  releaseMemory();
  const reading = await mirroredReadingOf(payload.volume, { matrix: payload.transform }, payload.grid, (input, dims) => brainProbability(payload.modelPath, payload.intraOpThreads, input, dims));
  return reading.data;
}
