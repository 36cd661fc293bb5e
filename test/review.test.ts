// The review flag on real clinical heads: every expert mask of the open-ms patients passes, and the same masks
// damaged the ways models fail (orbits or sphenoid sinus taken in) are flagged, with a reason a person
// understands. Images that are not a head (noise, a uniform volume, a knee, a spine, a phantom) are flagged
// whatever mask the network draws on them, and no real head is taken for one.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { binary } from '../src/tools/reference-mask.js';
import { openMsCases } from '../src/tools/evaluate-model.js';
import { type Atlas, loadAtlas } from '../src/pipeline/segmentation/atlas.js';
import { registerToAtlas } from '../src/pipeline/registration/index.js';
import { DEFAULT_REVIEW_LIMITS, type ReviewResult, reviewMask } from '../src/pipeline/segmentation/review-check.js';
import { resolveModel } from '../src/pipeline/segmentation/model-files.js';
import { segmentBrain } from '../src/pipeline/segmentation/segment.js';
import { loadVolume } from '../src/pipeline/dicom/load-input.js';
import { identityTransform } from '../src/pipeline/space/transform.js';
import { brainProbability } from '../src/onnx-session.js';
import type { RigidTransform } from '../src/pipeline/space/transform.js';
import type { Volume } from '../src/pipeline/space/volume.js';
import { sharedData, sharedDataPresent } from './shared-data.js';
import { DAMAGES, damageMask, nonHeads } from './review-fixtures.js';

const model = resolveModel({ name: 'brainstrip-efficient', precision: 'INT8', verify: false });

/** The whole segmentation chain with the shipped (default INT8) network, as the node runs it. */
function segment(image: Volume<Float32Array>, atlas: Atlas, transform: RigidTransform) {
  return segmentBrain(image, transform, { atlas, grid: model.grid, reviewDice: DEFAULT_REVIEW_LIMITS.minAtlasDice, predict: (input, dims) => brainProbability(model.path, 2, input, dims) });
}

function describeReview(name: string, review: ReviewResult, mask: Volume<Uint8Array>): string {
  const ml = (mask.data.reduce((n, v) => n + v, 0) * mask.spacing[0] * mask.spacing[1] * mask.spacing[2]) / 1000;
  const e = review.evidence;
  return `${name}: structure ${e.imageStructure?.toFixed(3)}, uncertain/brain ${e.uncertainPerBrainVoxel?.toFixed(3)}, atlas Dice ${e.atlasDice.toFixed(3)}, excess ${e.excessMl.toFixed(1)} mL, mask ${ml.toFixed(0)} mL${review.flagged ? ` — flagged: ${review.reasons.join('; ')}` : ''}`;
}

const openMs = path.join(sharedData, 'train', 'open-ms');
const haveData = sharedDataPresent('the review-flag tests on real heads', openMs);

interface Head {
  name: string;
  image: Volume<Float32Array>;
  reference: Volume<Uint8Array>;
  transform: RigidTransform;
}

describe.runIf(haveData)('review flag on the open-ms heads', () => {
  let atlas: Atlas;
  const heads: Head[] = [];

  beforeAll(async () => {
    atlas = loadAtlas();
    for (const c of openMsCases(openMs)) {
      const { image, reference } = c.load();
      heads.push({ name: c.name, image, reference: binary({ ...reference, data: Float32Array.from(reference.data) }), transform: await registerToAtlas(image, atlas) });
    }
  }, 600_000);

  it('passes every expert mask', () => {
    const flagged = heads.map((h) => ({ name: h.name, ...reviewMask(h.reference, atlas, h.transform) }));
    for (const f of flagged) console.log(`${f.name} reference: ${JSON.stringify(f.evidence)}`);
    expect(flagged.length).toBe(17);
    expect(flagged.filter((f) => f.flagged).map((f) => `${f.name}: ${f.reasons.join('; ')}`)).toEqual([]);
  }, 600_000);

  it('takes no real head for something else: the mask the network draws on each passes the image checks', async () => {
    const taken: string[] = [];
    for (const h of heads) {
      const result = await segment(h.image, atlas, h.transform);
      console.log(describeReview(h.name, result.review, result.mask));
      if (result.review.notAHead) taken.push(`${h.name}: ${result.review.reasons.join('; ')}`);
    }
    expect(taken).toEqual([]);
  }, 600_000);

  for (const damage of DAMAGES) {
    it(`flags masks with ${damage}`, () => {
      let applicable = 0;
      const missed: string[] = [];
      for (const h of heads) {
        const damaged = damageMask(h.reference, h.transform, damage);
        // a damage outside this slab's field of view leaves the mask as it was
        if (damaged.changedMl < 10) continue;
        applicable++;
        const result = reviewMask(damaged.mask, atlas, h.transform);
        console.log(`${h.name} ${damage} (${damaged.changedMl.toFixed(0)} mL): ${JSON.stringify(result.evidence)}${result.flagged ? '' : ' NOT FLAGGED'}`);
        if (!result.flagged) missed.push(h.name);
        else expect(result.reasons.join(' ')).toMatch(/extent|shape/);
      }
      expect(applicable).toBeGreaterThanOrEqual(5);
      expect(missed).toEqual([]);
    }, 600_000);
  }
});

const dicomHeads = ['HFS', 'HFP', 'HFDL', 'HFDR'].map((p) => `siemens-t1-patient-positions/${p}`).concat(['siemens-xa30-t1-enhanced/5_anat-T1w_acq-tfl', 'siemens-xa30-t1-enhanced/6_anat-T1w_acq-tfl', 'canon-oblique-dwi/enh']).map((p) => path.join(sharedData, 'dicom', p));
const phantom = path.join(sharedData, 'dicom/siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');
const haveDicom = sharedDataPresent('the not-a-head tests on scanner series', ...dicomHeads, phantom);

describe('what is not a head never comes back as an unflagged brain', () => {
  const atlas = loadAtlas();

  it.runIf(haveDicom)('heads from other scanners, positions and sequences (2D with gaps, 3D, oblique diffusion) are taken for heads', async () => {
    for (const dir of dicomHeads) {
      const image = (await loadVolume(dir)).volume;
      const result = await segment(image, atlas, await registerToAtlas(image, atlas));
      console.log(describeReview(path.relative(sharedData, dir), result.review, result.mask));
      expect(result.review.notAHead, result.review.reasons.join('; ')).toBe(false);
    }
  }, 600_000);

  it.runIf(haveDicom)('a phantom scanned with a head protocol is flagged', async () => {
    const image = (await loadVolume(phantom)).volume;
    const result = await segment(image, atlas, await registerToAtlas(image, atlas));
    console.log(describeReview('XA30 cylindrical phantom', result.review, result.mask));
    expect(result.review.flagged).toBe(true);
  }, 600_000);

  for (const { name, image, kind } of nonHeads()) {
    it(`${name} is flagged${kind === 'phantom' ? '' : ' as not a head'}`, async () => {
      // Registration may refuse an image without a head outright; the check must say so on its own as well.
      const transform = await registerToAtlas(image, atlas).catch((error: Error) => {
        console.log(`${name}: registration refused it (${error.message})`);
        return identityTransform();
      });
      const result = await segment(image, atlas, transform);
      console.log(describeReview(name, result.review, result.mask));
      expect(result.review.flagged).toBe(true);
      if (kind === 'phantom') return;
      expect(result.review.notAHead, result.review.reasons.join('; ')).toBe(true);
      expect(result.review.reasons.join(' ')).toMatch(kind === 'noise' ? /not a head\? (neighbouring voxels are unrelated|the network is unsure)/ : /not a head\?/);
    }, 120_000);
  }
});
