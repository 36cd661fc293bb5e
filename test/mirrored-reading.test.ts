// The network's second reading: the mirror is exact and left–right on the model grid, and the disagreement counts
// only thick pieces the reading is sure of — never the soft band along the surface, nor a cavity inside the outline.
import { describe, expect, it } from 'vitest';
import { leftRightAxis, mirrorAlong, mirroredReading, readingDisagreement } from '../src/pipeline/segmentation/mirrored-reading.js';
import { applyToPoint, indexToWorld } from '../src/pipeline/space/geometry.js';
import { identityTransform } from '../src/pipeline/space/transform.js';
import { type Grid, type Vec3, type Volume, linearIndex } from '../src/pipeline/space/volume.js';

/** A 2 mm grid centred on the patient origin, axes along RAS like the model's grid. */
const grid: Grid = { dims: [40, 44, 40], spacing: [2, 2, 2], origin: [39, 43, -39], direction: [[-1, 0, 0], [0, -1, 0], [0, 0, 1]] };

/** P(brain) of a ball of radius r mm: 1 inside, falling linearly to 0 over `soft` mm across the surface. */
function softBall(g: Grid, r: number, soft: number, hollow = 0): Volume<Float32Array> {
  const m = indexToWorld(g);
  const data = new Float32Array(g.dims[0] * g.dims[1] * g.dims[2]);
  for (let k = 0; k < g.dims[2]; k++)
    for (let j = 0; j < g.dims[1]; j++)
      for (let i = 0; i < g.dims[0]; i++) {
        const d = Math.hypot(...applyToPoint(m, [i, j, k]));
        data[linearIndex(g.dims, i, j, k)] = d < hollow ? 0 : Math.min(1, Math.max(0, 0.5 - (d - r) / soft));
      }
  return { ...g, data };
}

function maskOf(p: Volume<Float32Array>, keep: (position: Vec3) => boolean = () => true): Volume<Uint8Array> {
  const m = indexToWorld(p);
  const data = new Uint8Array(p.data.length);
  for (let k = 0, v = 0; k < p.dims[2]; k++)
    for (let j = 0; j < p.dims[1]; j++)
      for (let i = 0; i < p.dims[0]; i++, v++) data[v] = p.data[v] >= 0.5 && keep(applyToPoint(m, [i, j, k])) ? 1 : 0;
  return { ...p, data };
}

describe("the network's mirrored reading", () => {
  it('mirrors along the grid axis that runs left–right, and twice is the identity', () => {
    expect(leftRightAxis(grid)).toBe(0);
    expect(leftRightAxis({ ...grid, direction: [[0, 1, 0], [1, 0, 0], [0, 0, 1]] })).toBe(1);
    const dims: Vec3 = [3, 2, 2];
    const data = Float32Array.from({ length: 12 }, (_, v) => v);
    expect([...mirrorAlong(data, dims, 0).subarray(0, 3)]).toEqual([2, 1, 0]);
    expect([...mirrorAlong(data, dims, 1).subarray(0, 3)]).toEqual([3, 4, 5]);
    expect([...mirrorAlong(data, dims, 2).subarray(0, 3)]).toEqual([6, 7, 8]);
    for (const axis of [0, 1, 2]) expect([...mirrorAlong(mirrorAlong(data, dims, axis), dims, axis)]).toEqual([...data]);
  });

  it('feeds the network the mirrored input and mirrors its answer back', async () => {
    const input = Float32Array.from({ length: 40 * 44 * 40 }, (_, v) => v % 40);
    // A network that answers "brain" on the patient's left half of what it is shown.
    const seen: number[] = [];
    const reading = await mirroredReading(input, grid, async (shown, dims) => {
      seen.push(shown[0]);
      return Float32Array.from(shown, (_, v) => ((v % dims[0]) >= dims[0] / 2 ? 1 : 0));
    });
    expect(seen).toEqual([39]);
    expect(reading.data[0]).toBe(1);
    expect(reading.data[39]).toBe(0);
    expect(reading.dims).toEqual(grid.dims);
  });

  const reading = softBall(grid, 30, 4);

  it('a mask that follows the reading has no disagreement, whatever the soft band along its surface', () => {
    const evidence = readingDisagreement(maskOf(softBall(grid, 31, 4)), reading, identityTransform(), 0.95);
    expect(evidence.readingLeftOutMl).toBe(0);
    expect(evidence.beyondReadingMl).toBe(0);
  });

  it('a cap cut off the top is sure brain left out, in mL', () => {
    const cut = maskOf(reading, (p) => p[2] < 20);
    const evidence = readingDisagreement(cut, reading, identityTransform(), 0.95);
    // the cap above 20 mm of the ball where P > 0.95 (radius 28.2 mm): 5.4 mL
    expect(evidence.readingLeftOutMl).toBeGreaterThan(4.4);
    expect(evidence.readingLeftOutMl).toBeLessThan(6.4);
    expect(evidence.beyondReadingMl).toBe(0);
  });

  it('mask added outside is sure no-brain taken in; a cavity inside the outline is not', () => {
    const withPiece = maskOf(softBall(grid, 40, 4), (p) => Math.hypot(...p) < 31 || (p[0] > 0 && p[1] < -10 && p[2] < -10));
    expect(readingDisagreement(withPiece, reading, identityTransform(), 0.95).beyondReadingMl).toBeGreaterThan(1.2);
    // The reading hollow in the middle (a resection cavity it calls not brain); the filled mask is right.
    const hollow = softBall(grid, 30, 4, 10);
    expect(readingDisagreement(maskOf(reading), hollow, identityTransform(), 0.95).beyondReadingMl).toBe(0);
  });
});
