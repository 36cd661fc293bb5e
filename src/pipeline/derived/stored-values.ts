// The stored pixel values of the skull-stripped image. Inside the mask each image holds exactly the stored value
// the source holds there, in the source's own encoding (Pixel Representation, Bits Stored) and under the source
// frame's own Rescale Slope/Intercept, so a reader sees the same numbers in both series. The volume the pipeline
// works on holds real-world values (stored × slope + intercept, in Float32); the stored value is recovered by
// inverting the frame's rescale and rounding, which is exact for every 8- to 16-bit encoding (Float32 keeps the
// real-world value to far better than half a stored step).
//
// Outside the mask each image holds its background: real-world 0, or the source's darkest value where that lies
// below 0 (signed or offset data whose air is negative), stored as the nearest value the frame's encoding can hold.
//
// A source whose values do not fit 16 bits (32-bit encodings) cannot be reproduced in an MR image's 16-bit
// pixels: there, and only there, the brain is stored unsigned over the full 16 bits with a rescale of its own.
import type { SourceSeries, StoredEncoding } from '../dicom/series.js';
import type { Volume } from '../space/volume.js';
import { backgroundValue } from '../segmentation/postprocess.js';

export interface FrameRescale {
  slope: number;
  intercept: number;
}

export interface DerivedPixelEncoding {
  /** Always 16: the MR image IODs' container; 8-bit sources are widened, their values unchanged. */
  bitsAllocated: 16;
  bitsStored: number;
  signed: boolean;
  /** Rescale of frame k (the source frame's own, unless the source did not fit 16 bits). */
  rescale: (k: number) => FrameRescale;
  /** Whether every frame has the same rescale (Enhanced MR then states it once, in the shared group). */
  uniformRescale: boolean;
  /** Whether the values are the source's stored values (false only for sources wider than 16 bits). */
  sourceValues: boolean;
  /** Window (real-world units, after the rescale) from the 1st to the 99.5th percentile of the brain. */
  window: { center: number; width: number };
}

const IDENTITY: FrameRescale = { slope: 1, intercept: 0 };
const DEFAULT_ENCODING: StoredEncoding = { bitsAllocated: 16, bitsStored: 16, signed: false };

/** The range of stored values an encoding can hold. */
export function storedRange(bitsStored: number, signed: boolean): [number, number] {
  return signed ? [-(2 ** (bitsStored - 1)), 2 ** (bitsStored - 1) - 1] : [0, 2 ** bitsStored - 1];
}

function clamp(x: number, [lo, hi]: [number, number]): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function frameRescale(source: SourceSeries, k: number): FrameRescale {
  return source.frames[k]?.rescale ?? IDENTITY;
}

/** The 1st and 99.5th percentiles of the brain's values, from a strided sample of at most ~200,000 of them. */
function brainWindow(image: Float32Array, mask: Uint8Array): { center: number; width: number } {
  let inside = 0;
  for (let v = 0; v < mask.length; v++) if (mask[v] && Number.isFinite(image[v])) inside++;
  if (inside === 0) return { center: 0.5, width: 1 };
  const step = Math.max(1, Math.floor(inside / 200_000));
  const sample: number[] = [];
  let seen = 0;
  for (let v = 0; v < mask.length; v++) if (mask[v] && Number.isFinite(image[v]) && seen++ % step === 0) sample.push(image[v]);
  const sorted = Float64Array.from(sample).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))];
  // The skull that set the source's window is gone, and bright vessels should not wash out the parenchyma.
  const lo = at(0.01);
  const hi = Math.max(at(0.995), lo + 1e-3);
  return { center: (lo + hi) / 2, width: hi - lo };
}

/** Planned encoding of the skull-stripped image of `image` (real-world values on the source grid) under `mask`. */
export function derivedPixelEncoding(source: SourceSeries, image: Volume<Float32Array>, mask: Volume<Uint8Array>): DerivedPixelEncoding & { background: number } {
  const encoding = source.storedEncoding ?? DEFAULT_ENCODING;
  const background = backgroundValue(image.data);
  const window = brainWindow(image.data, mask.data);
  const first = frameRescale(source, 0);
  const uniformRescale = source.frames.every((_, k) => frameRescale(source, k).slope === first.slope && frameRescale(source, k).intercept === first.intercept);
  if (encoding.bitsStored <= 16) {
    return { bitsAllocated: 16, bitsStored: Math.max(1, encoding.bitsStored), signed: encoding.signed, rescale: (k) => frameRescale(source, k), uniformRescale, sourceValues: true, window, background };
  }
  // Wider than 16 bits: the brain and the background spread over 0…65535 with a rescale of their own.
  let lo = background;
  let hi = background;
  for (let v = 0; v < mask.data.length; v++) {
    const x = image.data[v];
    if (!mask.data[v] || !Number.isFinite(x)) continue;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const own = { slope: hi > lo ? (hi - lo) / 65535 : 1, intercept: lo };
  return { bitsAllocated: 16, bitsStored: 16, signed: false, rescale: () => own, uniformRescale: true, sourceValues: false, window, background };
}

/**
 * Stored values of frame k: inside the mask the source's own (the inverse of the frame's rescale, rounded),
 * outside it the background. Int16Array for signed encodings, Uint16Array otherwise.
 */
export function storedFrame(plan: DerivedPixelEncoding & { background: number }, image: Volume<Float32Array>, mask: Volume<Uint8Array>, k: number): Int16Array | Uint16Array {
  const frameLength = image.dims[0] * image.dims[1];
  const { slope, intercept } = plan.rescale(k);
  const range = storedRange(plan.bitsStored, plan.signed);
  const background = clamp(Math.round((plan.background - intercept) / slope), range);
  const out = plan.signed ? new Int16Array(frameLength) : new Uint16Array(frameLength);
  const offset = k * frameLength;
  for (let p = 0; p < frameLength; p++) {
    const x = image.data[offset + p];
    out[p] = mask.data[offset + p] && Number.isFinite(x) ? clamp(Math.round((x - intercept) / slope), range) : background;
  }
  return out;
}
