// The mask as a neuroradiologist expects it: one piece (the largest 6-connected component: specks in the
// scalp or the neck are not brain) with no holes (ventricles, tumour cores and resection cavities are inside the
// brain mask even when the network hesitates there).
import { type Vec3, type Volume, voxelCount } from '../space/volume.js';

/** Labels 6-connected components of `mask` (non-zero); returns the label volume (0 = background) and sizes. */
function components(mask: Volume<Uint8Array>): { labels: Int32Array; sizes: number[] } {
  const [nx, ny, nz] = mask.dims;
  const nxy = nx * ny;
  const n = voxelCount(mask);
  const labels = new Int32Array(n);
  const queue = new Int32Array(n);
  const sizes = [0];
  for (let seed = 0; seed < n; seed++) {
    if (!mask.data[seed] || labels[seed]) continue;
    const label = sizes.length;
    let head = 0;
    let tail = 0;
    queue[tail++] = seed;
    labels[seed] = label;
    while (head < tail) {
      const v = queue[head++];
      const i = v % nx;
      const j = ((v - i) / nx) % ny;
      const k = (v - i - nx * j) / nxy;
      if (i > 0 && mask.data[v - 1] && !labels[v - 1]) (labels[v - 1] = label), (queue[tail++] = v - 1);
      if (i < nx - 1 && mask.data[v + 1] && !labels[v + 1]) (labels[v + 1] = label), (queue[tail++] = v + 1);
      if (j > 0 && mask.data[v - nx] && !labels[v - nx]) (labels[v - nx] = label), (queue[tail++] = v - nx);
      if (j < ny - 1 && mask.data[v + nx] && !labels[v + nx]) (labels[v + nx] = label), (queue[tail++] = v + nx);
      if (k > 0 && mask.data[v - nxy] && !labels[v - nxy]) (labels[v - nxy] = label), (queue[tail++] = v - nxy);
      if (k < nz - 1 && mask.data[v + nxy] && !labels[v + nxy]) (labels[v + nxy] = label), (queue[tail++] = v + nxy);
    }
    sizes.push(tail);
  }
  return { labels, sizes };
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

/** Only the largest 6-connected component of the mask (an empty mask stays empty). */
export function largestComponent(mask: Volume<Uint8Array>): Volume<Uint8Array> {
  // Labelling only the box around the mask: a head's grid is mostly background.
  const box = boundingBox(mask, 0);
  if (!box) return { ...mask, data: new Uint8Array(mask.data.length) };
  const { labels, sizes } = components(crop(mask, box));
  let best = 0;
  for (let l = 1; l < sizes.length; l++) if (sizes[l] > sizes[best]) best = l;
  const part = new Uint8Array(labels.length);
  for (let v = 0; v < part.length; v++) part[v] = labels[v] === best ? 1 : 0;
  return { ...mask, data: uncrop(part, box, mask.dims) };
}

/** Background not reachable from the volume's border (6-connected) becomes mask. */
export function fillHoles(mask: Volume<Uint8Array>): Volume<Uint8Array> {
  // Background outside the box around the mask reaches the border, and so does any background touching the box's
  // one-voxel margin: holes are found inside the box alone.
  const box = boundingBox(mask, 1);
  if (!box) return { ...mask, data: new Uint8Array(mask.data.length) };
  const part = crop(mask, box);
  const [nx, ny, nz] = part.dims;
  const inverse = new Uint8Array(part.data.length);
  for (let v = 0; v < inverse.length; v++) inverse[v] = part.data[v] ? 0 : 1;
  const { labels } = components({ ...part, data: inverse });
  const outside = new Set<number>();
  const nxy = nx * ny;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        if (i !== 0 && i !== nx - 1 && j !== 0 && j !== ny - 1 && k !== 0 && k !== nz - 1) continue;
        const l = labels[i + nx * j + nxy * k];
        if (l) outside.add(l);
      }
  const filled = new Uint8Array(part.data.length);
  for (let v = 0; v < filled.length; v++) filled[v] = part.data[v] || (labels[v] && !outside.has(labels[v])) ? 1 : 0;
  return { ...mask, data: uncrop(filled, box, mask.dims) };
}

/** Largest component, then holes filled. */
export function cleanMask(mask: Volume<Uint8Array>): Volume<Uint8Array> {
  return fillHoles(largestComponent(mask));
}

/**
 * The image with everything outside the mask set to 0 (the skull-stripped image): a copy, or with `inPlace` the
 * image itself, changed (a large series then needs no second copy of its voxels).
 */
export function maskedImage(image: Volume<Float32Array>, mask: Volume<Uint8Array>, options: { inPlace?: boolean } = {}): Volume<Float32Array> {
  if (options.inPlace) {
    const data = image.data;
    for (let v = 0; v < data.length; v++) if (!mask.data[v]) data[v] = 0;
    return image;
  }
  const data = new Float32Array(image.data.length);
  for (let v = 0; v < data.length; v++) if (mask.data[v]) data[v] = image.data[v];
  return { ...image, data };
}
