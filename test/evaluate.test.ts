// `brainstrip evaluate`: Dice, HD95 and volumes against cases whose answers are computed by hand, and against a
// brute-force surface distance on irregular masks.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { onGridOf } from '../src/tools/reference-mask.js';
import { compareMasks, maskDisagreement, squaredDistanceMm, surfaceVoxels } from '../src/pipeline/segmentation/mask-metrics.js';
import { writeNifti } from '../src/pipeline/io/nifti.js';
import type { Grid, Vec3, Volume } from '../src/pipeline/space/volume.js';

const CLI = path.join(__dirname, '..', 'dist', 'src', 'cli.js');

function grid(dims: Vec3, spacing: Vec3 = [1, 1, 1], origin: Vec3 = [0, 0, 0]): Grid {
  return { dims, spacing, origin, direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] };
}

function box(g: Grid, lo: Vec3, hi: Vec3): Volume<Uint8Array> {
  const [nx, ny, nz] = g.dims;
  const data = new Uint8Array(nx * ny * nz);
  for (let k = lo[2]; k < hi[2]; k++) for (let j = lo[1]; j < hi[1]; j++) for (let i = lo[0]; i < hi[0]; i++) data[i + nx * (j + ny * k)] = 1;
  return { ...g, data };
}

/** The same HD95 by comparing every pair of surface voxels (slow, obviously right). */
function bruteHd95(a: Volume<Uint8Array>, b: Volume<Uint8Array>): number {
  const pts = (m: Volume<Uint8Array>) => {
    const s = surfaceVoxels(m);
    const out: Vec3[] = [];
    const [nx, ny] = m.dims;
    for (let v = 0; v < s.length; v++) if (s[v]) out.push([(v % nx) * m.spacing[0], (Math.floor(v / nx) % ny) * m.spacing[1], Math.floor(v / (nx * ny)) * m.spacing[2]]);
    return out;
  };
  const directed = (from: Vec3[], to: Vec3[]) => {
    const d = from.map((p) => Math.sqrt(Math.min(...to.map((q) => (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 + (p[2] - q[2]) ** 2)))).sort((x, y) => x - y);
    return d[Math.max(0, Math.ceil(0.95 * d.length) - 1)];
  };
  const pa = pts(a);
  const pb = pts(b);
  return Math.max(directed(pa, pb), directed(pb, pa));
}

describe('mask comparison', () => {
  it('identical masks: Dice 1, HD95 0, equal volumes', () => {
    const g = grid([20, 20, 20], [1, 1, 2]);
    const a = box(g, [4, 4, 4], [14, 12, 10]);
    const r = compareMasks(a, { ...a, data: a.data.slice() });
    expect(r.dice).toBe(1);
    expect(r.hd95Mm).toBe(0);
    expect(r.predictedMl).toBeCloseTo((10 * 8 * 6 * 2) / 1000, 9);
    expect(r.referenceMl).toBe(r.predictedMl);
  });

  it('two parallel plates 3 slices of 2.5 mm apart: Dice 0, HD95 exactly 7.5 mm', () => {
    const g = grid([12, 12, 8], [0.8, 0.8, 2.5]);
    const r = compareMasks(box(g, [1, 1, 2], [11, 11, 3]), box(g, [1, 1, 5], [11, 11, 6]));
    expect(r.dice).toBe(0);
    expect(r.hd95Mm).toBeCloseTo(7.5, 9);
  });

  it('a 10-voxel cube and the same cube shifted by 2 voxels: Dice 0.8, HD95 as a brute-force search finds it', () => {
    const g = grid([16, 14, 14], [1.2, 1, 1]);
    const a = box(g, [1, 2, 2], [11, 12, 12]);
    const b = box(g, [3, 2, 2], [13, 12, 12]);
    const r = compareMasks(a, b);
    expect(r.dice).toBeCloseTo((2 * 8 * 10 * 10) / 2000, 12);
    expect(r.hd95Mm).toBeCloseTo(bruteHd95(a, b), 9);
    expect(r.hd95Mm).toBeGreaterThan(0);
    expect(r.hd95Mm!).toBeLessThanOrEqual(2 * 1.2 + 1e-9);
  });

  it('irregular masks on an anisotropic grid: the distance transform agrees with brute force', () => {
    const g = grid([14, 12, 9], [0.7, 1.1, 3]);
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const blob = (cx: number, cy: number, cz: number, r: number) => {
      const m = box(g, [0, 0, 0], [0, 0, 0]);
      for (let k = 0; k < 9; k++)
        for (let j = 0; j < 12; j++)
          for (let i = 0; i < 14; i++) {
            const d = Math.hypot((i - cx) * 0.7, (j - cy) * 1.1, (k - cz) * 3) + 1.5 * random();
            if (d < r) m.data[i + 14 * (j + 12 * k)] = 1;
          }
      return m;
    };
    const a = blob(6, 5, 4, 6);
    const b = blob(7.5, 6, 4.3, 5);
    const r = compareMasks(a, b);
    expect(r.hd95Mm).toBeCloseTo(bruteHd95(a, b), 9);
    // and the transform itself at a few voxels
    const s = surfaceVoxels(b);
    const d = squaredDistanceMm(s, g.dims, g.spacing);
    for (const v of [0, 77, 500, 1511]) {
      let best = Infinity;
      for (let w = 0; w < s.length; w++) {
        if (!s[w]) continue;
        const dx = ((v % 14) - (w % 14)) * 0.7;
        const dy = ((Math.floor(v / 14) % 12) - (Math.floor(w / 14) % 12)) * 1.1;
        const dz = (Math.floor(v / 168) - Math.floor(w / 168)) * 3;
        best = Math.min(best, dx * dx + dy * dy + dz * dz);
      }
      expect(d[v]).toBeCloseTo(best, 9);
    }
  });

  it('empty masks: both empty agree perfectly; one empty has Dice 0 and no HD95', () => {
    const g = grid([6, 6, 6]);
    const empty = box(g, [0, 0, 0], [0, 0, 0]);
    expect(compareMasks(empty, box(g, [0, 0, 0], [0, 0, 0]))).toEqual({ dice: 1, hd95Mm: 0, predictedMl: 0, referenceMl: 0 });
    const one = compareMasks(empty, box(g, [1, 1, 1], [3, 3, 3]));
    expect(one.dice).toBe(0);
    expect(one.hd95Mm).toBeNull();
    expect(one.referenceMl).toBeCloseTo(0.008, 12);
  });

  it('a prediction on another grid is compared on the reference grid, through patient space', () => {
    // reference: 1 mm voxels; prediction of the same 8 mm cube on 2 mm voxels, origin shifted by half a voxel
    const ref = box(grid([20, 20, 20]), [4, 4, 4], [12, 12, 12]);
    const coarse = grid([10, 10, 10], [2, 2, 2], [0.5, 0.5, 0.5]);
    const pred = box(coarse, [2, 2, 2], [6, 6, 6]);
    const r = compareMasks(onGridOf(pred, ref), ref);
    expect(r.dice).toBe(1);
    expect(r.hd95Mm).toBe(0);
  });
});

describe('where two masks disagree', () => {
  it('splits extra and missed voxels by their distance from the reference boundary, in mm of the grid', () => {
    // slabs along k with 2 mm slices: the reference holds k < 10, the prediction k < 13 (3 slices = 6 mm beyond)
    const g = grid([10, 10, 30], [1, 1, 2]);
    const reference = box(g, [0, 0, 0], [10, 10, 10]);
    const d = maskDisagreement(box(g, [0, 0, 0], [10, 10, 13]), reference);
    // slice 10 lies 2 mm beyond the reference, 11 at 4 mm, 12 at 6 mm; each slice is 100 voxels of 2 µL
    expect(d.extraNearMl).toBeCloseTo(0.2, 6);
    expect(d.extraFarMl).toBeCloseTo(0.4, 6);
    expect(d.missedNearMl + d.missedFarMl).toBe(0);
    // the prediction stops at k < 6: slices 9 (2 mm inside the boundary) near, 8, 7, 6 (4–8 mm) deeper
    const m = maskDisagreement(box(g, [0, 0, 0], [10, 10, 6]), reference);
    expect(m.missedNearMl).toBeCloseTo(0.2, 6);
    expect(m.missedFarMl).toBeCloseTo(0.6, 6);
    expect(m.extraNearMl + m.extraFarMl).toBe(0);
  });
});

describe('brainstrip evaluate (command line)', () => {
  it('prints Dice, HD95 and volumes as JSON for two NIfTI masks on different grids', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evaluate-'));
    try {
      const ref = box(grid([20, 20, 20]), [4, 4, 4], [12, 12, 12]);
      const pred = box(grid([10, 10, 10], [2, 2, 2], [0.5, 0.5, 0.5]), [2, 2, 3], [6, 6, 7]); // 2 mm further along k
      writeNifti(path.join(dir, 'ref.nii.gz'), ref);
      writeNifti(path.join(dir, 'pred.nii.gz'), pred);
      const out = JSON.parse(execFileSync('node', [CLI, 'evaluate', path.join(dir, 'pred.nii.gz'), path.join(dir, 'ref.nii.gz')], { encoding: 'utf8' }));
      expect(out.dice).toBeCloseTo((2 * 6 * 64) / 1024, 9);
      expect(out.predictedMl).toBeCloseTo(0.512, 9);
      expect(out.referenceMl).toBeCloseTo(0.512, 9);
      expect(out.hd95Mm).toBeGreaterThan(0);
      expect(out.hd95Mm).toBeLessThanOrEqual(2);
      let code = 0;
      try {
        execFileSync('node', [CLI, 'evaluate', path.join(dir, 'pred.nii.gz')], { stdio: 'pipe' });
      } catch (error) {
        code = (error as { status: number }).status;
      }
      expect(code).toBe(2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
