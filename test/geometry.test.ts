// One interpolation kernel and one border rule: resample (which inlines the kernel for speed) and trilinearAt
// (which the registration samples with) give the same value everywhere, edges and beyond included.
import { describe, expect, it } from 'vitest';
import { applyToPoint, compose, indexToWorld, worldToIndex } from '../src/pipeline/space/geometry.js';
import { resample, resampleMask, trilinearAt } from '../src/pipeline/space/resample.js';
import { binarise } from '../src/pipeline/space/volume.js';
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

describe('mask resampling', () => {
  // resampleMask skips the interpolation inside cells whose corners all lie on one side of the threshold: it must
  // give exactly what interpolating everywhere and thresholding gives.
  const grid: Grid = { dims: [23, 19, 17], spacing: [1.6, 1.6, 1.6], origin: [-18, -15, -13], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] };
  const centre = [0, 0, 0];
  const probability = new Float32Array(23 * 19 * 17);
  const binary = new Uint8Array(probability.length);
  for (let k = 0, v = 0; k < 17; k++)
    for (let j = 0; j < 19; j++)
      for (let i = 0; i < 23; i++, v++) {
        const p = applyToPoint(indexToWorld(grid), [i, j, k]);
        const r = Math.hypot(p[0] - centre[0], (p[1] - centre[1]) * 1.2, p[2] - centre[2]);
        // A soft ball with exact 0.5 values on some voxels and noise near the surface.
        probability[v] = v % 11 === 0 ? 0.5 : 1 / (1 + Math.exp((r - 10) / 1.5)) + (Math.sin(v * 12.9898) * 0.02);
        binary[v] = r < 10 ? 1 : 0;
      }
  const tilted: Grid = { dims: [61, 53, 29], spacing: [0.7, 0.8, 1.3], origin: [-21, -20, -17], direction: [[0.96, 0.28, 0], [-0.28, 0.96, 0], [0, 0, 1]] };
  const shift = compose(indexToWorld(tilted), worldToIndex(tilted)); // identity, through the same code path
  for (const [name, data] of [
    ['probability', probability],
    ['binary mask', binary],
  ] as const) {
    it(`${name}: the same voxels as resample-then-threshold, edges and beyond included`, () => {
      const volume: Volume = { ...grid, data };
      for (const t of [undefined, shift, [0.99, -0.1, 0.05, 1.3, 0.1, 0.99, 0, -0.7, -0.05, 0, 1, 0.4, 0, 0, 0, 1]]) {
        const fast = resampleMask(volume, tilted, t);
        const reference = binarise(resample(volume, tilted, { targetToSource: t, interpolation: 'linear', fill: 0 }).data);
        expect(fast.data.reduce((a, b) => a + b, 0)).toBeGreaterThan(1000);
        expect(Array.from(fast.data)).toEqual(Array.from(reference));
      }
    });
  }
});
