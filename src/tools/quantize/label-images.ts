// MR-like images rendered from whole-head label maps (SynthSeg's label maps), deterministically, with their brain
// labels as the mask. The model's evaluation (`brainstrip evaluate-model`, maps 18–20, which then applies the
// reference convention) and the quantizer's calibration and validation data (bench/quantization-data.ts, maps
// 01–17) render them the same way.
import { seededRandom } from '../../pipeline/registration/similarity.js';
import { type Vec3, type Volume, withData } from '../../pipeline/space/volume.js';

/** T1-, T2- or FLAIR-like (either case). */
export type Contrast = 'T1' | 'T2' | 'FLAIR' | 't1' | 't2' | 'flair';

/** Labels 1–499 are brain (cerebrum, cerebellum, brain stem, ventricles, CSF); ≥ 500 are extra-cerebral. */
export function isBrainLabel(label: number): boolean {
  return label > 0 && label < 500;
}

// Mean intensity of the brain structures (FreeSurfer labels) in each rendered contrast; the extra-cerebral
// tissue classes (≥ 500, unnamed) get fixed pseudo-random intensities per contrast.
const CONTRAST_MEANS: Record<'T1' | 'T2' | 'FLAIR', Record<string, number>> = {
  T1: { wm: 0.8, ctx: 0.5, deep: 0.62, csf: 0.12, cbwm: 0.75, cbctx: 0.5, stem: 0.7 },
  T2: { wm: 0.35, ctx: 0.55, deep: 0.45, csf: 1.0, cbwm: 0.35, cbctx: 0.55, stem: 0.4 },
  FLAIR: { wm: 0.45, ctx: 0.62, deep: 0.55, csf: 0.08, cbwm: 0.45, cbctx: 0.6, stem: 0.5 },
};
const GROUP_OF: Record<number, string> = {};
for (const [group, labels] of Object.entries({
  wm: [2, 41], ctx: [3, 42], csf: [4, 5, 14, 15, 24, 43, 44, 72], cbwm: [7, 46], cbctx: [8, 47], stem: [16],
  deep: [10, 11, 12, 13, 17, 18, 26, 28, 49, 50, 51, 52, 53, 54, 58, 60],
})) for (const l of labels) GROUP_OF[l] = group;

export interface RenderedImage {
  image: Volume<Float32Array>;
  /** Exactly the brain labels (1–499); a reference in the node's convention is made from it by the caller. */
  mask: Volume<Uint8Array>;
}

/**
 * A label map (in patient space) rendered as an image of one contrast: one mean intensity per tissue group, a
 * pseudo-random one per extra-cerebral class, blurred by one voxel, 2 % noise. `seed` makes it reproducible.
 */
export function renderLabelMap(labels: Volume, contrast: Contrast, seed: number): RenderedImage {
  const tissue = CONTRAST_MEANS[contrast.toUpperCase() as 'T1' | 'T2' | 'FLAIR'];
  const random = seededRandom(seed);
  const means = new Map<number, number>();
  const meanOf = (label: number): number => {
    let m = means.get(label);
    if (m === undefined) {
      const group = GROUP_OF[label];
      m = label === 0 ? 0 : group ? tissue[group] : isBrainLabel(label) ? tissue.ctx : 0.05 + 0.9 * random();
      means.set(label, m);
    }
    return m;
  };
  const n = labels.data.length;
  const raw = new Float32Array(n);
  const mask = new Uint8Array(n);
  for (let v = 0; v < n; v++) {
    const l = Math.round(labels.data[v]);
    raw[v] = meanOf(l);
    mask[v] = isBrainLabel(l) ? 1 : 0;
  }
  const image = boxBlur(raw, labels.dims);
  for (let v = 0; v < n; v++) {
    // Box–Muller, 2 % of the white-matter level; magnitude images are never negative
    const g = Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
    image[v] = Math.abs(image[v] + 0.02 * g) * 1000;
  }
  return { image: withData(labels, image), mask: withData(labels, mask) };
}

/** 3-voxel box filter along each axis (partial volume at the edges of labels). */
function boxBlur(data: Float32Array, dims: Vec3): Float32Array {
  const [nx, ny] = dims;
  const strides = [1, nx, nx * ny];
  let src = data;
  for (let axis = 0; axis < 3; axis++) {
    const out = new Float32Array(src.length);
    const s = strides[axis];
    const len = dims[axis];
    for (let v = 0; v < src.length; v++) {
      const idx = Math.floor(v / s) % len;
      const a = idx > 0 ? src[v - s] : src[v];
      const b = idx < len - 1 ? src[v + s] : src[v];
      out[v] = (a + src[v] + b) / 3;
    }
    src = out;
  }
  return src;
}
