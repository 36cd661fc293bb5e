// The review evaluation's margins: each measure beside its limit, the worst correct mask and the damaged masks past
// the limit, so that limits set on one model's masks can be re-measured on the next one's.
import { describe, expect, it } from 'vitest';
import { DEFAULT_REVIEW_LIMITS, type ReviewEvidence } from '../src/pipeline/segmentation/review-check.js';
import { type ReviewedMask, marginLines, reviewTable } from '../src/tools/review-evaluation.js';

const evidence = (over: Partial<ReviewEvidence>): ReviewEvidence => ({
  atlasScale: [1, 1, 1], atlasShiftMm: [0, 0, 0], excessMl: 0, missingMl: 0, asymmetryMl: 0, offsetMm: 0,
  readingLeftOutMl: 0, beyondReadingMl: 0, atlasDice: 0.9, atlasSize: 1, ...over,
});

const row = (name: string, damage: ReviewedMask['damage'], over: Partial<ReviewEvidence>, flagged = false): ReviewedMask =>
  ({ set: 'heads', name, contrast: 'T1', damage, changedMl: damage === 'none' ? 0 : 20, flagged, reasons: [], evidence: evidence(over) });

const rows: ReviewedMask[] = [
  row('a', 'none', { asymmetryMl: 1.1, atlasDice: 0.91 }),
  row('b', 'none', { asymmetryMl: 2.0, atlasDice: 0.88, excessMl: 5.3 }, true),
  row('a', 'temporal pole cut', { asymmetryMl: 3.4, readingLeftOutMl: 4 }, true),
  row('b', 'temporal pole cut', { asymmetryMl: 1.9, readingLeftOutMl: 2 }, true),
  row('a', 'orbits added', { excessMl: 9, atlasDice: 0.8 }, true),
];

const line = (lines: string[], measure: string) => lines.find((l) => l.startsWith(`| ${measure}`))!.split('|').map((c) => c.trim());

describe('the review margins', () => {
  const lines = marginLines(rows, DEFAULT_REVIEW_LIMITS);

  it('name the worst correct mask of each measure, the most for a limit from above and the least from below', () => {
    expect(line(lines, 'asymmetry')[3]).toBe('2.0 mL (b)');
    expect(line(lines, 'atlas agreement')[3]).toBe('0.880 (b)');
    expect(line(lines, 'excess')[3]).toBe('5.3 mL (b)');
  });

  it('count the correct and the damaged masks past each limit', () => {
    expect(line(lines, 'excess').slice(4, 6)).toEqual(['1 / 2', '1 / 3']);
    expect(line(lines, 'asymmetry').slice(4, 6)).toEqual(['0 / 2', '1 / 3']);
    expect(line(lines, 'atlas agreement').slice(4, 6)).toEqual(['0 / 2', '1 / 3']);
    expect(line(lines, 'sure brain').slice(4, 6)).toEqual(['0 / 2', '2 / 3']);
  });

  it('count the damaged masks that measure alone catches', () => {
    // the orbits are past the limits of excess and of agreement both; the second temporal pole only past the second reading's
    expect(line(lines, 'excess')[6]).toBe('0');
    expect(line(lines, 'asymmetry')[6]).toBe('0');
    expect(line(lines, 'sure brain')[6]).toBe('1');
  });

  it('leave out a measure no correct mask has', () => {
    const without = rows.map((r) => ({ ...r, evidence: { ...r.evidence, readingLeftOutMl: undefined, beyondReadingMl: undefined } }));
    const l = marginLines(without, DEFAULT_REVIEW_LIMITS);
    expect(l.some((x) => x.includes('second reading'))).toBe(false);
    expect(l.some((x) => x.startsWith('| asymmetry'))).toBe(true);
  });

  it('close the review table', () => {
    expect(reviewTable(rows, DEFAULT_REVIEW_LIMITS)).toContain('| asymmetry beyond 5 mm | ≤ 2.5 mL | 2.0 mL (b) |');
  });
});
