// Where in the atlas the similarity is measured. Faces, necks, fat and coil shading differ wildly between
// sequences and between people; the brain and its immediate surroundings (CSF, skull) do not. So the fine
// levels measure MI only around the atlas brain, while the coarsest level looks at the head around it.
import type { Volume } from '../space/volume.js';

/**
 * Binary dilation by a box of ±radius voxels along each axis: per axis, each line is swept forwards and
 * backwards keeping the distance to the last set voxel, so the cost does not grow with the radius.
 */
export function dilate(mask: Volume<Uint8Array>, radius: number): Volume<Uint8Array> {
  const [nx, ny] = mask.dims;
  let src = mask.data;
  const strides = [1, nx, nx * ny];
  for (let axis = 0; axis < 3; axis++) {
    const n = mask.dims[axis];
    const stride = strides[axis];
    const out = new Uint8Array(src.length);
    for (let start = 0; start < src.length; start++) {
      // Line starts are the voxels whose coordinate along this axis is 0.
      if (Math.floor(start / stride) % n !== 0) continue;
      let since = Infinity;
      for (let c = 0; c < n; c++) {
        const v = start + c * stride;
        since = src[v] ? 0 : since + 1;
        if (since <= radius) out[v] = 1;
      }
      since = Infinity;
      for (let c = n - 1; c >= 0; c--) {
        const v = start + c * stride;
        since = src[v] ? 0 : since + 1;
        if (since <= radius) out[v] = 1;
      }
    }
    src = out;
  }
  return { ...mask, data: src };
}
