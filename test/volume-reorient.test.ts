// Reorienting to a canonical axis order moves voxels, never interpolates them: every voxel keeps its value and
// its patient position.
import { describe, expect, it } from 'vitest';
import { applyToPoint, indexToWorld, worldToIndex } from '../src/pipeline/geometry.js';
import { axisCodes, reorient } from '../src/pipeline/reorient.js';
import type { Vec3, Volume } from '../src/pipeline/volume.js';

function rotated(direction: [Vec3, Vec3, Vec3]): Volume<Float32Array> {
  const dims: Vec3 = [5, 4, 3];
  const data = new Float32Array(60).map((_, v) => v * 1.5 + 2);
  return { dims, spacing: [0.9, 1.2, 3], origin: [10, -5, 40], direction, data };
}

const a = (7 * Math.PI) / 180;
const CASES: Record<string, [Vec3, Vec3, Vec3]> = {
  // A sagittal slab tilted 7° about x (i towards posterior, j inferior, k right), like an HFS sagittal T1.
  'oblique sagittal': [
    [0, Math.cos(a), -Math.sin(a)],
    [0, Math.sin(a), Math.cos(a)].map((c) => -c) as Vec3,
    [-1, 0, 0],
  ],
  'prone axial (HFP)': [
    [-1, 0, 0],
    [0, -1, 0],
    [0, 0, 1],
  ],
  'coronal, feet first': [
    [-1, 0, 0],
    [0, 0, -1],
    [0, -1, 0],
  ],
};

describe('reorient', () => {
  for (const [name, direction] of Object.entries(CASES)) {
    for (const codes of ['RAS', 'LPS', 'LAS']) {
      it(`${name} → ${codes}: same value at the same patient position for every voxel`, () => {
        const volume = rotated(direction);
        const out = reorient(volume, codes);
        expect(axisCodes(out)).toBe(codes);
        expect(out.dims.reduce((x, y) => x * y)).toBe(60);
        const back = worldToIndex(volume);
        const m = indexToWorld(out);
        for (let k = 0, o = 0; k < out.dims[2]; k++) {
          for (let j = 0; j < out.dims[1]; j++) {
            for (let i = 0; i < out.dims[0]; i++, o++) {
              const [x, y, z] = applyToPoint(back, applyToPoint(m, [i, j, k]));
              for (const c of [x, y, z]) expect(Math.abs(c - Math.round(c))).toBeLessThan(1e-9);
              expect(out.data[o]).toBe(volume.data[Math.round(x) + 5 * (Math.round(y) + 4 * Math.round(z))]);
            }
          }
        }
      });
    }
  }

  it('keeps the voxel type (labels stay labels) and copies the data', () => {
    const volume = { ...rotated(CASES['prone axial (HFP)']), data: new Uint8Array(60).fill(1) };
    const out = reorient(volume, 'LPS');
    expect(out.data).toBeInstanceOf(Uint8Array);
    expect(out.data).not.toBe(volume.data);
  });

  it('rejects axis codes that are not one of L/R, P/A, S/I per world axis', () => {
    expect(() => reorient(rotated(CASES['prone axial (HFP)']), 'RLS')).toThrow(/not an axis code/);
  });
});
