// The mask as a neuroradiologist expects it: one piece (the largest 6-connected component: specks in the
// scalp or the neck are not brain) with no holes (ventricles, tumour cores and resection cavities are inside the
// brain mask even when the network hesitates there).
import { type Volume, voxelCount } from '../space/volume.js';

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

/** Only the largest 6-connected component of the mask (an empty mask stays empty). */
export function largestComponent(mask: Volume<Uint8Array>): Volume<Uint8Array> {
  const { labels, sizes } = components(mask);
  let best = 0;
  for (let l = 1; l < sizes.length; l++) if (sizes[l] > sizes[best]) best = l;
  const data = new Uint8Array(labels.length);
  if (best > 0) for (let v = 0; v < data.length; v++) data[v] = labels[v] === best ? 1 : 0;
  return { ...mask, data };
}

/** Background not reachable from the volume's border (6-connected) becomes mask. */
export function fillHoles(mask: Volume<Uint8Array>): Volume<Uint8Array> {
  const [nx, ny, nz] = mask.dims;
  const inverse = new Uint8Array(mask.data.length);
  for (let v = 0; v < inverse.length; v++) inverse[v] = mask.data[v] ? 0 : 1;
  const { labels } = components({ ...mask, data: inverse });
  const outside = new Set<number>();
  const nxy = nx * ny;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        if (i !== 0 && i !== nx - 1 && j !== 0 && j !== ny - 1 && k !== 0 && k !== nz - 1) continue;
        const l = labels[i + nx * j + nxy * k];
        if (l) outside.add(l);
      }
  const data = new Uint8Array(mask.data.length);
  for (let v = 0; v < data.length; v++) data[v] = mask.data[v] || (labels[v] && !outside.has(labels[v])) ? 1 : 0;
  return { ...mask, data };
}

/** Largest component, then holes filled. */
export function cleanMask(mask: Volume<Uint8Array>): Volume<Uint8Array> {
  return fillHoles(largestComponent(mask));
}

/** The image with everything outside the mask set to 0 (the skull-stripped image). */
export function maskedImage(image: Volume<Float32Array>, mask: Volume<Uint8Array>): Volume<Float32Array> {
  const data = new Float32Array(image.data.length);
  for (let v = 0; v < data.length; v++) if (mask.data[v]) data[v] = image.data[v];
  return { ...image, data };
}
