// Whether the instances received of a series are provably the whole series, from their headers alone. A sender
// never says so; some headers do: an Enhanced MR instance carries every frame, and a classic series is whole when
// its instance count matches the count its scanner declares, its InstanceNumbers run 1..N without a gap and its
// slices form one regular stack. A regular stack alone proves nothing (the first half of a series is one too), so
// without a declared count the answer is "not provably whole" and the idle timeout decides. Pure.
import type { CompletenessHeader } from './completeness-header.js';
import { planVolume } from './assemble.js';
import { MULTIFRAME_CLASSES, type FrameGeometry, type Orientation } from './frames.js';

export interface WholeSeriesEvidence {
  whole: boolean;
  /** In words, for the log: why the series is (or is not provably) whole. */
  reason: string;
}

/** The number of images a scanner declares for the series, and where it says so. */
export type DeclaredCount = { count: number; source: string } | { count?: undefined; why: string };

export function wholeSeriesEvidence(headers: readonly CompletenessHeader[]): WholeSeriesEvidence {
  if (headers.length === 0) return { whole: false, reason: 'no instances' };
  const multiFrame = headers.filter((h) => h.sopClassUid !== undefined && MULTIFRAME_CLASSES.has(h.sopClassUid));
  if (multiFrame.length > 0) {
    if (headers.length > 1) return { whole: false, reason: `${headers.length} instances, ${multiFrame.length} of them multi-frame: no count proves the series whole` };
    const frames = multiFrame[0].numberOfFrames;
    if (!frames || frames < 1) return { whole: false, reason: 'multi-frame instance without Number of Frames' };
    return { whole: true, reason: `one Enhanced MR instance with all its ${frames} frames` };
  }

  const declarations = headers.map(declaredImageCount);
  const declared = declarations[0];
  if (declared.count === undefined) return { whole: false, reason: declared.why };
  if (declarations.some((d) => d.count !== declared.count)) return { whole: false, reason: 'the instances declare different image counts' };
  const n = headers.length;
  if (n !== declared.count) return { whole: false, reason: `${n} of ${declared.count} declared images (${declared.source})` };

  const numbers = headers.map((h) => h.instanceNumber).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  if (numbers.length !== n || numbers.some((v, k) => v !== k + 1)) return { whole: false, reason: `InstanceNumbers are not 1..${n} without a gap` };

  const stack = regularStack(headers);
  if (stack) return { whole: false, reason: `${n} of ${n} declared images, but ${stack}` };
  return { whole: true, reason: `${n} of ${n} declared images (${declared.source}), InstanceNumbers 1..${n}, one regular stack` };
}

/**
 * The image count an original acquisition's headers declare: Images in Acquisition (0020,1002), else the Siemens
 * protocol's slices (2D) or slabs × images per slab (3D). Only single-volume acquisitions: several echoes or
 * repetitions are left to the idle rule.
 */
export function declaredImageCount(header: CompletenessHeader): DeclaredCount {
  if (header.imageType[0] !== 'ORIGINAL' || header.imageType.includes('MOSAIC')) {
    return { why: `ImageType ${header.imageType.join('\\') || '(none)'}: the acquisition's counts do not describe this series` };
  }
  if (header.imagesInAcquisition !== undefined && header.imagesInAcquisition > 0) return { count: header.imagesInAcquisition, source: 'Images in Acquisition' };
  const p = header.protocol;
  if (!p) return { why: 'no declared image count (no Images in Acquisition, no Siemens protocol)' };
  const value = (name: string) => (p.has(name) ? Number(p.get(name)) : undefined);
  const slices = value('sSliceArray.lSize');
  const dimension = value('sKSpace.ucDimension');
  const contrasts = value('lContrasts') ?? 1;
  const repetitions = value('lRepetitions') ?? 0;
  if (contrasts !== 1 || repetitions !== 0) return { why: `the Siemens protocol declares ${contrasts} contrasts and ${repetitions + 1} repetitions, not one volume` };
  if (!slices || !Number.isInteger(slices) || slices < 1) return { why: 'the Siemens protocol declares no slice count' };
  if (dimension === 2) return { count: slices, source: `Siemens protocol: ${slices} slices` };
  const perSlab = value('sKSpace.lImagesPerSlab');
  if (dimension === 4 && perSlab && Number.isInteger(perSlab) && perSlab > 0) return { count: slices * perSlab, source: `Siemens protocol: ${slices} slab × ${perSlab} images` };
  return { why: 'the Siemens protocol declares no image count for this acquisition' };
}

/** Why the instances are not one regular stack (one orientation, distinct positions, no gap); undefined when they are. */
function regularStack(headers: readonly CompletenessHeader[]): string | undefined {
  const first = headers[0];
  const frames: { geometry: FrameGeometry }[] = [];
  for (const h of headers) {
    if (!h.imagePositionPatient || !h.imageOrientationPatient || !h.pixelSpacing) return 'an instance has no slice geometry';
    if (h.rows !== first.rows || h.columns !== first.columns) return 'the instances have different matrix sizes';
    frames.push({
      geometry: {
        sopClassUid: h.sopClassUid ?? '',
        sopInstanceUid: h.sopInstanceUid ?? '',
        frameIndex: 0,
        imagePositionPatient: h.imagePositionPatient,
        imageOrientationPatient: h.imageOrientationPatient as Orientation,
        pixelSpacing: h.pixelSpacing,
        rescaleSlope: 1,
        rescaleIntercept: 0,
        order: [h.instanceNumber ?? 0],
      },
    });
  }
  try {
    const plan = planVolume(frames, first.rows ?? 1, first.columns ?? 1, {}, { multiVolume: 'refuse' });
    return plan.slices.length === headers.length ? undefined : 'slice positions repeat';
  } catch (error) {
    return `not one regular stack: ${(error as Error).message}`;
  }
}
