// Where a stored 0 lies is the encoding's choice (signed values, a Rescale Intercept), and a scanner's scale is
// arbitrary: the same head stored with a constant added to every value, or multiplied by a positive factor, must
// give the same registration and the same brain mask. Real heads, the shipped model.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { configureLogging } from '../src/log.js';
import { loadVolume } from '../src/pipeline/dicom/load-input.js';
import { readNifti } from '../src/pipeline/io/nifti.js';
import { registerToAtlas } from '../src/pipeline/registration/index.js';
import { type Atlas, loadAtlas } from '../src/pipeline/segmentation/atlas.js';
import { dice } from '../src/pipeline/segmentation/mask-metrics.js';
import { resolveModel } from '../src/pipeline/segmentation/model-files.js';
import { backgroundLevel } from '../src/pipeline/segmentation/model-input.js';
import { segmentBrain } from '../src/pipeline/segmentation/segment.js';
import type { Volume } from '../src/pipeline/space/volume.js';
import { brainProbability } from '../src/onnx-session.js';
import { sharedData, sharedDataPresent } from './shared-data.js';

configureLogging({ level: 'warn', stream: 'stderr' });

const HEADS = [
  { name: 'open-ms patient01 T1W (3 mm axial)', path: path.join(sharedData, 'train/open-ms/patient01/study1_T1W.nii.gz') },
  { name: 'Siemens HFS sagittal 2D T1 (4 mm slices with gaps)', path: path.join(sharedData, 'dicom/siemens-t1-patient-positions/HFS/3_t1_fl2d_sag') },
];
const haveData = sharedDataPresent('the intensity-invariance tests on real heads', ...HEADS.map((h) => h.path));

const ENCODINGS: [string, (x: number) => number][] = [
  ['every value minus 600 (signed storage)', (x) => x - 600],
  ['every value plus 1000 (a Rescale Intercept)', (x) => x + 1000],
  ['every value times 4', (x) => x * 4],
];

describe.runIf(haveData)('the brain mask does not depend on the encoding of the values', () => {
  const atlas: Atlas = loadAtlas();
  const model = resolveModel({ name: 'brainstrip-efficient', precision: 'INT8', verify: false });
  const segment = (volume: Volume<Float32Array>, matrix: number[]) =>
    segmentBrain(volume, { matrix }, { atlas, grid: model.grid, reviewDice: 0.83, predict: (input, dims) => brainProbability(model.path, 2, input, dims) });
  const heads: { name: string; image: Volume<Float32Array> }[] = [];

  beforeAll(async () => {
    for (const h of HEADS) heads.push({ name: h.name, image: h.path.endsWith('.nii.gz') ? readNifti(h.path) : (await loadVolume(h.path)).volume });
  }, 120_000);

  it('on the images as stored, the network sees what it saw before: the fill outside the field of view is their air, 0', () => {
    for (const h of heads) expect(backgroundLevel(h.image.data), h.name).toBe(0);
  });

  for (const [index, h] of HEADS.entries()) {
    it(`${h.name}: same registration and Dice ≥ 0.99 with every value shifted or scaled`, async () => {
      const { image } = heads[index];
      const transform = await registerToAtlas(image, atlas);
      const reference = await segment(image, transform.matrix);
      for (const [label, f] of ENCODINGS) {
        const encoded = { ...image, data: image.data.map(f) };
        const moved = await registerToAtlas(encoded, atlas);
        const worst = Math.max(...moved.matrix.map((x, i) => Math.abs(x - transform.matrix[i])));
        expect(worst, `${label}: registration moved`).toBeLessThan(1e-3);
        const result = await segment(encoded, transform.matrix);
        const d = dice(result.mask.data, reference.mask.data);
        console.log(`${h.name}, ${label}: Dice ${d.toFixed(4)} against the mask of the stored values`);
        expect(d, label).toBeGreaterThanOrEqual(0.99);
      }
    }, 600_000);
  }
});
