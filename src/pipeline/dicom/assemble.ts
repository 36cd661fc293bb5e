// Decides how the frames of one series form a volume: one orientation, one pixel grid, slices ordered along
// the slice normal with regular spacing, several volumes at the same positions split on purpose. Pure: it
// sees only frame geometry, never pixels, so every refusal happens before any decoding.
import { gridFromSlices, offAxisDistance, positionAlongNormal, sliceNormal } from '../space/geometry.js';
import type { Grid } from '../space/volume.js';
import { type DicomIdentifiers, SeriesError } from './errors.js';
import type { FrameGeometry } from './frames.js';

/** What to do when a series holds several volumes at the same slice positions (diffusion, multi-echo, fMRI). */
export type MultiVolumeChoice = 'first' | 'last' | 'refuse';

export interface AssembleOptions {
  multiVolume?: MultiVolumeChoice;
  /** Explicit 0-based volume to take from a multi-volume series (overrides `multiVolume`). */
  volumeIndex?: number;
  /** Frames whose positions differ by less than this (mm) are at the same slice position. */
  samePositionTolerance?: number;
  /** Largest relative deviation of a slice gap from the typical gap before the stack counts as irregular. */
  spacingTolerance?: number;
  /** Fewest slices that make a volume. */
  minSlices?: number;
}

export const ASSEMBLE_DEFAULTS: Required<Omit<AssembleOptions, 'volumeIndex'>> = {
  multiVolume: 'first',
  samePositionTolerance: 0.01,
  spacingTolerance: 0.1,
  minSlices: 3,
};

export interface Plan<T> {
  grid: Grid;
  /** The chosen volume's frames in slice order (k). */
  slices: T[];
  /** How many volumes share the slice positions, and which one was taken. */
  volumeCount: number;
  volumeIndex: number;
}

export function planVolume<T extends { geometry: FrameGeometry }>(frames: T[], rows: number, columns: number, ids: DicomIdentifiers, options: AssembleOptions = {}): Plan<T> {
  const o = { ...ASSEMBLE_DEFAULTS, ...options };
  if (frames.length === 0) throw new SeriesError('the series has no image frames', ids);
  if (frames.length === 1) throw new SeriesError('the series is a single 2D image, not a volume', ids);
  const reference = frames[0].geometry;
  const orientations = new Set<string>();
  for (const f of frames) {
    const g = f.geometry;
    const differs = g.imageOrientationPatient.some((c, a) => Math.abs(c - reference.imageOrientationPatient[a]) > 1e-3);
    if (differs) orientations.add(g.imageOrientationPatient.map((c) => c.toFixed(3)).join('\\'));
    if (Math.abs(g.pixelSpacing[0] - reference.pixelSpacing[0]) > 1e-3 * reference.pixelSpacing[0] || Math.abs(g.pixelSpacing[1] - reference.pixelSpacing[1]) > 1e-3 * reference.pixelSpacing[1]) {
      throw new SeriesError(`frames have different PixelSpacing (${reference.pixelSpacing.join('\\')} and ${g.pixelSpacing.join('\\')})`, ids);
    }
  }
  if (orientations.size > 0) {
    throw new SeriesError(`the series has ${orientations.size + 1} different image orientations (a multi-plane localizer or mixed stacks), not one volume`, ids);
  }

  const normal = sliceNormal(reference.imageOrientationPatient);
  const sorted = frames
    .map((f) => ({ f, d: positionAlongNormal(normal, f.geometry.imagePositionPatient) }))
    .sort((a, b) => a.d - b.d || compareOrder(a.f.geometry.order, b.f.geometry.order));

  // Group frames at the same position; several frames per position are several volumes.
  const positions: { d: number; frames: T[] }[] = [];
  for (const { f, d } of sorted) {
    const last = positions[positions.length - 1];
    if (last && d - last.d <= o.samePositionTolerance && samePoint(last.frames[0].geometry.imagePositionPatient, f.geometry.imagePositionPatient, o.samePositionTolerance)) last.frames.push(f);
    else positions.push({ d, frames: [f] });
  }
  const volumeCount = positions[0].frames.length;
  const uneven = positions.find((p) => p.frames.length !== volumeCount);
  if (uneven) {
    throw new SeriesError(
      `slice positions hold different numbers of frames (${volumeCount} at the first position, ${uneven.frames.length} at ${uneven.d.toFixed(2)} mm along the normal): frames are missing or the series mixes stacks`,
      ids,
    );
  }
  if (positions.length === 1) throw new SeriesError(volumeCount === 1 ? 'the series is a single 2D image, not a volume' : `the series is one slice position repeated ${volumeCount} times, not a volume`, ids);
  if (positions.length < o.minSlices) throw new SeriesError(`the series has only ${positions.length} slice positions; at least ${o.minSlices} are needed for a volume`, ids);

  let volumeIndex = 0;
  if (volumeCount > 1) {
    if (options.volumeIndex !== undefined) volumeIndex = options.volumeIndex;
    else if (o.multiVolume === 'refuse') throw new SeriesError(`the series holds ${volumeCount} volumes at the same slice positions (diffusion, multi-echo or time series) and multi-volume series are refused by configuration`, ids);
    else volumeIndex = o.multiVolume === 'last' ? volumeCount - 1 : 0;
    if (!(volumeIndex >= 0 && volumeIndex < volumeCount)) throw new SeriesError(`volume ${volumeIndex} requested but the series holds ${volumeCount} volumes`, ids);
    for (const p of positions) p.frames.sort((a, b) => compareOrder(a.geometry.order, b.geometry.order));
  }

  const gaps = positions.slice(1).map((p, k) => p.d - positions[k].d);
  const typical = median(gaps);
  gaps.forEach((gap, k) => {
    if (Math.abs(gap - typical) > o.spacingTolerance * typical) {
      throw new SeriesError(
        `irregular slice spacing: ${gap.toFixed(3)} mm between slices ${k + 1} and ${k + 2} where ${typical.toFixed(3)} mm is typical (${gap > typical ? 'missing slices?' : 'overlapping stacks?'})`,
        ids,
      );
    }
  });
  const firstPosition = positions[0].frames[0].geometry.imagePositionPatient;
  for (const p of positions) {
    const off = offAxisDistance(normal, firstPosition, p.frames[0].geometry.imagePositionPatient);
    if (off > Math.max(0.05, 0.05 * typical)) {
      throw new SeriesError(`slices are shifted within their plane by ${off.toFixed(3)} mm (a tilted/sheared stack), which is not supported`, ids);
    }
  }

  const slices = positions.map((p) => p.frames[volumeIndex]);
  const grid = gridFromSlices({
    rows,
    columns,
    slices: slices.length,
    imageOrientationPatient: reference.imageOrientationPatient,
    pixelSpacing: reference.pixelSpacing,
    firstPosition,
    lastPosition: slices[slices.length - 1].geometry.imagePositionPatient,
  });
  return { grid, slices, volumeCount, volumeIndex };
}

function samePoint(a: readonly number[], b: readonly number[], tolerance: number): boolean {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]) <= tolerance;
}

function compareOrder(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
