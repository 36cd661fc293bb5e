// Rigid registration into atlas space: known motions of Colin27 are recovered (also as T2/FLAIR-like contrast
// and with a lesion), the result composes, inverts and serialises, the same head under a moved header lands on
// the same anatomy, and real series acquired in four patient positions all land on the same anatomy.
import { sharedDataPresent } from './shared-data.js';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyToPoint, compose, gridCentre, gridFromAffine, identity, indexToWorld, multiply, worldToIndex } from '../src/pipeline/space/geometry.js';
import { resampleMask } from '../src/pipeline/space/resample.js';
import { readNifti, writeNifti } from '../src/pipeline/io/nifti.js';
import { registerToAtlas, registerToAtlasWithReport } from '../src/pipeline/registration/index.js';
import { flattenShading } from '../src/pipeline/registration/pyramid.js';
import {
  type RigidTransform,
  composeTransforms,
  eulerRotation,
  fromJson,
  identityTransform,
  invertTransform,
  rigidAboutCentre,
  rigidityError,
  toJson,
} from '../src/pipeline/space/transform.js';
import type { Vec3, Volume } from '../src/pipeline/space/volume.js';
import {
  type TestAtlas,
  brainCentre,
  colin27Path,
  hasColin27,
  headerConsistencyError,
  invertContrast,
  loadTestAtlas,
  meanLandmarkError,
  motion,
  movedHead,
  patientPositionsDir,
  remapContrast,
  repoRoot,
  sharedData,
  withHeaderMoved,
  withLesion,
} from './registration-fixtures.js';

const run = promisify(execFile);

describe('coil shading', () => {
  it('is divided out: a head lit three times brighter on one side comes out even, the air around it 0', () => {
    // A 40 mm-radius ball of "tissue" with a fine stripe pattern, in air, shaded 1× → 3× from left to right.
    const n = 64;
    const data = new Float32Array(n * n * n);
    for (let k = 0, v = 0; k < n; k++) {
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++, v++) {
          const r = Math.hypot(i - 31.5, j - 31.5, k - 31.5) * 1.5;
          if (r < 40) data[v] = (1 + 2 * (i / (n - 1))) * (100 + 20 * (j % 2));
        }
      }
    }
    const volume: Volume<Float32Array> = { dims: [n, n, n], spacing: [1.5, 1.5, 1.5], origin: [0, 0, 0], direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], data };
    const flat = flattenShading(volume, 12);
    const at = (i: number, j: number, k: number) => flat.data[i + n * (j + n * k)];
    // Well inside the ball, left and right: the 3× shading is gone, the stripes (anatomy) are kept.
    const left = (at(16, 32, 32) + at(16, 33, 32)) / 2;
    const right = (at(47, 32, 32) + at(47, 33, 32)) / 2;
    expect(right / left).toBeGreaterThan(0.85);
    expect(right / left).toBeLessThan(1.15);
    expect(at(32, 33, 32) / at(32, 32, 32)).toBeCloseTo(120 / 100, 1);
    expect(at(0, 0, 0)).toBe(0);
    // σ = 0 leaves the volume alone.
    expect(flattenShading(volume, 0)).toBe(volume);
  });
});

describe('a rigid transform', () => {
  const t = motion([12, -7, 25], [4, -9, 13]);

  it('undoes itself when composed with its inverse', () => {
    const round = composeTransforms(t, invertTransform(t));
    round.matrix.forEach((v, i) => expect(v).toBeCloseTo(identity()[i], 10));
  });

  it('applies transforms in the order given', () => {
    const shift = rigidAboutCentre(identity(), [0, 0, 0], [10, 0, 0]);
    const quarter = rigidAboutCentre(eulerRotation(0, 0, Math.PI / 2), [0, 0, 0]);
    // shift first (x → x + 10 along L), then a quarter turn about S takes L onto P.
    const p = applyToPoint(composeTransforms(shift, quarter).matrix, [0, 0, 0]);
    expect(p[0]).toBeCloseTo(0, 10);
    expect(p[1]).toBeCloseTo(10, 10);
  });

  it('survives JSON and refuses matrices that are not rigid', () => {
    const back = fromJson(JSON.parse(JSON.stringify(toJson(t))));
    back.matrix.forEach((v, i) => expect(v).toBeCloseTo(t.matrix[i], 12));
    expect(rigidityError(back)).toBeLessThan(1e-9);
    const scaled = [...t.matrix];
    scaled[0] *= 1.1;
    expect(() => fromJson({ matrix: scaled })).toThrow(/not rigid/);
    expect(() => fromJson({ matrix: [1, 2, 3] })).toThrow(/16 finite numbers/);
    expect(() => fromJson(null)).toThrow();
  });
});

describe.skipIf(!hasColin27)('registration of Colin27 moved by a known rigid transform', () => {
  let atlas: TestAtlas;
  let head: Volume<Float32Array>;
  beforeAll(() => {
    atlas = loadTestAtlas();
    head = readNifti(colin27Path);
  });

  // Rotations up to 30° about each axis at once and shifts up to 30 mm, with different contrasts.
  const cases: { name: string; degrees: Vec3; shift: Vec3; contrast: (v: Volume<Float32Array>) => Volume<Float32Array> }[] = [
    { name: 'T1, pitched and shifted', degrees: [30, 0, 0], shift: [0, 30, -20], contrast: (v) => v },
    { name: 'T1, turned about all three axes', degrees: [-25, 30, -30], shift: [-30, 20, 15], contrast: (v) => v },
    { name: 'T2-like (inverted tissue contrast)', degrees: [20, -30, 15], shift: [25, -15, 30], contrast: invertContrast },
    { name: 'FLAIR-like (non-monotonic remapping)', degrees: [-30, -15, 25], shift: [-20, -30, -10], contrast: remapContrast },
  ];
  for (const c of cases) {
    it(`recovers ${c.degrees.join('°/')}° and ${c.shift.join('/')} mm within 1 mm: ${c.name}`, async () => {
      const truth = motion(c.degrees, c.shift);
      const input = c.contrast(movedHead(head, truth));
      const estimate = await registerToAtlas(input, atlas);
      expect(rigidityError(estimate)).toBeLessThan(1e-9);
      expect(meanLandmarkError(atlas, estimate, truth)).toBeLessThan(1);
    });
  }

  it('is not thrown off by a large lesion inside the brain (T2-like contrast)', async () => {
    const truth = motion([15, 20, -25], [10, 25, -30]);
    // The lesion is placed in the scanner's frame: 25 mm radius in the right hemisphere.
    const lesionCentre = applyToPoint(invertTransform(truth).matrix, [-30, 10, 30]);
    const input = withLesion(invertContrast(movedHead(head, truth)), lesionCentre, 25);
    const estimate = await registerToAtlas(input, atlas);
    expect(meanLandmarkError(atlas, estimate, truth)).toBeLessThan(1);
  });

  it('finds a head whose header orientation is 180° wrong (the candidate rotations)', async () => {
    const truth = rigidAboutCentre(eulerRotation(0, 0, Math.PI), brainCentre, [5, -10, 0]);
    const report = await registerToAtlasWithReport(movedHead(head, truth), atlas);
    expect(report.candidate).not.toBe(0);
    expect(meanLandmarkError(atlas, report.transform, truth)).toBeLessThan(1);
  });

  it('gives the same transform for the same input (deterministic sampling)', async () => {
    const input = movedHead(head, motion([5, 0, 0], [0, 5, 0]));
    const [a, b] = [await registerToAtlas(input, atlas), await registerToAtlas(input, atlas)];
    expect(b.matrix).toEqual(a.matrix);
  });

  it('refuses a blank volume with the series named', async () => {
    const blank = { ...head, data: new Float32Array(head.data.length) };
    await expect(registerToAtlas(blank, atlas, { context: { seriesInstanceUid: '1.2.3.4' } })).rejects.toThrow(/no head-like signal.*1\.2\.3\.4/);
  });

  it('refuses a single slice instead of guessing', async () => {
    const [nx, ny] = head.dims;
    const slice = { ...head, dims: [nx, ny, 1] as Vec3, data: head.data.slice(nx * ny * 90, nx * ny * 91) };
    await expect(registerToAtlas(slice, atlas, { context: { seriesInstanceUid: '1.2.3.5' } })).rejects.toThrow(/too thin.*1\.2\.3\.5/);
  });

  it('runs as the pool task and returns the input → atlas matrix', async () => {
    const { default: task } = await import('../src/pool/tasks/register.js');
    const truth = motion([0, 10, 0], [8, 0, 0]);
    const result = await task({ volume: movedHead(head, truth), context: { seriesInstanceUid: '1.2.3' } });
    expect(meanLandmarkError(atlas, { matrix: result.matrix }, truth)).toBeLessThan(1);
  });
});

const compiledTask = path.join(repoRoot, 'dist/src/pool/tasks/register.js');
describe.skipIf(!hasColin27 || !fs.existsSync(compiledTask))('registration in the worker pool', () => {
  it('runs off the main thread and returns the input → atlas matrix', async () => {
    const { createWorkerPool } = await import('../src/pool/pool.js');
    const pool = createWorkerPool({ pool: { workers: 1, intraOpThreads: 1, maxQueue: 4, idleTimeoutMs: 0 } });
    try {
      const atlas = loadTestAtlas();
      const truth = motion([-10, 0, 15], [0, -12, 6]);
      const volume = movedHead(readNifti(colin27Path), truth);
      const result = await pool.run('register', { volume }, [volume.data.buffer]);
      expect(result.candidate).toBe(0);
      expect(meanLandmarkError(atlas, { matrix: result.matrix }, truth)).toBeLessThan(1);
    } finally {
      await pool.close();
    }
  });
});

const cli = path.join(repoRoot, 'dist/src/cli.js');
describe.skipIf(!hasColin27 || !fs.existsSync(cli))('brainstrip register', () => {
  it('writes transform.json (input → atlas) and the input on the atlas grid', async () => {
    const atlas = loadTestAtlas();
    const truth = motion([10, -20, 5], [15, 0, -10]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-register-'));
    try {
      const input = path.join(dir, 'moved.nii.gz');
      writeNifti(input, movedHead(readNifti(colin27Path), truth));
      await run(process.execPath, [cli, 'register', input, '--out', path.join(dir, 'out')]);
      const transform = fromJson(JSON.parse(fs.readFileSync(path.join(dir, 'out/transform.json'), 'utf8')));
      expect(meanLandmarkError(atlas, transform, truth)).toBeLessThan(1);
      const atlasSpace = readNifti(path.join(dir, 'out/atlas-space.nii.gz'));
      expect(atlasSpace.dims).toEqual(atlas.grid.dims);
      // On the atlas grid, the moved head sits where the template is: correlation close to 1.
      expect(correlation(atlasSpace.data, atlas.template.data)).toBeGreaterThan(0.9);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('explains its usage when the output folder is missing', async () => {
    await expect(run(process.execPath, [cli, 'register', colin27Path])).rejects.toMatchObject({ code: 2 });
  });
});

// The header only says where the voxels are; moving it moves the head with it. Registering the same voxels
// under a header rotated by 20°/−15°/10° about the head's centre and shifted by 12/−9/15 mm must land the same
// anatomy on the same atlas position, within 1 mm over the atlas brain. Between the atlas and another head the
// cost is shallow at the finest level, so a search that stops on ripples ends in a different place for each header.
describe('registration is consistent when only the header moves', () => {
  const headerMotion = (volume: Volume<Float32Array>) =>
    rigidAboutCentre(eulerRotation((20 * Math.PI) / 180, (-15 * Math.PI) / 180, (10 * Math.PI) / 180), gridCentre(volume), [12, -9, 15]);

  async function consistency(volume: Volume<Float32Array>): Promise<number> {
    const atlas = loadTestAtlas();
    const motion = headerMotion(volume);
    const original = await registerToAtlas(volume, atlas);
    const moved = await registerToAtlas(withHeaderMoved(volume, motion), atlas);
    // The measure itself: the header left alone gives exactly 0.
    expect(headerConsistencyError(atlas, original, original, identityTransform())).toBe(0);
    return headerConsistencyError(atlas, original, moved, motion);
  }

  it.skipIf(!hasColin27)('Colin27 (1 mm): the same anatomy within 1 mm', async () => {
    expect(await consistency(readNifti(colin27Path))).toBeLessThan(1);
  }, 60_000);

  const enhancedDir = path.join(sharedData, 'dicom/siemens-xa30-t1-enhanced/5_anat-T1w_acq-tfl');
  it.skipIf(!sharedDataPresent('the header-consistency test on the Siemens XA30 MPRAGE', enhancedDir))(
    'a real 3D T1 with the neck in view (Siemens XA30 MPRAGE, Enhanced MR, 2 mm): within 1 mm',
    async () => {
      const { loadSeries } = await import('../src/pipeline/dicom/load-series.js');
      const { volume } = await loadSeries(fs.readdirSync(enhancedDir).map((f) => path.join(enhancedDir, f)));
      expect(await consistency(volume)).toBeLessThan(1);
    },
    60_000,
  );

  const labelMap = path.join(sharedData, 'train/synthseg-label-maps/training_seg_18.nii.gz');
  it.skipIf(!sharedDataPresent('the header-consistency test on a rendered whole head', labelMap))(
    'a whole head with neck rendered from a label map (SynthSeg map 18, T1-like, 1 mm): within 1 mm',
    async () => {
      const { renderLabelMap } = await import('../src/tools/quantize/label-images.js');
      const { image } = renderLabelMap(readNifti(labelMap), 't1', 7);
      expect(await consistency(image)).toBeLessThan(1);
    },
    60_000,
  );
});

const positions = ['HFS', 'HFP', 'HFDL', 'HFDR'];
describe.skipIf(!sharedDataPresent('the patient-position registration tests', patientPositionsDir))('series acquired in four patient positions', () => {
  it('all register upright, and the atlas brain mask brought back to each agrees between pairs in world space', async () => {
    const { loadVolume } = await import('../src/pipeline/dicom/load-input.js');
    const atlas = loadTestAtlas();
    const volumes: Volume<Float32Array>[] = [];
    const masks: Volume<Uint8Array>[] = [];
    for (const position of positions) {
      const [series] = fs.readdirSync(path.join(patientPositionsDir, position));
      const { volume } = await loadVolume(path.join(patientPositionsDir, position, series));
      const report = await registerToAtlasWithReport(volume, atlas);
      expect(report.candidate, `${position}: the header orientation is right in LPS`).toBe(0);
      volumes.push(volume);
      masks.push(resampleMask(atlas.brainMask, volume, report.transform.matrix));
    }
    const dices: Record<string, number> = {};
    for (let a = 0; a < positions.length; a++) {
      for (let b = a + 1; b < positions.length; b++) {
        // The head moved between acquisitions: register series a to series b (same person, same sequence).
        const aToB = await registerToAtlas(volumes[a], { template: volumes[b] });
        dices[`${positions[a]}-${positions[b]}`] = diceInOverlap(masks[a], masks[b], aToB);
      }
    }
    console.log('patient positions, pairwise Dice of the atlas mask in world space:', dices);
    // Issue 4: ≥ 0.9 for every pair. Measured (2026-11-25) with the shading divided out of the coarser levels:
    // 0.95–0.98 for all six pairs; without it HFDL's slab, cut through the head and lying against the coil, was
    // pulled 11 mm sideways (HFP-HFDL 0.887). With the finest level's cost smoothed (2026-11-30): 0.936–0.979,
    // the supine/prone against the decubitus series lowest.
    for (const [pair, dice] of Object.entries(dices)) expect(dice, pair).toBeGreaterThanOrEqual(0.9);
  });
});

/**
 * Dice of two masks in world space: both are sampled (linear, threshold ½) on a's grid refined to about 1 mm
 * across its thick slices, b through the a → b motion, counting only points that lie inside b's grid too.
 */
function diceInOverlap(a: Volume<Uint8Array>, b: Volume<Uint8Array>, aToB: RigidTransform): number {
  const f = Math.max(1, Math.round(a.spacing[2] / Math.min(a.spacing[0], a.spacing[1])));
  const refine = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1 / f, -(f - 1) / (2 * f), 0, 0, 0, 1];
  const fine = gridFromAffine([a.dims[0], a.dims[1], a.dims[2] * f], multiply(indexToWorld(a), refine));
  const maskA = resampleMask(a, fine);
  const maskB = resampleMask(b, fine, aToB.matrix);
  const toB = compose(indexToWorld(fine), aToB.matrix, worldToIndex(b));
  const [nx, ny, nz] = fine.dims;
  let both = 0;
  let sum = 0;
  for (let k = 0, v = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, v++) {
        const p = applyToPoint(toB, [i, j, k]);
        if (p.some((x, axis) => x < -0.5 || x > b.dims[axis] - 0.5)) continue;
        both += maskA.data[v] & maskB.data[v];
        sum += maskA.data[v] + maskB.data[v];
      }
    }
  }
  return (2 * both) / sum;
}

function correlation(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  const n = x.length;
  for (let v = 0; v < n; v++) {
    sx += x[v];
    sy += y[v];
    sxx += x[v] * x[v];
    syy += y[v] * y[v];
    sxy += x[v] * y[v];
  }
  return (sxy - (sx * sy) / n) / Math.sqrt((sxx - (sx * sx) / n) * (syy - (sy * sy) / n));
}
