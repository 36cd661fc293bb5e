// Post-processing, model input and QC picture: pure steps over small synthetic volumes with known answers.
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { atlasAgreement } from '../src/pipeline/segmentation/atlas-agreement.js';
import { maskOnInputGrid, segmentBrain } from '../src/pipeline/segmentation/segment.js';
import { indexToWorld, applyToPoint, maskCentroid } from '../src/pipeline/space/geometry.js';
import { resampleMask } from '../src/pipeline/space/resample.js';
import { modelInput, normaliseForModel, quantiles, toModelGrid } from '../src/pipeline/segmentation/model-input.js';
import { dice } from '../src/pipeline/segmentation/mask-metrics.js';
import { cleanMask, fillHoles, largestComponent, maskedImage } from '../src/pipeline/segmentation/postprocess.js';
import { qcPng, qcViews } from '../src/pipeline/io/qc-png.js';
import { identityTransform, rigidAboutCentre, eulerRotation } from '../src/pipeline/space/transform.js';
import { type Grid, type Vec3, type Volume, linearIndex } from '../src/pipeline/space/volume.js';

function grid(dims: Vec3, spacing: Vec3 = [1, 1, 1], direction: Grid['direction'] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]], origin?: Vec3): Grid {
  // centred on the patient origin unless told otherwise
  const o: Vec3 = origin ?? [0, 1, 2].map((a) => -((dims[a] - 1) / 2) * spacing[a]) as Vec3;
  if (!origin) {
    // centre the grid whatever its direction
    const centre = applyToPoint(indexToWorld({ dims, spacing, origin: [0, 0, 0], direction }), [(dims[0] - 1) / 2, (dims[1] - 1) / 2, (dims[2] - 1) / 2]);
    return { dims, spacing, direction, origin: [-centre[0], -centre[1], -centre[2]] };
  }
  return { dims, spacing, direction, origin: o };
}

function ball(g: Grid, centre: Vec3, radiusMm: number): Volume<Uint8Array> {
  const m = indexToWorld(g);
  const data = new Uint8Array(g.dims[0] * g.dims[1] * g.dims[2]);
  for (let k = 0; k < g.dims[2]; k++)
    for (let j = 0; j < g.dims[1]; j++)
      for (let i = 0; i < g.dims[0]; i++) {
        const p = applyToPoint(m, [i, j, k]);
        if (Math.hypot(p[0] - centre[0], p[1] - centre[1], p[2] - centre[2]) <= radiusMm) data[linearIndex(g.dims, i, j, k)] = 1;
      }
  return { ...g, data };
}

describe('post-processing of the brain mask', () => {
  const g = grid([40, 40, 40]);

  it('keeps only the largest connected piece: a speck in the scalp is not brain', () => {
    const brain = ball(g, [0, 0, 0], 10);
    const speck = ball(g, [15, 15, 15], 2);
    const mask = { ...g, data: brain.data.map((v, i) => v | speck.data[i]) };
    const out = largestComponent(mask);
    expect(dice(out.data, brain.data)).toBe(1);
  });

  it('fills an enclosed cavity (a ventricle, a necrotic core) but leaves background touching the border alone', () => {
    const outer = ball(g, [0, 0, 0], 12);
    const cavity = ball(g, [0, 0, 0], 5);
    const holed = { ...g, data: outer.data.map((v, i) => (cavity.data[i] ? 0 : v)) };
    expect(dice(fillHoles(holed).data, outer.data)).toBe(1);
    // a notch open to the outside of the volume is not a hole
    const notch = { ...g, data: new Uint8Array(64000) };
    for (let k = 0; k < 40; k++) for (let j = 0; j < 40; j++) for (let i = 0; i < 40; i++) notch.data[linearIndex(g.dims, i, j, k)] = i > 5 && i < 30 && !(j > 15 && j < 25 && i < 20) ? 1 : 0;
    const filled = fillHoles(notch);
    expect(filled.data[linearIndex(g.dims, 10, 20, 20)]).toBe(0);
  });

  it('cleans exactly as labelling the whole grid would: shells, islands in holes, masks touching the border', () => {
    // The reference labels every voxel of the grid (6-connected flood fill), with no shortcut.
    const flood = (data: Uint8Array, dims: Vec3, value: number, seeds: number[]) => {
      const seen = new Uint8Array(data.length);
      const queue = seeds.filter((v) => data[v] === value);
      queue.forEach((v) => (seen[v] = 1));
      const [nx, ny, nz] = dims;
      while (queue.length) {
        const v = queue.pop()!;
        const i = v % nx, j = Math.floor(v / nx) % ny, k = Math.floor(v / (nx * ny));
        for (const [di, dj, dk] of [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]) {
          const a = i + di, b = j + dj, c = k + dk;
          if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz) continue;
          const w = a + nx * (b + ny * c);
          if (!seen[w] && data[w] === value) (seen[w] = 1), queue.push(w);
        }
      }
      return seen;
    };
    const reference = (mask: Volume<Uint8Array>) => {
      let best = new Uint8Array(mask.data.length);
      let bestSize = 0;
      const done = new Uint8Array(mask.data.length);
      for (let v = 0; v < mask.data.length; v++) {
        if (!mask.data[v] || done[v]) continue;
        const part = flood(mask.data, mask.dims, 1, [v]);
        let size = 0;
        part.forEach((p, w) => p && (size++, (done[w] = 1)));
        if (size > bestSize) (best = part), (bestSize = size);
      }
      const border: number[] = [];
      const [nx, ny, nz] = mask.dims;
      for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) if (!i || !j || !k || i === nx - 1 || j === ny - 1 || k === nz - 1) border.push(i + nx * (j + ny * k));
      const outside = flood(best, mask.dims, 0, border);
      return best.map((b, w) => (b || !outside[w] ? 1 : 0));
    };
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const h = grid([30, 26, 22]);
    for (let trial = 0; trial < 12; trial++) {
      const data = new Uint8Array(30 * 26 * 22);
      for (let n = 0; n < 6; n++) {
        const c: Vec3 = [(random() - 0.5) * 34, (random() - 0.5) * 30, (random() - 0.5) * 26];
        const outer = 2 + random() * 9;
        const inner = random() < 0.5 ? outer - 1.5 : 0; // a shell encloses a hole
        const b = ball(h, c, outer);
        const hole = ball(h, c, inner);
        b.data.forEach((v, w) => v && !hole.data[w] && (data[w] = 1));
      }
      const mask = { ...h, data };
      expect(Array.from(cleanMask(mask).data)).toEqual(Array.from(reference(mask)));
    }
  });

  it('an empty mask stays empty, and Dice of two empty masks is 1', () => {
    const empty = { ...g, data: new Uint8Array(64000) };
    expect(cleanMask(empty).data.every((v) => v === 0)).toBe(true);
    expect(dice(empty.data, empty.data)).toBe(1);
  });
});

describe('model input', () => {
  it('a field of view smaller than the model grid reads the same whatever constant is added to the values or factor they are scaled by', () => {
    // A head-like ball in air, in a field of view that covers only part of the model grid (a slab).
    const model = grid([40, 40, 40], [2, 2, 2], undefined, [-40, -40, -40]);
    const slab = grid([50, 50, 16], [1.2, 1.2, 2], undefined, [-30, -30, -16]);
    const head = ball(slab, [0, 0, 0], 22);
    const image = { ...slab, data: Float32Array.from(head.data, (v, i) => (v ? 400 + (i % 13) * 20 : 3 + (i % 5))) };
    const input = (data: Float32Array) => normaliseForModel(toModelGrid({ ...image, data }, identityTransform(), model).data);
    const reference = input(image.data);
    for (const f of [(x: number) => x - 600, (x: number) => x + 1000, (x: number) => x * 4]) {
      const other = input(image.data.map(f));
      let worst = 0;
      for (let v = 0; v < other.length; v++) worst = Math.max(worst, Math.abs(other[v] - reference[v]));
      expect(worst).toBeLessThan(1e-3);
    }
  });


  it('takes percentiles as the k-th smallest value with k = round(q·n), as the training generator does', () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => 999 - i);
    expect(quantiles(data, [0.005, 0.995])).toEqual([4, 994]);
  });

  it('normalisation ignores the scale and offset a scanner applies', () => {
    const data = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i) * 100 + (i % 7));
    const a = normaliseForModel(data);
    const b = normaliseForModel(data.map((v) => v * 37 + 1200));
    let worst = 0;
    for (let v = 0; v < a.length; v++) worst = Math.max(worst, Math.abs(a[v] - b[v]));
    expect(worst).toBeLessThan(1e-4);
    expect(Math.min(...a)).toBe(0);
    expect(Math.max(...a)).toBeLessThanOrEqual(1.5);
  });

  it('NaN and infinite voxels of a damaged input neither move the percentiles nor reach the network', () => {
    const clean = Float32Array.from({ length: 2000 }, (_, i) => (i % 100) * 3);
    const damaged = Float32Array.from(clean);
    damaged[5] = NaN;
    damaged[17] = Infinity;
    damaged[29] = -Infinity;
    const out = normaliseForModel(damaged);
    expect(out.every((v) => Number.isFinite(v) && v >= 0 && v <= 1.5)).toBe(true);
    expect(out[5]).toBe(0);
    const reference = normaliseForModel(clean);
    expect(Math.abs(out[100] - reference[100])).toBeLessThan(0.02);
  });

  it('a stack with both in-plane axes reversed (as a prone axial series has them) lands on the model grid like the usual one', () => {
    const model = grid([32, 32, 32], [2, 2, 2], [[-1, 0, 0], [0, -1, 0], [0, 0, 1]]);
    const supine = grid([48, 48, 40], [1.25, 1.25, 1.6]);
    const prone = grid([48, 48, 40], [1.25, 1.25, 1.6], [[-1, 0, 0], [0, -1, 0], [0, 0, 1]]);
    const object = (g: Grid) => {
      const b = ball(g, [6, -4, 3], 14);
      return { ...g, data: Float32Array.from(b.data, (v) => v * 100) };
    };
    const a = toModelGrid(object(supine), identityTransform(), model);
    const b = toModelGrid(object(prone), identityTransform(), model);
    const ma = Uint8Array.from(a.data, (v) => (v > 50 ? 1 : 0));
    const mb = Uint8Array.from(b.data, (v) => (v > 50 ? 1 : 0));
    expect(dice(ma, mb)).toBeGreaterThan(0.97);
  });

  it('the mask comes back onto the input grid where the anatomy is, through the registration transform', () => {
    const model = grid([40, 40, 40], [1.5, 1.5, 1.5], [[-1, 0, 0], [0, -1, 0], [0, 0, 1]]);
    const input = grid([50, 44, 36], [1.2, 1.2, 2.0], [[0, 1, 0], [0, 0, -1], [-1, 0, 0]]);
    // input → atlas: rotate 7° about z and shift; a brain at atlas position A sits at T⁻¹(A) in the input
    const t = rigidAboutCentre(eulerRotation(0, 0, (7 * Math.PI) / 180), [0, 0, 0], [3, -2, 4]);
    const atlasBall = ball(model, [0, 0, 0], 15);
    const probability = { ...model, data: Float32Array.from(atlasBall.data) };
    const mask = maskOnInputGrid(probability, input, t);
    // where is the atlas centre in the input? solve t(x) = 0 → x = t⁻¹(0) = −R⁻¹·shift, about (-3, 2, -4) rotated
    const expected = ball(input, [0, 0, 0], 15);
    const inputCentre = applyToPoint(
      [t.matrix[0], t.matrix[4], t.matrix[8], 0, t.matrix[1], t.matrix[5], t.matrix[9], 0, t.matrix[2], t.matrix[6], t.matrix[10], 0, 0, 0, 0, 1],
      [-t.matrix[3], -t.matrix[7], -t.matrix[11]],
    );
    const moved = ball(input, inputCentre, 15);
    expect(dice(mask.data, moved.data)).toBeGreaterThan(0.95);
    expect(dice(mask.data, expected.data)).toBeLessThan(dice(mask.data, moved.data));
    // the atlas mask brought back by the same transform agrees with it
    expect(dice(resampleMask(atlasBall, input, t.matrix).data, mask.data)).toBeGreaterThan(0.97);
  });
});

describe('the segmentation chain with a stand-in network', () => {
  it('model input → predictor → mask on the input grid → review, with the predictor passed in', async () => {
    const atlasGrid = grid([40, 40, 40], [4, 4, 4], [[-1, 0, 0], [0, -1, 0], [0, 0, 1]]);
    const brain = ball(atlasGrid, [0, 0, 0], 60);
    const atlas = { grid: atlasGrid, template: { ...atlasGrid, data: Float32Array.from(brain.data, (v) => v * 100) }, brainMask: brain };
    const input = grid([36, 40, 30], [4, 4, 5], [[0, 1, 0], [0, 0, -1], [-1, 0, 0]]);
    const head = ball(input, [0, 0, 0], 60);
    const volume = { ...input, data: Float32Array.from(head.data, (v, i) => v * 800 + (i % 7)) };
    const seen: Array<[number, number, number]> = [];
    // The stand-in network calls everything bright brain.
    const predict = async (x: Float32Array, dims: [number, number, number]) => {
      seen.push(dims);
      return Float32Array.from(x, (v) => (v > 0.5 ? 1 : 0));
    };
    const result = await segmentBrain(volume, identityTransform(), { atlas, predict, reviewDice: 0.83 });
    // Once as it is, once mirrored left–right for the review's second reading.
    expect(seen).toEqual([atlasGrid.dims, atlasGrid.dims]);
    expect(result.mask.dims).toEqual(input.dims);
    expect(dice(result.mask.data, head.data)).toBeGreaterThan(0.95);
    expect(result.review.flagged).toBe(false);
    // A network that misses half the brain is flagged.
    const half = await segmentBrain(volume, identityTransform(), {
      atlas,
      reviewDice: 0.83,
      predict: async (x, dims) => Float32Array.from(x, (v, i) => (v > 0.5 && i % dims[0] < dims[0] / 2 ? 1 : 0)),
    });
    expect(half.review.flagged).toBe(true);
    // ...and its reading of the mirrored image, which keeps the other half, says so too.
    expect(half.review.reasons.join('; ')).toMatch(/second reading/);
  });

  it('the mask follows the mean of the two readings: a network that leans to one side of what it is shown is set straight', async () => {
    const atlasGrid = grid([40, 40, 40], [4, 4, 4], [[-1, 0, 0], [0, -1, 0], [0, 0, 1]]);
    const brain = ball(atlasGrid, [0, 0, 0], 60);
    const atlas = { grid: atlasGrid, template: { ...atlasGrid, data: Float32Array.from(brain.data, (v) => v * 100) }, brainMask: brain };
    const volume = { ...atlasGrid, data: Float32Array.from(brain.data, (v, i) => v * 800 + (i % 7)) };
    // P(brain) is the share of bright voxels among the next three along the grid's left–right axis: shown the head
    // as it is, the brain comes out about 10 mm to one side; mirrored (and mirrored back), as far to the other.
    const leaning = async (x: Float32Array, dims: [number, number, number]) =>
      Float32Array.from(x, (_, v) => {
        const i = v % dims[0];
        let bright = 0;
        for (let s = 1; s <= 3; s++) if (i + s < dims[0] && x[v + s] > 0.5) bright++;
        return bright / 3;
      });
    const { mask } = await segmentBrain(volume, identityTransform(), { atlas, predict: leaning, reviewDice: 0.83 });
    const direct = maskOnInputGrid({ ...atlasGrid, data: await leaning(modelInput(volume, identityTransform(), atlasGrid), atlasGrid.dims) }, atlasGrid, identityTransform());
    expect(Math.abs(maskCentroid(direct)[0])).toBeGreaterThan(6);
    expect(dice(direct.data, brain.data)).toBeLessThan(0.91);
    expect(Math.abs(maskCentroid(mask)[0])).toBeLessThan(1);
    expect(dice(mask.data, brain.data)).toBeGreaterThan(0.95);
  });
});

describe('QC picture', () => {
  // Where the bright half of a phantom appears in each view: mean column and row of the bright pixels minus those
  // of the whole head (outline pixels left out). Views: axial, coronal, sagittal, each `w` pixels wide.
  function brightOffset(views: { width: number; height: number; rgb: Uint8Array }, panel: number): { right: number; down: number } {
    const w = (views.width - 8) / 3;
    expect(Number.isInteger(w)).toBe(true);
    const sums = { bright: [0, 0, 0], head: [0, 0, 0] };
    for (let y = 0; y < views.height; y++) {
      for (let x = panel * (w + 4); x < panel * (w + 4) + w; x++) {
        const o = (y * views.width + x) * 3;
        const [r, g, b] = [views.rgb[o], views.rgb[o + 1], views.rgb[o + 2]];
        if (r !== g || g !== b) continue;
        for (const [key, inside] of [['bright', r > 200], ['head', r > 50]] as const) {
          if (!inside) continue;
          sums[key][0] += x;
          sums[key][1] += y;
          sums[key][2]++;
        }
      }
    }
    expect(sums.bright[2]).toBeGreaterThan(20);
    return { right: sums.bright[0] / sums.bright[2] - sums.head[0] / sums.head[2], down: sums.bright[1] / sums.bright[2] - sums.head[1] / sums.head[2] };
  }

  // A head acquired prone (axial, both in-plane axes reversed) and one acquired as a sagittal stack: the picture is
  // in patient orientation either way, radiological convention.
  const acquisitions: Record<string, Grid['direction']> = {
    'prone axial': [[-1, 0, 0], [0, -1, 0], [0, 0, 1]],
    sagittal: [[0, 1, 0], [0, 0, -1], [-1, 0, 0]],
  };
  for (const [name, direction] of Object.entries(acquisitions)) {
    it(`shows the patient's left on the image's right, anterior and superior up (${name})`, () => {
      const g = grid([40, 40, 40], [2, 2, 2], direction);
      const mask = ball(g, [0, 0, 0], 30);
      const m = indexToWorld(g);
      const phantom = (bright: (p: Vec3) => boolean) => ({
        ...g,
        data: Float32Array.from(mask.data, (inside, v) => {
          if (!inside) return 0;
          const p = applyToPoint(m, [v % 40, Math.floor(v / 40) % 40, Math.floor(v / 1600)]);
          return bright(p) ? 1000 : 400;
        }),
      });
      // LPS: +x is the patient's left, −y anterior, +z superior.
      const left = qcViews(phantom((p) => p[0] > 4), [mask]);
      expect(brightOffset(left, 0).right).toBeGreaterThan(5); // axial
      expect(brightOffset(left, 1).right).toBeGreaterThan(5); // coronal
      const anterior = qcViews(phantom((p) => p[1] < -4), [mask]);
      expect(brightOffset(anterior, 0).down).toBeLessThan(-5); // axial: anterior up
      expect(brightOffset(anterior, 2).right).toBeLessThan(-5); // sagittal: anterior on the left
      const superior = qcViews(phantom((p) => p[2] > 4), [mask]);
      expect(brightOffset(superior, 1).down).toBeLessThan(-5); // coronal
      expect(brightOffset(superior, 2).down).toBeLessThan(-5); // sagittal
    });
  }

  it('is a PNG of three orthogonal views with a red mask outline', () => {
    const g = grid([30, 34, 26], [2, 2, 3]);
    const mask = ball(g, [0, 0, 0], 16);
    const image = { ...g, data: Float32Array.from(mask.data, (v, i) => v * 800 + (i % 13)) };
    const png = qcPng(image, mask);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    expect(width).toBeGreaterThan(3 * 100);
    expect(height).toBeGreaterThan(100);
    // decode the single IDAT and look for the outline colour
    const idatLength = png.readUInt32BE(33);
    expect(png.toString('latin1', 37, 41)).toBe('IDAT');
    const raw = zlib.inflateSync(png.subarray(41, 41 + idatLength));
    expect(raw.length).toBe((width * 3 + 1) * height);
    let red = 0;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const o = y * (width * 3 + 1) + 1 + x * 3;
        if (raw[o] === 255 && raw[o + 1] === 32 && raw[o + 2] === 32) red++;
      }
    expect(red).toBeGreaterThan(100);
  });
});

describe('atlas agreement (the review check)', () => {
  // A head-shaped atlas mask (ellipsoid, semi-axes 68 × 84 × 62 mm) on a 2 mm atlas grid.
  const atlasGrid = grid([90, 100, 84], [2, 2, 2]);
  const axes: Vec3 = [68, 84, 62];
  const centre: Vec3 = [0, -10, 8];
  function ellipsoid(g: Grid, c: Vec3, a: Vec3, transformToAtlas = identityTransform()): Volume<Uint8Array> {
    const m = indexToWorld(g);
    const data = new Uint8Array(g.dims[0] * g.dims[1] * g.dims[2]);
    for (let k = 0; k < g.dims[2]; k++)
      for (let j = 0; j < g.dims[1]; j++)
        for (let i = 0; i < g.dims[0]; i++) {
          const p = applyToPoint(transformToAtlas.matrix, applyToPoint(m, [i, j, k]));
          const r = ((p[0] - c[0]) / a[0]) ** 2 + ((p[1] - c[1]) / a[1]) ** 2 + ((p[2] - c[2]) / a[2]) ** 2;
          if (r <= 1) data[linearIndex(g.dims, i, j, k)] = 1;
        }
    return { ...g, data };
  }
  const atlasMask = ellipsoid(atlasGrid, centre, axes);
  // The input: an oblique 1.5 × 1.5 × 3 mm acquisition; `t` maps its patient space to the atlas's.
  const input = grid([120, 140, 60], [1.5, 1.5, 3]);
  const t = rigidAboutCentre(eulerRotation(0.15, -0.1, 0.2), [0, 0, 0], [4, -6, 3]);
  const scaled = (s: number): Vec3 => [axes[0] * s, axes[1] * s, axes[2] * s];

  it('finds the atlas centre of mass in patient space', () => {
    const c = maskCentroid(atlasMask);
    for (let a = 0; a < 3; a++) expect(Math.abs(c[a] - centre[a])).toBeLessThan(0.5);
  });

  it('does not flag a correct mask of a small head, and says how small', () => {
    // 0.86 of the atlas's linear size: about 0.64 of its volume
    const mask = ellipsoid(input, centre, scaled(0.86), t);
    const agreement = atlasAgreement(mask, atlasMask, t);
    expect(agreement.diceUnscaled).toBeLessThan(0.8); // rigid check alone would flag a correct result
    expect(agreement.dice).toBeGreaterThan(0.95);
    expect(Math.abs(agreement.scale - 0.86)).toBeLessThanOrEqual(0.015);
  });

  it('matches the plain Dice of a head of the atlas size', () => {
    const mask = ellipsoid(input, centre, axes, t);
    const agreement = atlasAgreement(mask, atlasMask, t);
    expect(agreement.scale).toBe(1);
    expect(agreement.dice).toBeGreaterThan(0.97);
    expect(Math.abs(agreement.dice - dice(mask.data, resampleMask(atlasMask, input, t.matrix).data))).toBeLessThan(0.01);
  });

  it('still flags a mask that spills into the skull all round, a misplaced mask, and a mask with a piece missing', () => {
    const spilled = ellipsoid(input, centre, scaled(1.16), t);
    expect(atlasAgreement(spilled, atlasMask, t).dice).toBeLessThan(0.8);
    const misplaced = ellipsoid(input, [centre[0], centre[1] + 40, centre[2]], scaled(0.9), t);
    expect(atlasAgreement(misplaced, atlasMask, t).dice).toBeLessThan(0.8);
    // the lower 40% of the head missing (a mask that stops at the skull base of a wrongly placed slab)
    const cut = ellipsoid(input, centre, axes, t);
    const m = indexToWorld(input);
    for (let v = 0; v < cut.data.length; v++) {
      const [i, j, k] = [v % input.dims[0], Math.floor(v / input.dims[0]) % input.dims[1], Math.floor(v / (input.dims[0] * input.dims[1]))];
      if (applyToPoint(t.matrix, applyToPoint(m, [i, j, k]))[2] < centre[2] - 0.2 * axes[2]) cut.data[v] = 0;
    }
    expect(atlasAgreement(cut, atlasMask, t).dice).toBeLessThan(0.8);
  });
});

describe('skull-stripped image', () => {
  it('holds the image inside the mask and the background outside: 0, or the darkest value of a signed or offset image', () => {
    const g = grid([10, 10, 10]);
    const mask = ball(g, [0, 0, 0], 3);
    for (const [values, background] of [[(i: number) => i % 50, 0], [(i: number) => (i % 50) - 600, -600]] as const) {
      const image = { ...g, data: Float32Array.from({ length: 1000 }, (_, i) => values(i)) };
      const brain = maskedImage(image, mask);
      for (let v = 0; v < 1000; v++) expect(brain.data[v]).toBe(mask.data[v] ? image.data[v] : background);
    }
  });
});
