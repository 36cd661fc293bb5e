// The mask as a neuroradiologist expects it: one piece (the largest 6-connected component: specks in the
// scalp or the neck are not brain) with no holes (ventricles, tumour cores and resection cavities are inside the
// brain mask even when the network hesitates there).
import type { Vec3, Volume } from '../space/volume.js';

/**
 * 6-connected flood fill over voxels whose `data` equals `value`, from the seeds, marking `reached` with `mark`
 * (only voxels whose mark is `from`); returns how many were marked. One queue serves every fill of a mask.
 */
function flood(data: Uint8Array, dims: Vec3, value: number, seeds: Iterable<number>, reached: Uint8Array, from: number, mark: number, queue: Int32Array): number {
  const [nx, ny, nz] = dims;
  const nxy = nx * ny;
  let head = 0;
  let tail = 0;
  for (const seed of seeds) {
    if (data[seed] !== value || reached[seed] !== from) continue;
    reached[seed] = mark;
    queue[tail++] = seed;
  }
  while (head < tail) {
    const v = queue[head++];
    const i = v % nx;
    const j = ((v - i) / nx) % ny;
    const k = (v - i - nx * j) / nxy;
    if (i > 0 && data[v - 1] === value && reached[v - 1] === from) (reached[v - 1] = mark), (queue[tail++] = v - 1);
    if (i < nx - 1 && data[v + 1] === value && reached[v + 1] === from) (reached[v + 1] = mark), (queue[tail++] = v + 1);
    if (j > 0 && data[v - nx] === value && reached[v - nx] === from) (reached[v - nx] = mark), (queue[tail++] = v - nx);
    if (j < ny - 1 && data[v + nx] === value && reached[v + nx] === from) (reached[v + nx] = mark), (queue[tail++] = v + nx);
    if (k > 0 && data[v - nxy] === value && reached[v - nxy] === from) (reached[v - nxy] = mark), (queue[tail++] = v - nxy);
    if (k < nz - 1 && data[v + nxy] === value && reached[v + nxy] === from) (reached[v + nxy] = mark), (queue[tail++] = v + nxy);
  }
  return tail;
}

/** Keeps only the largest 6-connected piece of the 0/1 `data`, in place. */
function keepLargestPiece(data: Uint8Array, dims: Vec3, queue: Int32Array): void {
  const seen = new Uint8Array(data.length);
  let best = -1;
  let bestSize = 0;
  for (let seed = 0; seed < data.length; seed++) {
    if (!data[seed] || seen[seed]) continue;
    const size = flood(data, dims, 1, [seed], seen, 0, 1, queue);
    if (size > bestSize) (best = seed), (bestSize = size);
  }
  // The winner is marked again, then everything else goes.
  if (best >= 0) flood(data, dims, 1, [best], seen, 1, 2, queue);
  for (let v = 0; v < data.length; v++) data[v] = seen[v] === 2 ? 1 : 0;
}

/** Background of the 0/1 `data` that the grid's border cannot reach (6-connected) becomes mask, in place. */
function fillEnclosed(data: Uint8Array, dims: Vec3, queue: Int32Array): void {
  const [nx, ny, nz] = dims;
  const border: number[] = [];
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++) {
      const row = nx * (j + ny * k);
      if (k === 0 || k === nz - 1 || j === 0 || j === ny - 1) for (let i = 0; i < nx; i++) border.push(row + i);
      else border.push(row, row + nx - 1);
    }
  const outside = new Uint8Array(data.length);
  flood(data, dims, 0, border, outside, 0, 1, queue);
  for (let v = 0; v < data.length; v++) if (!outside[v]) data[v] = 1;
}

/** The box [lo, hi] (voxel indices, inclusive) holding every voxel of the 0/1 mask, grown by `margin` within the grid. */
function boundingBox(mask: Volume<Uint8Array>, margin: number): { lo: Vec3; hi: Vec3 } | undefined {
  const [nx, ny, nz] = mask.dims;
  const lo: Vec3 = [nx, ny, nz];
  const hi: Vec3 = [-1, -1, -1];
  // Row by row with the typed array's own search: most rows of a head's grid hold no mask at all.
  for (let k = 0, start = 0; k < nz; k++)
    for (let j = 0; j < ny; j++, start += nx) {
      const row = mask.data.subarray(start, start + nx);
      const first = row.indexOf(1);
      if (first < 0) continue;
      const last = row.lastIndexOf(1);
      if (first < lo[0]) lo[0] = first;
      if (last > hi[0]) hi[0] = last;
      if (j < lo[1]) lo[1] = j;
      if (j > hi[1]) hi[1] = j;
      if (k < lo[2]) lo[2] = k;
      if (k > hi[2]) hi[2] = k;
    }
  if (hi[0] < 0) return undefined;
  return {
    lo: [0, 1, 2].map((a) => Math.max(0, lo[a] - margin)) as Vec3,
    hi: [0, 1, 2].map((a) => Math.min(mask.dims[a] - 1, hi[a] + margin)) as Vec3,
  };
}

/** The voxels of `box` as a grid of their own (only dims matter to the labelling). */
function crop(mask: Volume<Uint8Array>, { lo, hi }: { lo: Vec3; hi: Vec3 }): Volume<Uint8Array> {
  const [nx, ny] = mask.dims;
  const dims: Vec3 = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let k = 0, o = 0; k < dims[2]; k++)
    for (let j = 0; j < dims[1]; j++, o += dims[0]) {
      const from = lo[0] + nx * (lo[1] + j + ny * (lo[2] + k));
      data.set(mask.data.subarray(from, from + dims[0]), o);
    }
  return { ...mask, dims, data };
}

/** `part` (cropped at `box`) written back into a grid of `dims`, zero elsewhere. */
function uncrop(part: Uint8Array, { lo, hi }: { lo: Vec3; hi: Vec3 }, dims: Vec3): Uint8Array {
  const [nx, ny, nz] = dims;
  const out = new Uint8Array(nx * ny * nz);
  const w = hi[0] - lo[0] + 1;
  for (let k = 0, o = 0; k <= hi[2] - lo[2]; k++)
    for (let j = 0; j <= hi[1] - lo[1]; j++, o += w) out.set(part.subarray(o, o + w), lo[0] + nx * (lo[1] + j + ny * (lo[2] + k)));
  return out;
}

/**
 * Background outside the box around the mask reaches the border, and so does any background touching the box's
 * one-voxel margin: the whole cleaning is done inside the box (a head's grid is mostly background).
 */
function cleanInBox(mask: Volume<Uint8Array>, steps: { largest: boolean; fill: boolean }): Volume<Uint8Array> {
  const box = boundingBox(mask, 1);
  if (!box) return { ...mask, data: new Uint8Array(mask.data.length) };
  const part = crop(mask, box);
  const queue = new Int32Array(part.data.length);
  if (steps.largest) keepLargestPiece(part.data, part.dims, queue);
  if (steps.fill) fillEnclosed(part.data, part.dims, queue);
  return { ...mask, data: uncrop(part.data, box, mask.dims) };
}

/** Only the largest 6-connected component of the mask (an empty mask stays empty). */
export function largestComponent(mask: Volume<Uint8Array>): Volume<Uint8Array> {
  return cleanInBox(mask, { largest: true, fill: false });
}

/** Background not reachable from the volume's border (6-connected) becomes mask. */
export function fillHoles(mask: Volume<Uint8Array>): Volume<Uint8Array> {
  return cleanInBox(mask, { largest: false, fill: true });
}

/** Largest component, then holes filled. */
export function cleanMask(mask: Volume<Uint8Array>): Volume<Uint8Array> {
  return cleanInBox(mask, { largest: true, fill: true });
}

/**
 * The value outside the brain in a skull-stripped image: 0, or the image's darkest value where that is lower —
 * where a stored 0 lies is the encoding's choice, and in a signed or offset image 0 is a grey, not the air.
 */
export function backgroundValue(image: ArrayLike<number>): number {
  let lowest = 0;
  for (let v = 0; v < image.length; v++) if (image[v] < lowest) lowest = image[v];
  return lowest;
}

/** The image with everything outside the mask set to its background value (the skull-stripped image), a copy. */
export function maskedImage(image: Volume<Float32Array>, mask: Volume<Uint8Array>): Volume<Float32Array> {
  const data = new Float32Array(image.data.length).fill(backgroundValue(image.data));
  for (let v = 0; v < data.length; v++) if (mask.data[v]) data[v] = image.data[v];
  return { ...image, data };
}
