// The review flag on real clinical heads: every expert mask of the open-ms patients passes, and the same masks
// damaged the ways models fail (orbits or sphenoid sinus taken in) are flagged, with a reason a person
// understands.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { binary } from '../src/cli/evaluate.js';
import { openMsCases } from '../src/cli/evaluate-model.js';
import { type Atlas, loadAtlas } from '../src/pipeline/segmentation/atlas.js';
import { registerToAtlas } from '../src/pipeline/registration/index.js';
import { reviewMask } from '../src/pipeline/segmentation/review-check.js';
import type { RigidTransform } from '../src/pipeline/space/transform.js';
import type { Volume } from '../src/pipeline/space/volume.js';
import { sharedData, sharedDataPresent } from './shared-data.js';
import { DAMAGES, damageMask } from './review-fixtures.js';

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
