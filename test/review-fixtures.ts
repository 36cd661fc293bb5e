// Brain masks damaged the ways models have failed on real heads, for testing the review check: the orbits or the
// sphenoid sinus taken in. Positions are defined in
// atlas space (Colin27 / MNI, LPS mm) and brought onto the image's grid by its registration transform.
import { compose, indexToWorld } from '../src/pipeline/space/geometry.js';
import type { RigidTransform } from '../src/pipeline/space/transform.js';
import type { Vec3, Volume } from '../src/pipeline/space/volume.js';

export type Damage = 'orbits added' | 'sphenoid sinus added';

export const DAMAGES: Damage[] = ['orbits added', 'sphenoid sinus added'];

/** Atlas-space position (LPS mm) of every voxel of the grid, one affine map per voxel. */
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

function ellipsoid(p: Float32Array, o: number, centre: Vec3, radii: Vec3): boolean {
  return ((p[o] - centre[0]) / radii[0]) ** 2 + ((p[o + 1] - centre[1]) / radii[1]) ** 2 + ((p[o + 2] - centre[2]) / radii[2]) ** 2 <= 1;
}

/** `mask` damaged by `damage`, and how many mL changed (0: the damage lies outside this image's field of view). */
export function damageMask(mask: Volume<Uint8Array>, transform: RigidTransform, damage: Damage): { mask: Volume<Uint8Array>; changedMl: number } {
  const p = atlasPositions(mask, transform);
  const data = mask.data.slice();
  for (let v = 0; v < data.length; v++) {
    const o = 3 * v;
    switch (damage) {
      case 'orbits added':
        // both globes and the orbital roof between them and the frontal lobes
        if (ellipsoid(p, o, [33, -52, -36], [14, 16, 14]) || ellipsoid(p, o, [-33, -52, -36], [14, 16, 14]) || ellipsoid(p, o, [0, -40, -24], [45, 20, 9])) data[v] = 1;
        break;
      case 'sphenoid sinus added':
        if (ellipsoid(p, o, [0, -15, -34], [16, 16, 13])) data[v] = 1;
        break;
    }
  }
  let changed = 0;
  for (let v = 0; v < data.length; v++) if (data[v] !== mask.data[v]) changed++;
  return { mask: { ...mask, data }, changedMl: (changed * mask.spacing[0] * mask.spacing[1] * mask.spacing[2]) / 1000 };
}
