// The review flag: a correct mask of a real head passes and the same mask damaged the ways masks fail (the vertex,
// the cerebellum or a temporal pole cut off, the orbits or the sphenoid sinus taken in, a lobe missing, the mask
// shifted) is flagged with a reason a person understands — through `brainstrip review` as a user runs it and
// through the check the node calls. Images that are not a head (noise, a uniform volume, a knee, a spine, a
// phantom) are flagged whatever mask the network draws on them, and no real head is taken for one. How often the
// flag is right on every validation head is measured by `npm run evaluate:model` (models/evaluation.md).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAMAGES, type Damage, damageMask } from '../src/tools/mask-damage.js';
import { readNifti, writeNifti } from '../src/pipeline/io/nifti.js';
import { toJson } from '../src/pipeline/space/transform.js';
import { cliPath } from './e2e-fixtures.js';
import { type Atlas, loadAtlas } from '../src/pipeline/segmentation/atlas.js';
import { registerToAtlas } from '../src/pipeline/registration/index.js';
import { DEFAULT_REVIEW_LIMITS, type ReviewResult, reviewMask } from '../src/pipeline/segmentation/review-check.js';
import { resolveModel } from '../src/pipeline/segmentation/model-files.js';
import { mirroredReadingOf, segmentBrain } from '../src/pipeline/segmentation/segment.js';
import { loadVolume } from '../src/pipeline/dicom/load-input.js';
import { identityTransform } from '../src/pipeline/space/transform.js';
import { brainProbability } from '../src/onnx-session.js';
import type { RigidTransform } from '../src/pipeline/space/transform.js';
import type { Volume } from '../src/pipeline/space/volume.js';
import { sharedData, sharedDataPresent } from './shared-data.js';
import { nonHeads } from './review-fixtures.js';

const model = resolveModel({ name: 'brainstrip-efficient', precision: 'INT8', verify: false });

const predict = (input: Float32Array, dims: [number, number, number]) => brainProbability(model.path, 2, input, dims);

/** The whole segmentation chain with the shipped (default INT8) network, as the node runs it. */
function segment(image: Volume<Float32Array>, atlas: Atlas, transform: RigidTransform) {
  return segmentBrain(image, transform, { atlas, grid: model.grid, reviewDice: DEFAULT_REVIEW_LIMITS.minAtlasDice, predict });
}

function describeReview(name: string, review: ReviewResult, mask: Volume<Uint8Array>): string {
  const ml = (mask.data.reduce((n, v) => n + v, 0) * mask.spacing[0] * mask.spacing[1] * mask.spacing[2]) / 1000;
  const e = review.evidence;
  return `${name}: structure ${e.imageStructure?.toFixed(3)}, uncertain/brain ${e.uncertainPerBrainVoxel?.toFixed(3)}, mirrored reading left out ${e.readingLeftOutMl?.toFixed(1)} mL / beyond ${e.beyondReadingMl?.toFixed(1)} mL, atlas Dice ${e.atlasDice.toFixed(3)}, excess ${e.excessMl.toFixed(1)} mL, missing ${e.missingMl.toFixed(1)} mL, asymmetry ${e.asymmetryMl.toFixed(1)} mL, offset ${e.offsetMm.toFixed(1)} mm, mask ${ml.toFixed(0)} mL${review.flagged ? ` — flagged: ${review.reasons.join('; ')}` : ''}`;
}

const head = path.join(sharedData, 'train', 'open-ms', 'patient20');
const haveHead = sharedDataPresent('the review-flag tests on a real head', head);

/** A reason each kind of damage must be flagged with: the atlas's or the network's second reading, naming it. */
const EXPECTED_REASON: Record<Damage, RegExp> = {
  'vertex cut 10 mm': /^(missing|second reading):.*vertex/,
  'orbits added': /^(extent|second reading):.*orbits/,
  'sphenoid sinus added': /^(extent|second reading):.*sinus/,
  'cerebellum cut': /^missing:.*cerebellum/,
  'temporal pole cut': /^(asymmetry|second reading):.*temporal pole/,
  'occipital lobe missing': /^(missing|asymmetry|second reading):.*lobe/,
  'shifted 8 mm': /^(position|asymmetry|second reading):.*shifted/,
};

describe.runIf(haveHead)('the review flag on a real head (open-ms patient20, T1) and its mask damaged the ways masks fail', () => {
  const atlas = loadAtlas();
  let image: Volume<Float32Array>;
  let mask: Volume<Uint8Array>;
  let transform: RigidTransform;
  let reading: Volume<Float32Array>;
  let dir: string;

  beforeAll(async () => {
    image = readNifti(path.join(head, 'study2_T1W.nii.gz'));
    transform = await registerToAtlas(image, atlas);
    // The node's own mask (Dice 0.955 against the expert's, which follows the brain's surface rather than the inner table).
    mask = (await segment(image, atlas, transform)).mask;
    reading = await mirroredReadingOf(image, transform, model.grid ?? atlas.grid, predict);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-review-'));
    fs.writeFileSync(path.join(dir, 'transform.json'), JSON.stringify(toJson(transform)));
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** `brainstrip review` as a user runs it, on the image and `mask` written as NIfTI. */
  function reviewCommand(mask: Volume<Uint8Array>): ReviewResult {
    const file = path.join(dir, 'mask.nii.gz');
    writeNifti(file, mask);
    const run = spawnSync(process.execPath, [cliPath, 'review', path.join(head, 'study2_T1W.nii.gz'), file, '--transform', path.join(dir, 'transform.json')], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as ReviewResult;
  }

  it('brainstrip review passes the mask and flags it with a temporal pole cut off, saying why and with the measures', () => {
    const correct = reviewCommand(mask);
    expect(correct.reasons).toEqual([]);
    expect(correct).toMatchObject({ flagged: false, notAHead: false, evidence: { atlasDice: expect.any(Number), missingMl: expect.any(Number), offsetMm: expect.any(Number), readingLeftOutMl: expect.any(Number), beyondReadingMl: expect.any(Number) } });
    // A few millilitres at the skull base: the atlas cannot tell them from a small head, the network's reading can.
    const cut = reviewCommand(damageMask(mask, transform, 'temporal pole cut').mask);
    expect(cut.flagged).toBe(true);
    expect(cut.reasons.join('\n')).toMatch(/^second reading:.*temporal pole/m);
    expect(cut.evidence.readingLeftOutMl).toBeGreaterThan(DEFAULT_REVIEW_LIMITS.maxReadingDisagreementMl);
  }, 60_000);

  it("the network's mirrored reading agrees with its own mask where it is sure", () => {
    const review = reviewMask(mask, atlas, transform, DEFAULT_REVIEW_LIMITS, { image, mirroredReading: reading });
    expect(review.reasons).toEqual([]);
    expect(review.evidence.readingLeftOutMl).toBeLessThan(DEFAULT_REVIEW_LIMITS.maxReadingDisagreementMl);
    expect(review.evidence.beyondReadingMl).toBeLessThan(DEFAULT_REVIEW_LIMITS.maxReadingDisagreementMl);
  });

  for (const damage of DAMAGES) {
    for (const shift of damage === 'shifted 8 mm' ? [0, 2, 4] : [0]) {
      it(`flags the mask with ${damage}${damage === 'shifted 8 mm' ? ` (${['left', '', 'back', '', 'up'][shift]})` : ''}, with a reason that says so`, () => {
        const damaged = damageMask(mask, transform, damage, shift);
        expect(damaged.changedMl).toBeGreaterThan(3);
        const review = reviewMask(damaged.mask, atlas, transform, DEFAULT_REVIEW_LIMITS, { image, mirroredReading: reading });
        expect(review.flagged, JSON.stringify(review.evidence)).toBe(true);
        expect(review.reasons.some((r) => EXPECTED_REASON[damage].test(r)), review.reasons.join('; ')).toBe(true);
      });
    }
  }

  it('without the second reading, the atlas alone still catches what lies far from any brain', () => {
    for (const damage of ['orbits added', 'cerebellum cut', 'occipital lobe missing'] as const) {
      const review = reviewMask(damageMask(mask, transform, damage).mask, atlas, transform, DEFAULT_REVIEW_LIMITS, { image });
      expect(review.flagged, damage).toBe(true);
      expect(review.evidence.readingLeftOutMl).toBeUndefined();
    }
  });
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
