// The atlas every series is registered to: Colin27's head and its brain mask (BraTS/HD-BET convention) on the
// model grid of models/atlas/grid.json. Built by training/build_atlas.py; see models/atlas/README.md.
import fs from 'node:fs';
import path from 'node:path';
import { modelsDir } from './model-files.js';
import { readNifti } from '../io/nifti.js';
import { type Grid, type Vec3, type Volume, binarise, gridOf, withData } from '../space/volume.js';

export interface Atlas {
  /** The model grid: the network sees its input resampled onto it. */
  grid: Grid;
  template: Volume<Float32Array>;
  brainMask: Volume<Uint8Array>;
}

const cache = new Map<string, Atlas>();

function sameGrid(a: Grid, b: Grid): boolean {
  const close = (x: number[], y: number[]) => x.every((v, i) => Math.abs(v - y[i]) < 1e-3);
  return close(a.dims, b.dims) && close(a.spacing, b.spacing) && close(a.origin, b.origin) && a.direction.every((d, i) => close(d, b.direction[i]));
}

/** Loads (once per process and folder) the atlas from `<dir>/atlas`, dir defaulting to the shipped models. */
export function loadAtlas(dir?: string): Atlas {
  const root = modelsDir(dir);
  const cached = cache.get(root);
  if (cached) return cached;
  const folder = path.join(root, 'atlas');
  const json = JSON.parse(fs.readFileSync(path.join(folder, 'grid.json'), 'utf8')) as {
    dims: Vec3;
    spacing: Vec3;
    origin: Vec3;
    direction: [Vec3, Vec3, Vec3];
  };
  const grid: Grid = gridOf(json);
  const template = readNifti(path.join(folder, 'template.nii.gz'));
  const maskF = readNifti(path.join(folder, 'brain-mask.nii.gz'));
  for (const [name, v] of [['template', template], ['brain-mask', maskF]] as const) {
    if (!sameGrid(v, grid)) throw new Error(`atlas ${name}.nii.gz is not on the grid of grid.json`);
  }
  const mask = binarise(maskF.data);
  const atlas: Atlas = { grid, template: withData(grid, template.data), brainMask: withData(grid, mask) };
  cache.set(root, atlas);
  return atlas;
}
