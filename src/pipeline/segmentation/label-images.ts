// MR-like images rendered from whole-head label maps (SynthSeg's training label maps), deterministically: one
// intensity per tissue for a T1-, T2- or FLAIR-like contrast, a random one per extra-cerebral class, Gaussian blur
// and noise. Their brain mask is known exactly (labels 1–499), so they serve as calibration and validation data
// with references and without touching the images the model's accuracy is reported on.
import { type Volume, withData } from '../space/volume.js';
import { seededRandom } from '../registration/similarity.js';

export type Contrast = 't1' | 't2' | 'flair';

const WHITE = new Set([2, 41, 7, 46, 16, 28, 60, 13, 52, 85]);
const FLUID = new Set([4, 5, 43, 44, 14, 15, 24, 30, 62, 72]);
const TISSUE: Record<Contrast, { white: number; grey: number; fluid: number }> = {
  t1: { white: 0.85, grey: 0.6, fluid: 0.15 },
  t2: { white: 0.35, grey: 0.5, fluid: 1.0 },
  flair: { white: 0.5, grey: 0.65, fluid: 0.1 },
};

/** Labels 1–499 are brain (cerebrum, cerebellum, brain stem, ventricles, CSF); ≥ 500 are extra-cerebral. */
export function isBrainLabel(label: number): boolean {
  return label > 0 && label < 500;
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Separable Gaussian blur, sigma in voxels, edges clamped. */
function blur(data: Float32Array, dims: [number, number, number], sigma: number): Float32Array {
  const radius = Math.ceil(2.5 * sigma);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const sum = kernel.reduce((a, b) => a + b, 0);
  const k = kernel.map((w) => w / sum);
  let src = data;
  const strides = [1, dims[0], dims[0] * dims[1]];
  for (let axis = 0; axis < 3; axis++) {
    const dst = new Float32Array(src.length);
    const n = dims[axis];
    const stride = strides[axis];
    for (let v = 0; v < src.length; v++) {
      const pos = Math.floor(v / stride) % n;
      let acc = 0;
      for (let o = -radius; o <= radius; o++) {
        const p = Math.min(n - 1, Math.max(0, pos + o));
        acc += k[o + radius] * src[v + (p - pos) * stride];
      }
      dst[v] = acc;
    }
    src = dst;
  }
  return src;
}

export interface RenderedImage {
  image: Volume<Float32Array>;
  mask: Volume<Uint8Array>;
}

/** Renders `labels` (a label map in patient space) as a `contrast` image; `seed` makes it reproducible. */
export function renderLabelMap(labels: Volume, contrast: Contrast, seed: number): RenderedImage {
  const random = seededRandom(seed);
  const tissue = TISSUE[contrast];
  const extra = new Map<number, number>();
  const n = labels.data.length;
  const image = new Float32Array(n);
  const mask = new Uint8Array(n);
  for (let v = 0; v < n; v++) {
    const label = Math.round(labels.data[v]);
    if (label <= 0) continue;
    if (isBrainLabel(label)) {
      mask[v] = 1;
      image[v] = WHITE.has(label) ? tissue.white : FLUID.has(label) ? tissue.fluid : tissue.grey;
    } else {
      if (!extra.has(label)) extra.set(label, 0.05 + 0.9 * random());
      image[v] = extra.get(label)!;
    }
  }
  const smooth = blur(image, labels.dims, 0.8);
  const noise = 0.02;
  for (let v = 0; v < n; v++) smooth[v] = Math.max(0, 1000 * (smooth[v] + noise * gaussian(random)));
  return { image: withData(labels, smooth), mask: withData(labels, mask) };
}
