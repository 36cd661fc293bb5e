// One interpolation kernel and one border rule: resample (which inlines the kernel for speed) and trilinearAt
// (which the registration samples with) give the same value everywhere, edges and beyond included.
import { describe, expect, it } from 'vitest';
import { applyToPoint, compose, indexToWorld, resample, trilinearAt, worldToIndex } from '../src/pipeline/space/geometry.js';
import type { Grid, Vec3, Volume } from '../src/pipeline/space/volume.js';

const source = <T extends Float32Array | Uint8Array>(data: T): Volume<T> => ({
  dims: [7, 5, 4],
  spacing: [1.5, 1, 2],
  origin: [-4, -3, -2],
  direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  data,
});

describe('trilinear sampling', () => {
  // A target grid, tilted, that covers the source and reaches past its edges on every side.
  const target: Grid = { dims: [19, 17, 15], spacing: [0.8, 0.7, 0.9], origin: [-7, -6, -5], direction: [[0.98, 0.2, 0], [-0.2, 0.98, 0], [0, 0, 1]] };

  for (const [name, data] of [
    ['float', Float32Array.from({ length: 140 }, (_, v) => Math.sin(v) * 100)],
    ['uint8', Uint8Array.from({ length: 140 }, (_, v) => (v * 37) % 256)],
  ] as const) {
    it(`resample and trilinearAt agree at every voxel (${name} source)`, () => {
      const volume = source(data as Float32Array);
      const out = resample(volume, target, { interpolation: 'linear', fill: -1 });
      const toSource = compose(indexToWorld(target), worldToIndex(volume));
      let inside = 0;
      for (let k = 0, o = 0; k < target.dims[2]; k++)
        for (let j = 0; j < target.dims[1]; j++)
          for (let i = 0; i < target.dims[0]; i++, o++) {
            const [x, y, z] = applyToPoint(toSource, [i, j, k]);
            const expected = trilinearAt(volume, x, y, z, -1);
            expect(Math.fround(expected)).toBe(out.data[o]);
            if (expected !== -1) inside++;
          }
      expect(inside).toBeGreaterThan(100);
    });
  }

  it('reaches half a voxel beyond the outermost centres, with the edge value, and no further', () => {
    const volume = source(Float32Array.from({ length: 140 }, (_, v) => v));
    const at = (p: Vec3) => trilinearAt(volume, p[0], p[1], p[2], Number.NaN);
    expect(at([-0.5, 0, 0])).toBe(at([0, 0, 0]));
    expect(at([6.5, 4, 3])).toBe(at([6, 4, 3]));
    expect(at([-0.51, 0, 0])).toBeNaN();
    expect(at([6, 4, 3.51])).toBeNaN();
    expect(at([0.5, 0, 0])).toBeCloseTo(0.5, 12);
  });
});
