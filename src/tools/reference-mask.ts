// A predicted brain mask and its reference made comparable: thresholded to 0/1 (above 0.5 is inside) and brought
// onto the reference's grid through patient space (nearest neighbour, so a mask stays a mask).
import { resample } from '../pipeline/space/resample.js';
import { type Grid, type Volume, withData } from '../pipeline/space/volume.js';

/** The mask as 0/1: voxels above 0.5 are inside. */
export function binary(volume: Volume<Float32Array>): Volume<Uint8Array> {
  const data = new Uint8Array(volume.data.length);
  for (let v = 0; v < data.length; v++) data[v] = volume.data[v] > 0.5 ? 1 : 0;
  return withData(volume, data);
}

function sameGrid(a: Grid, b: Grid): boolean {
  const close = (x: readonly number[], y: readonly number[]) => x.every((v, i) => Math.abs(v - y[i]) < 1e-4);
  return close(a.dims, b.dims) && close(a.spacing, b.spacing) && close(a.origin, b.origin) && a.direction.every((d, i) => close(d, b.direction[i]));
}

/** `predicted` on `reference`'s grid. */
export function onGridOf(predicted: Volume<Uint8Array>, reference: Grid): Volume<Uint8Array> {
  if (sameGrid(predicted, reference)) return predicted;
  return resample(predicted, reference, { interpolation: 'nearest', fill: 0 }) as Volume<Uint8Array>;
}
