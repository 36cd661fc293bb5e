// The confidence check behind "flagged for review": how well the model's brain mask agrees with the atlas brain
// mask brought onto the same grid by the registration. Registration is rigid and the atlas (Colin27) is a large
// head (1.93 L in our convention), so a correct mask of a small adult head (1.3–1.5 L) cannot score much above
// 0.85 against it even when nested perfectly, and scored 0.78–0.82 on real heads. The check therefore also lets the
// atlas mask shrink (never grow) about its own centre and keeps the best Dice: head size is not a failure, a mask
// of the wrong shape or place is.
import { type Affine, compose, maskCentroid } from '../space/geometry.js';
import { resampleMask } from '../space/resample.js';
import { type RigidTransform, translation } from '../space/transform.js';
import { dice } from './mask-metrics.js';
import { type Grid, type Vec3, type Volume } from '../space/volume.js';

export interface AtlasAgreement {
  /** Dice with the atlas mask at the best of `scales`. */
  dice: number;
  /** Dice with the atlas mask at its own size (scale 1). */
  diceUnscaled: number;
  /** Linear scale of the atlas mask that agreed best (0.9: the head is about 10% smaller than Colin27). */
  scale: number;
}

/**
 * Linear scales tried: down to 0.82 (about 1.07 L against the atlas's 1.93 L), never above the atlas's own size:
 * Colin27 is at the top of the adult range, and a mask that reaches into the skull all round looks like a bigger
 * head, which must stay flagged.
 */
const AGREEMENT_SCALES: readonly number[] = [0.82, 0.85, 0.88, 0.91, 0.94, 0.97, 1];

/** The same field of view sampled every `factor` voxels (per axis): Dice on it estimates Dice on the full grid cheaply. */
export function coarserGrid(grid: Grid, factor: number | Vec3): Grid {
  const f = typeof factor === 'number' ? [factor, factor, factor] : factor;
  return {
    dims: grid.dims.map((d, a) => Math.max(1, Math.ceil(d / f[a]))) as Vec3,
    spacing: grid.spacing.map((s, a) => s * f[a]) as Vec3,
    origin: [...grid.origin] as Vec3,
    direction: grid.direction.map((d) => [...d]) as [Vec3, Vec3, Vec3],
  };
}

/** The field of view at about 2 mm in each direction (thick slices stay as they are): the review check's grid. */
export function reviewGrid(grid: Grid): Grid {
  return coarserGrid(grid, grid.spacing.map((s) => Math.max(1, Math.round(2 / s))) as Vec3);
}

/** Atlas patient position → the position in the atlas where a mask scaled by `scale` (per atlas axis) about `centre` is sampled. */
function scaledAbout(centre: Vec3, scale: number | Vec3): Affine {
  const [sx, sy, sz] = (typeof scale === 'number' ? [scale, scale, scale] : scale).map((s) => 1 / s);
  return compose(translation([-centre[0], -centre[1], -centre[2]]), [sx, 0, 0, 0, 0, sy, 0, 0, 0, 0, sz, 0, 0, 0, 0, 1], translation(centre));
}

/** The atlas brain mask scaled by `scale` (per atlas axis) about `centre` (atlas mm), on `grid` of the input. */
export function scaledAtlasMask(atlasMask: Volume<Uint8Array>, grid: Grid, transform: RigidTransform, centre: Vec3, scale: number | Vec3): Uint8Array {
  return resampleMask(atlasMask, grid, compose(transform.matrix, scaledAbout(centre, scale))).data;
}

/**
 * Agreement of `mask` (on the input's grid) with `atlasMask` (on the atlas grid), `transform` mapping input
 * patient space to atlas patient space. Computed on a grid twice as coarse as the input's (the masks are large and
 * smooth; the estimate moves by well under 0.01).
 */
export function atlasAgreement(mask: Volume<Uint8Array>, atlasMask: Volume<Uint8Array>, transform: RigidTransform): AtlasAgreement {
  const grid = coarserGrid(mask, 2);
  const own = resampleMask(mask, grid).data;
  const centre = maskCentroid(atlasMask);
  let best = { dice: -1, scale: 1 };
  let diceUnscaled = 0;
  for (const scale of AGREEMENT_SCALES) {
    const d = dice(own, scaledAtlasMask(atlasMask, grid, transform, centre, scale));
    if (scale === 1) diceUnscaled = d;
    if (d > best.dice) best = { dice: d, scale };
  }
  return { dice: best.dice, diceUnscaled, scale: best.scale };
}
