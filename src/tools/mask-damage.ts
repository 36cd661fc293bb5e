// Brain masks damaged the ways segmentations fail on real heads, for measuring the review check (evaluation) and
// testing it: the vertex cut off, the orbits or the sphenoid sinus taken in, the cerebellum or a temporal pole cut
// off, a lobe missing, the whole mask shifted. Regions are defined in atlas space (Colin27 / MNI, LPS mm: x to the
// patient's left, y posterior, z superior) and, where a head's own extent matters (the vertex, the tip of the
// temporal pole, the occipital pole), measured from the mask itself; the registration transform brings them onto
// the image's grid. Pure: a new mask comes back, the given one is untouched.
import { compose, indexToWorld, invert } from '../pipeline/space/geometry.js';
import { resampleMask } from '../pipeline/space/resample.js';
import { type RigidTransform, translation } from '../pipeline/space/transform.js';
import type { Vec3, Volume } from '../pipeline/space/volume.js';

export type Damage = 'vertex cut 10 mm' | 'orbits added' | 'sphenoid sinus added' | 'cerebellum cut' | 'temporal pole cut' | 'occipital lobe missing' | 'shifted 8 mm';

export const DAMAGES: readonly Damage[] = ['vertex cut 10 mm', 'orbits added', 'sphenoid sinus added', 'cerebellum cut', 'temporal pole cut', 'occipital lobe missing', 'shifted 8 mm'];

/** Directions (atlas space) the shifted mask moves in, one per case in turn: left, right, posterior, anterior, up, down. */
export const SHIFT_DIRECTIONS: readonly Vec3[] = [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]];

/** Atlas-space position (LPS mm) of every voxel of the grid, three numbers per voxel. */
function atlasPositions(mask: Volume<Uint8Array>, transform: RigidTransform): Float32Array {
  const m = compose(indexToWorld(mask), transform.matrix);
  const [nx, ny, nz] = mask.dims;
  const out = new Float32Array(nx * ny * nz * 3);
  let o = 0;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, o += 3) {
        out[o] = m[0] * i + m[1] * j + m[2] * k + m[3];
        out[o + 1] = m[4] * i + m[5] * j + m[6] * k + m[7];
        out[o + 2] = m[8] * i + m[9] * j + m[10] * k + m[11];
      }
  return out;
}

function inEllipsoid(p: Float32Array, o: number, centre: Vec3, radii: Vec3): boolean {
  return ((p[o] - centre[0]) / radii[0]) ** 2 + ((p[o + 1] - centre[1]) / radii[1]) ** 2 + ((p[o + 2] - centre[2]) / radii[2]) ** 2 <= 1;
}

/** Extreme value of atlas coordinate `axis` (0 x, 1 y, 2 z) over the mask voxels where `where` holds. */
function extreme(mask: Uint8Array, p: Float32Array, axis: number, pick: 'min' | 'max', where: (o: number) => boolean = () => true): number {
  let best = pick === 'min' ? Infinity : -Infinity;
  for (let v = 0, o = 0; v < mask.length; v++, o += 3) {
    if (!mask[v] || !where(o)) continue;
    const c = p[o + axis];
    if (pick === 'min' ? c < best : c > best) best = c;
  }
  return best;
}

/** Which voxels the damage removes (`cut`) or adds (`add`), as a test on a voxel's atlas position at offset o. */
function damageRegion(damage: Exclude<Damage, 'shifted 8 mm'>, mask: Uint8Array, p: Float32Array): { add: boolean; inside: (o: number) => boolean } {
  switch (damage) {
    case 'vertex cut 10 mm': {
      const top = extreme(mask, p, 2, 'max');
      return { add: false, inside: (o) => p[o + 2] > top - 10 };
    }
    case 'orbits added':
      // both globes and the orbital roof between them and the frontal lobes
      return { add: true, inside: (o) => inEllipsoid(p, o, [33, -52, -36], [14, 16, 14]) || inEllipsoid(p, o, [-33, -52, -36], [14, 16, 14]) || inEllipsoid(p, o, [0, -40, -24], [45, 20, 9]) };
    case 'sphenoid sinus added':
      return { add: true, inside: (o) => inEllipsoid(p, o, [0, -15, -34], [16, 16, 13]) };
    case 'cerebellum cut':
      // the posterior fossa behind the brain stem, below the level of the fourth ventricle
      return { add: false, inside: (o) => p[o + 1] > 42 && p[o + 2] < -30 };
    case 'temporal pole cut': {
      // the front 25 mm of the left temporal lobe, below the level of the frontal lobe's lowest gyri
      const lobe = (o: number) => p[o] > 28 && p[o + 2] < -28;
      const tip = extreme(mask, p, 1, 'min', lobe);
      return { add: false, inside: (o) => lobe(o) && p[o + 1] < tip + 25 };
    }
    case 'occipital lobe missing': {
      // the back 40 mm of the right hemisphere above the tentorium
      const pole = extreme(mask, p, 1, 'max', (o) => p[o] < 0 && p[o + 2] > -5);
      return { add: false, inside: (o) => p[o] < -2 && p[o + 2] > -5 && p[o + 1] > pole - 40 };
    }
  }
}

export interface DamagedMask {
  mask: Volume<Uint8Array>;
  /** How many mL changed (about 0: the damage lies outside this image's field of view). */
  changedMl: number;
}

/**
 * `mask` damaged by `damage`; `transform` maps the image's patient space to the atlas. `shiftIndex` picks the
 * direction of a shift from SHIFT_DIRECTIONS (taken in turn over a set of cases).
 */
export function damageMask(mask: Volume<Uint8Array>, transform: RigidTransform, damage: Damage, shiftIndex = 0): DamagedMask {
  let data: Uint8Array;
  if (damage === 'shifted 8 mm') {
    // The shift in atlas space, as a displacement in the image's patient space (rotation part of the inverse).
    const d = SHIFT_DIRECTIONS[shiftIndex % SHIFT_DIRECTIONS.length];
    const back = invert(transform.matrix);
    const shift: Vec3 = [0, 1, 2].map((r) => 8 * (back[4 * r] * d[0] + back[4 * r + 1] * d[1] + back[4 * r + 2] * d[2])) as Vec3;
    data = resampleMask(mask, mask, translation([-shift[0], -shift[1], -shift[2]])).data;
  } else {
    const p = atlasPositions(mask, transform);
    const region = damageRegion(damage, mask.data, p);
    data = mask.data.slice();
    for (let v = 0, o = 0; v < data.length; v++, o += 3) if (region.inside(o)) data[v] = region.add ? 1 : 0;
  }
  let changed = 0;
  for (let v = 0; v < data.length; v++) if (data[v] !== mask.data[v]) changed++;
  return { mask: { ...mask, data }, changedMl: (changed * mask.spacing[0] * mask.spacing[1] * mask.spacing[2]) / 1000 };
}
