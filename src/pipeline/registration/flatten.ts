// Slow intensity shading (receive-coil sensitivity, strongest when a head lies off-centre, as in decubitus
// positions) changes the joint histogram as much as anatomy does, and pulls mutual information towards a wrong
// pose. Dividing each image by a wide local mean of its own foreground (normalised convolution) removes the
// shading and keeps the tissue contrast that registration needs. Done on a coarse copy, brought back to each
// pyramid level through geometry.resample.
import { resample } from '../geometry.js';
import type { Grid, Volume } from '../volume.js';
import { robustRange } from './intensity.js';
import { blockFactors, downsample, smooth } from './pyramid.js';

export interface Shading {
  /** Local mean brightness of the foreground, on a coarse grid. */
  field: Volume<Float32Array>;
}

export function estimateShading(volume: Volume<Float32Array>, sigmaMm: number, gridMm = 4): Shading {
  const coarse = downsample(volume, blockFactors(volume.spacing, gridMm));
  const range = robustRange(coarse.data);
  const threshold = range.low + 0.1 * (range.high - range.low);
  const weight = new Float32Array(coarse.data.length);
  const masked = new Float32Array(coarse.data.length);
  for (let v = 0; v < weight.length; v++) {
    if (coarse.data[v] > threshold) {
      weight[v] = 1;
      masked[v] = coarse.data[v];
    }
  }
  const num = smooth({ ...coarse, data: masked }, sigmaMm).data;
  const den = smooth({ ...coarse, data: weight }, sigmaMm).data;
  const field = new Float32Array(num.length);
  let floor = Infinity;
  for (let v = 0; v < field.length; v++) if (den[v] > 0.05) floor = Math.min(floor, num[v] / den[v]);
  if (!Number.isFinite(floor) || floor <= 0) floor = 1;
  for (let v = 0; v < field.length; v++) field[v] = den[v] > 0.05 ? Math.max(num[v] / den[v], floor) : floor;
  return { field: { ...coarse, data: field } };
}

/** `level` divided by the shading, which is resampled onto the level's grid (linear, edge values outside). */
export function flatten(level: Volume<Float32Array>, shading: Shading): Volume<Float32Array> {
  const field = resample(shading.field, level as Grid, { interpolation: 'linear', fill: NaN }).data;
  const out = new Float32Array(level.data.length);
  for (let v = 0; v < out.length; v++) {
    const f = field[v];
    out[v] = Number.isFinite(f) && f > 0 ? level.data[v] / f : 0;
  }
  return { ...level, data: out };
}
