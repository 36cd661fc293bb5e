// Brain extraction end to end on Colin27 (shipped atlas) with the shipped model: the mask follows the anatomy
// through a rigid motion and a contrast the training never saw, the model files are verified, and the CLI writes
// what it promises on a small input. Runs the compiled worker tasks (npm test builds first).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { loadAtlas } from '../src/pipeline/segmentation/atlas.js';
import { extractBrain } from '../src/jobs/processing/extract-brain.js';
import { resample, resampleMask } from '../src/pipeline/space/resample.js';
import { oneShotPrecision, resolveModel, shippedModelsDir } from '../src/pipeline/segmentation/model-files.js';
import { readNifti, writeNifti } from '../src/pipeline/io/nifti.js';
import { dice } from '../src/pipeline/segmentation/mask-metrics.js';
import { eulerRotation, identityTransform, rigidAboutCentre, toJson } from '../src/pipeline/space/transform.js';
import type { Grid, Volume } from '../src/pipeline/space/volume.js';
import { createWorkerPool, tasksDir, type WorkerPool } from '../src/pool/pool.js';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..');
const cli = path.join(repo, 'dist', 'src', 'cli.js');
const modelConfig = { dir: '', name: 'brainstrip-efficient', precision: 'FP32' as const, verifyChecksums: true, reviewDice: 0.83 };

describe('brain extraction on Colin27', () => {
  let pool: WorkerPool;
  const atlas = loadAtlas();

  beforeAll(() => {
    if (!fs.existsSync(path.join(tasksDir(), 'infer.js'))) throw new Error('dist/ is missing: run npm run build (npm test does) before this test');
    pool = createWorkerPool({ pool: { workers: 1, intraOpThreads: 2, maxQueue: 8, idleTimeoutMs: 0 } });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('follows the head through a rigid motion and a T2-like contrast that training never saw', async () => {
    // An oblique 1.2 × 1.2 × 2 mm acquisition of Colin27 rotated 11°/−6°/4° and shifted by (6, −5, 8) mm.
    const t = rigidAboutCentre(eulerRotation((11 * Math.PI) / 180, (-6 * Math.PI) / 180, (4 * Math.PI) / 180), [0, -18, 8], [6, -5, 8]);
    const input: Grid = { dims: [150, 170, 80], spacing: [1.2, 1.2, 2], origin: [90, 110, -70], direction: [[-1, 0, 0], [0, -1, 0], [0, 0, 1]] };
    const t1 = resample(atlas.template, input, { targetToSource: t.matrix, interpolation: 'linear', fill: 0 }) as Volume<Float32Array>;
    // T2-like: dark white matter, bright CSF (and a different scanner scale)
    const t2 = { ...t1, data: t1.data.map((v) => (v > 5 ? (300 - v) * 7 : v)) };
    const reference = resampleMask(atlas.brainMask, input, t.matrix);
    for (const volume of [t1, t2]) {
      const result = await extractBrain(volume, { pool, model: resolveModel({ name: modelConfig.name, precision: modelConfig.precision }), config: { model: modelConfig }, transform: t });
      expect(result.mask.dims).toEqual(input.dims);
      const d = dice(result.mask.data, reference.data);
      expect(d).toBeGreaterThan(0.93);
      // Colin27 itself: the size-tolerant agreement finds it at the atlas's own size, and equals the true Dice
      expect(Math.abs(result.atlasAgreementDice - d)).toBeLessThan(0.01);
      expect(Math.abs(result.atlasScale - 1)).toBeLessThanOrEqual(0.03);
      expect(result.flaggedForReview).toBe(false);
      expect(result.brainVolumeMl).toBeGreaterThan(1500);
      expect(result.brainVolumeMl).toBeLessThan(2300);
      expect(result.model).toMatchObject({ name: 'brainstrip-efficient', precision: 'FP32' });
      // the skull-stripped image is the input inside the mask and 0 outside
      for (let v = 0; v < volume.data.length; v += 997) expect(result.brain.data[v]).toBe(result.mask.data[v] ? volume.data[v] : 0);
    }
  });

  it("runs INT8 by default in one-shot commands ('auto'), quantized from the shipped FP32 model, with the same mask", async () => {
    expect(oneShotPrecision(loadConfig({}).model.precision)).toBe('INT8');
    const fp32 = resolveModel({ name: 'brainstrip-efficient', precision: 'FP32' });
    const int8 = resolveModel({ name: 'brainstrip-efficient', precision: 'INT8' });
    expect(int8.version).toBe(fp32.version);
    const sidecar = JSON.parse(fs.readFileSync(path.join(shippedModelsDir(), 'brainstrip-efficient-int8.json'), 'utf8'));
    expect(sidecar.source.sha256).toBe(fp32.sha256);
    expect(sidecar.command).toMatch(/^brainstrip quantize /);
    const t = rigidAboutCentre(eulerRotation((8 * Math.PI) / 180, 0, (-5 * Math.PI) / 180), [0, -18, 8], [4, 6, -3]);
    const input: Grid = { dims: [140, 160, 70], spacing: [1.3, 1.3, 2.2], origin: [90, 110, -70], direction: [[-1, 0, 0], [0, -1, 0], [0, 0, 1]] };
    const t1 = resample(atlas.template, input, { targetToSource: t.matrix, interpolation: 'linear', fill: 0 }) as Volume<Float32Array>;
    const [a, b] = await Promise.all([
      extractBrain(t1, { pool, model: int8, config: { model: modelConfig }, transform: t }),
      extractBrain(t1, { pool, model: fp32, config: { model: modelConfig }, transform: t }),
    ]);
    expect(a.model).toMatchObject({ precision: 'INT8', sha256: int8.sha256 });
    expect(dice(a.mask.data, b.mask.data)).toBeGreaterThan(0.99);
  });

  it('flags a result for review when the mask and the registered atlas disagree', async () => {
    // a deliberately wrong transform (the head is elsewhere): the atlas mask lands off the brain
    const wrong = rigidAboutCentre(eulerRotation(0, 0, 0), [0, 0, 0], [0, 0, 45]);
    const result = await extractBrain(atlas.template, { pool, model: resolveModel({ name: modelConfig.name, precision: modelConfig.precision }), config: { model: modelConfig }, transform: wrong });
    expect(result.atlasAgreementDice).toBeLessThan(0.83);
    expect(result.flaggedForReview).toBe(true);
  });
});

describe('model files', () => {
  it('the shipped models match checksums.json, and a tampered copy is refused with the file named', () => {
    expect(resolveModel({ name: 'brainstrip-efficient', precision: 'FP32' }).sha256).toMatch(/^[0-9a-f]{64}$/);
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-models-'));
    fs.cpSync(shippedModelsDir(), copy, { recursive: true });
    const entry = resolveModel({ dir: copy, name: 'brainstrip-efficient', precision: 'FP32' });
    const bytes = fs.readFileSync(entry.path);
    bytes[bytes.length - 10] ^= 0xff;
    fs.writeFileSync(entry.path, bytes);
    expect(() => resolveModel({ dir: copy, name: 'brainstrip-efficient', precision: 'FP32' })).toThrow(/brainstrip-efficient-fp32\.onnx does not match/);
    expect(() => resolveModel({ dir: copy, name: 'no-such-model', precision: 'FP32' })).toThrow(/not in .*checksums\.json/);
    fs.rmSync(copy, { recursive: true, force: true });
  });
});

describe('brainstrip extract', () => {
  it('writes mask, skull-stripped image, QC picture and transform for a NIfTI input, and prints the volume', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-extract-'));
    const input = path.join(dir, 'head.nii.gz');
    writeNifti(input, loadAtlas().template);
    const transform = path.join(dir, 'identity.json');
    fs.writeFileSync(transform, JSON.stringify(toJson(identityTransform())));
    const out = path.join(dir, 'out');
    const { stdout } = await run(process.execPath, [cli, 'extract', input, '--out', out, '--transform', transform], { cwd: dir });
    expect(stdout).toMatch(/brain volume \d+(\.\d)? mL/);
    const mask = readNifti(path.join(out, 'mask.nii.gz'));
    // uint8 (NIfTI datatype 2), as a mask should be stored
    expect(zlib.gunzipSync(fs.readFileSync(path.join(out, 'mask.nii.gz'))).readInt16LE(70)).toBe(2);
    expect(mask.dims).toEqual([128, 128, 128]);
    expect(new Set(mask.data)).toEqual(new Set([0, 1]));
    expect(fs.readFileSync(path.join(out, 'qc.png')).subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(readNifti(path.join(out, 'brain.nii.gz')).dims).toEqual([128, 128, 128]);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'transform.json'), 'utf8'))).toMatchObject({ from: 'input-lps-mm', to: 'atlas-lps-mm' });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fails with a usage message and status 2 without --out, and with status 1 on an unreadable input', async () => {
    await expect(run(process.execPath, [cli, 'extract', 'x.nii.gz'])).rejects.toMatchObject({ code: 2 });
    await expect(run(process.execPath, [cli, 'extract', '/nonexistent/input.nii.gz', '--out', os.tmpdir()])).rejects.toMatchObject({ code: 1 });
  });
});
