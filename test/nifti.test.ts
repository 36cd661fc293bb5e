import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyToPoint, indexToWorld } from '../src/pipeline/space/geometry.js';
import { resample } from '../src/pipeline/space/resample.js';
import { readNifti, writeNifti } from '../src/pipeline/io/nifti.js';
import type { Vec3, Volume } from '../src/pipeline/space/volume.js';

const COLIN = '/usr/share/mricron/templates/ch2.nii.gz';

function obliqueVolume(): Volume<Float32Array> {
  // 20° about z then 10° about x, with a mirrored k axis: an improper frame like a feet-first acquisition.
  const a = (20 * Math.PI) / 180;
  const b = (10 * Math.PI) / 180;
  const x: Vec3 = [Math.cos(a), Math.sin(a), 0];
  const y: Vec3 = [-Math.sin(a) * Math.cos(b), Math.cos(a) * Math.cos(b), Math.sin(b)];
  const z: Vec3 = [-(x[1] * y[2] - x[2] * y[1]), -(x[2] * y[0] - x[0] * y[2]), -(x[0] * y[1] - x[1] * y[0])];
  const dims: Vec3 = [7, 5, 3];
  const data = new Float32Array(7 * 5 * 3).map((_, v) => v * 1.5 - 10);
  return { dims, spacing: [0.9, 1.1, 3], origin: [12.5, -40, 7], direction: [x, y, z], data };
}

describe('NIfTI', () => {
  it('round-trips an oblique, mirrored volume through .nii.gz with the same voxel-to-world mapping', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nifti-'));
    const volume = obliqueVolume();
    writeNifti(path.join(dir, 'v.nii.gz'), volume);
    const back = readNifti(path.join(dir, 'v.nii.gz'));
    expect(back.dims).toEqual(volume.dims);
    expect(Array.from(back.data)).toEqual(Array.from(volume.data));
    const m0 = indexToWorld(volume);
    const m1 = indexToWorld(back);
    for (let i = 0; i < 16; i++) expect(m1[i]).toBeCloseTo(m0[i], 4);
  });

  it('reads Colin27 in LPS: voxel (0,0,0) is RAS (-90,-125,-71)', () => {
    if (!fs.existsSync(COLIN)) return expect.fail(`${COLIN} missing: apt-get install mricron-data`);
    const colin = readNifti(COLIN);
    expect(colin.dims).toEqual([181, 217, 181]);
    expect(applyToPoint(indexToWorld(colin), [0, 0, 0])).toEqual([90, 125, -71]);
    expect(applyToPoint(indexToWorld(colin), [1, 1, 1])).toEqual([89, 124, -70]);
  });
});

describe('resampling', () => {
  it('on its own grid gives back the same voxels, linear and nearest', () => {
    const volume = obliqueVolume();
    expect(Array.from(resample(volume, volume).data)).toEqual(Array.from(volume.data).map((v) => expect.closeTo(v, 4)));
    expect(Array.from(resample(volume, volume, { interpolation: 'nearest' }).data)).toEqual(Array.from(volume.data));
  });

  it('follows a world-space shift: sampling at +1 voxel along i reads the neighbour', () => {
    const volume = obliqueVolume();
    const step = volume.direction[0].map((d) => d * volume.spacing[0]);
    const shift = [1, 0, 0, step[0], 0, 1, 0, step[1], 0, 0, 1, step[2], 0, 0, 0, 1];
    const out = resample(volume, volume, { targetToSource: shift, interpolation: 'linear' });
    expect(out.data[0]).toBeCloseTo(volume.data[1], 4);
    expect(out.data[6]).toBe(0); // beyond the last column: fill
  });
});
