// Whole brain extraction of one 3D T1 on the CPU, as a worker runs it: registration to the atlas, model input,
// the network, its second reading of the image mirrored (the review check's), the mask on the native grid and
// the review. The input is Colin27 (Debian mricron-data) moved by a rigid motion onto a 256×256×176 grid of 1 mm,
// an MPRAGE's. Baseline in the same run: the same chain without the second reading (what the node ran before the
// review check asked the network twice). INT8 at 2 intra-op threads, the node's default on 2 cores.
import fs from 'node:fs';
import { brainProbability } from '../src/onnx-session.js';
import { readNifti } from '../src/pipeline/io/nifti.js';
import { registerToAtlas } from '../src/pipeline/registration/index.js';
import { loadAtlas } from '../src/pipeline/segmentation/atlas.js';
import { resolveModel } from '../src/pipeline/segmentation/model-files.js';
import { modelInput } from '../src/pipeline/segmentation/model-input.js';
import { DEFAULT_REVIEW_LIMITS, reviewMask } from '../src/pipeline/segmentation/review-check.js';
import { maskOnInputGrid, segmentBrain } from '../src/pipeline/segmentation/segment.js';
import { resample } from '../src/pipeline/space/resample.js';
import { eulerRotation, rigidAboutCentre } from '../src/pipeline/space/transform.js';
import { type Grid, type Vec3, type Volume, gridOf, withData } from '../src/pipeline/space/volume.js';
import { figure, measure, ratio } from './report/measure.js';
import type { BenchOptions, BenchResult, Figure } from './report/types.js';

const COLIN27 = '/usr/share/mricron/templates/ch2.nii.gz';
const deg = Math.PI / 180;
const THREADS = 2;

export async function run(options: BenchOptions = { quick: false }): Promise<BenchResult> {
  const title = 'Whole brain extraction of a 256×256×176 3D T1 (registration to mask), with and without the second reading';
  if (!fs.existsSync(COLIN27)) return { title, figures: [], ratios: [], skipped: `${COLIN27} is absent (Debian package mricron-data)` };
  const runs = options.quick ? 2 : 5;
  const atlas = loadAtlas();
  const model = resolveModel({ name: 'brainstrip-efficient', precision: 'INT8', verify: false });
  const modelGrid = model.grid ?? atlas.grid;
  const centre: Vec3 = [0, 18, 18];
  const dims: Vec3 = [176, 256, 256];
  const grid: Grid = {
    dims,
    spacing: [1, 1, 1],
    origin: [centre[0] - (dims[0] - 1) / 2, centre[1] - (dims[1] - 1) / 2, centre[2] - (dims[2] - 1) / 2],
    direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  };
  const motion = rigidAboutCentre(eulerRotation(6 * deg, -8 * deg, 10 * deg), centre, [6, -4, 8]);
  const input = resample(readNifti(COLIN27), grid, { targetToSource: motion.matrix }) as Volume<Float32Array>;
  const predict = (x: Float32Array, d: Vec3) => brainProbability(model.path, THREADS, x, d);

  const parts: Record<string, number[]> = { registration: [], network: [], 'second reading': [] };
  let flagged = false;
  const withReading = await measure(async () => {
    const t0 = performance.now();
    const transform = await registerToAtlas(input, atlas);
    parts.registration.push(performance.now() - t0);
    const result = await segmentBrain(input, transform, { atlas, grid: modelGrid, reviewDice: DEFAULT_REVIEW_LIMITS.minAtlasDice, predict });
    parts.network.push(result.timings.networkMs);
    parts['second reading'].push(result.timings.mirroredReadingMs);
    flagged ||= result.review.flagged;
  }, { warmup: 1, runs });
  const withoutReading = await measure(async () => {
    const transform = await registerToAtlas(input, atlas);
    const probability = await predict(modelInput(input, transform, modelGrid), modelGrid.dims);
    const mask = maskOnInputGrid(withData(gridOf(modelGrid), probability), input, transform);
    reviewMask(mask, atlas, transform, DEFAULT_REVIEW_LIMITS, { image: input, probability });
  }, { warmup: 1, runs });
  const seconds = (values: number[]) => values.map((v) => v / 1000);
  const figures: Figure[] = [
    figure('whole extraction, with the second reading', 's', seconds(withReading.samples), 2),
    figure('whole extraction, without it (baseline)', 's', seconds(withoutReading.samples), 2),
    ...Object.entries(parts).map(([name, values]) => figure(`of which ${name}`, 's', seconds(values.slice(1)), 2)),
  ];
  return {
    title,
    figures,
    ratios: [ratio('time, with the second reading / without', withReading.median, withoutReading.median, 'the same chain without the second reading, same run', 'above 1: the second reading costs that much more time')],
    notes: [
      `Input: Colin27 moved by 6°/−8°/10° and 6/−4/8 mm onto a ${dims.join('×')} grid of 1 mm; ${model.name} ${model.version} INT8 at ${THREADS} intra-op threads in one thread of this process; ${runs} timed runs after a warm-up each way.${flagged ? ' The result was flagged for review.' : ''}`,
    ],
  };
}
