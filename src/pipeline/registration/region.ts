// Where in the atlas the similarity is measured. Faces, necks, fat and coil shading differ wildly between
// sequences and between people; the brain and its immediate surroundings (CSF, skull) do not. So the fine
// levels measure MI only around the atlas brain, while the coarsest level looks at the whole head to find it.
import type { Volume } from '../volume.js';

/** Binary dilation by a box of ±radius voxels along each axis (separable running maximum). */
export function dilate(mask: Volume<Uint8Array>, radius: number): Volume<Uint8Array> {
  const [nx, ny, nz] = mask.dims;
  let src = mask.data;
  const strides = [1, nx, nx * ny];
  for (let axis = 0; axis < 3; axis++) {
    const out = new Uint8Array(src.length);
    const n = mask.dims[axis];
    const stride = strides[axis];
    for (let v = 0; v < src.length; v++) {
      if (!src[v]) continue;
      const c = Math.floor(v / stride) % n;
      const lo = Math.max(0, c - radius);
      const hi = Math.min(n - 1, c + radius);
      const base = v - c * stride;
      for (let q = lo; q <= hi; q++) out[base + q * stride] = 1;
    }
    src = out;
  }
  void ny;
  void nz;
  return { ...mask, data: src };
}
