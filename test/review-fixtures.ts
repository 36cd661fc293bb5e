// Made-up series that are not a human head, for testing the review check's "not a head" evidence. (Masks damaged
// the ways segmentations fail are made by src/tools/mask-damage.ts, shared with the model's evaluation.)
import { smooth } from '../src/pipeline/registration/pyramid.js';
import { seededRandom } from '../src/pipeline/registration/similarity.js';
import type { Vec3, Volume } from '../src/pipeline/space/volume.js';

/** A volume centred on the origin whose voxel at patient position (x, y, z) mm holds value(x, y, z, random). */
function madeUp(dims: Vec3, spacing: Vec3, value: (x: number, y: number, z: number, random: () => number) => number, seed = 1): Volume<Float32Array> {
  const random = seededRandom(seed);
  const origin = dims.map((n, a) => (-(n - 1) * spacing[a]) / 2) as Vec3;
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  let v = 0;
  for (let k = 0; k < dims[2]; k++)
    for (let j = 0; j < dims[1]; j++)
      for (let i = 0; i < dims[0]; i++) data[v++] = value(origin[0] + i * spacing[0], origin[1] + j * spacing[1], origin[2] + k * spacing[2], random);
  return { dims, spacing, origin, direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], data };
}

/**
 * Made-up series that are not a human head, each as a scanner might send it by mistake. A phantom is smooth,
 * head-sized and bright like a head, and the network is nearly as sure of it: the mask's shape and extent
 * against the atlas brain are what flag it.
 */
export function nonHeads(): { name: string; image: Volume<Float32Array>; kind: 'noise' | 'no head' | 'phantom' }[] {
  const noise = (_x: number, _y: number, _z: number, r: () => number) => Math.floor(r() * 1000);
  return [
    { name: 'uniform noise, 64×64×300 at 1 mm', kind: 'noise', image: madeUp([64, 64, 300], [1, 1, 1], noise) },
    { name: 'uniform noise, 128×128×120 at 1 mm', kind: 'noise', image: madeUp([128, 128, 120], [1, 1, 1], noise) },
    { name: 'uniform noise, 256×256×40 at 1×1×4 mm', kind: 'noise', image: madeUp([256, 256, 40], [1, 1, 4], noise) },
    { name: 'signed noise around 0, 96×96×96 at 2 mm', kind: 'noise', image: madeUp([96, 96, 96], [2, 2, 2], (_x, _y, _z, r) => Math.floor(r() * 2000) - 1000) },
    { name: 'a uniform volume, 128×128×100 at 1.5 mm', kind: 'noise', image: madeUp([128, 128, 100], [1.5, 1.5, 1.5], () => 500) },
    { name: 'noise smoothed over 6 mm: blobs, no anatomy', kind: 'no head', image: smooth(madeUp([96, 96, 96], [2, 2, 2], noise, 2), 6) },
    { name: 'a 6 cm ball in a 19 cm field of view', kind: 'no head', image: madeUp([96, 96, 96], [2, 2, 2], (x, y, z, r) => (Math.hypot(x, y, z) < 30 ? 800 : 0) + r() * 20) },
    {
      name: 'a knee: 13 cm of soft tissue with a femur, 160×160×120',
      kind: 'no head',
      image: madeUp([160, 160, 120], [1, 1, 1.5], (x, y, z, r) => {
        const radius = Math.hypot(x, y + 5);
        const bone = Math.hypot(x - 8 + z * 0.05, y) < 22 ? 300 : 0;
        return (radius < 65 ? (radius > 58 ? 900 : 500 - bone) : 0) + r() * 30;
      }),
    },
    {
      name: 'a lumbar spine: vertebrae, discs and cord in a sagittal stack',
      kind: 'no head',
      image: madeUp([64, 256, 256], [3, 1, 1], (x, y, z, r) => {
        const body = Math.abs(x) < 60 && Math.abs(y + 20) < 80;
        const vertebra = Math.abs(x) < 20 && Math.abs(y - 20) < 18 && Math.abs(((z + 300) % 30) - 15) < 12;
        const cord = Math.hypot(x, y - 45) < 6;
        return body ? (vertebra ? 300 : cord ? 150 : 600) + r() * 40 : r() * 20;
      }),
    },
    { name: 'a cylindrical phantom, 18 cm across', kind: 'phantom', image: madeUp([128, 128, 96], [2, 2, 2], (x, y, z, r) => (Math.hypot(x, y) < 90 && Math.abs(z) < 80 ? 700 : 0) + r() * 15) },
  ];
}
