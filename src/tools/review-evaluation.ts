// How right the review flag is, both ways, for the model's evaluation: every correct mask of the validation sets
// should pass, and the same mask damaged the ways masks fail (tools/mask-damage.ts) should be flagged. A damage
// that lies outside an image's field of view (a slab without the vertex) changes the mask by less than
// MIN_CHANGED_ML and is not counted for that image. Writes the table: false flags per set, and per damage and
// contrast how many damaged masks were caught; then each measure's limit beside the worst correct mask and the
// damaged masks past it, because limits set on one model's masks must be re-measured on the next model's.
import type { Atlas } from '../pipeline/segmentation/atlas.js';
import { type MaskMeasure, type ReviewEvidence, type ReviewLimits, maskMeasures, pastLimit, reviewMask } from '../pipeline/segmentation/review-check.js';
import type { RigidTransform } from '../pipeline/space/transform.js';
import type { Volume } from '../pipeline/space/volume.js';
import { DAMAGES, type Damage, damageMask } from './mask-damage.js';

/** A damage changing the mask by less than this (mL) lies outside the field of view. */
export const MIN_CHANGED_ML = 3;

export interface ReviewedMask {
  set: string;
  name: string;
  contrast: string;
  damage: Damage | 'none';
  changedMl: number;
  flagged: boolean;
  reasons: string[];
  /** The review's measures of this mask (image and mirrored reading at hand). */
  evidence: ReviewEvidence;
}

export interface CorrectMask {
  set: string;
  name: string;
  contrast: string;
  image: Volume<Float32Array>;
  mask: Volume<Uint8Array>;
  transform: RigidTransform;
  /** The network's reading of the image mirrored (pipeline/segmentation/mirrored-reading.ts), P(brain) on the model grid. */
  mirroredReading: Volume<Float32Array>;
  /** The node's own verdict on the mask (with the network's probabilities at hand). */
  verdict: { flagged: boolean; reasons: string[] };
}

/** The correct mask's verdict and the verdict on each damage of it; `shiftIndex` turns the shift's direction from case to case. */
export function reviewDamaged(correct: CorrectMask, atlas: Atlas, limits: ReviewLimits, shiftIndex: number): ReviewedMask[] {
  const base = { set: correct.set, name: correct.name, contrast: correct.contrast };
  const inputs = { image: correct.image, mirroredReading: correct.mirroredReading };
  const own = reviewMask(correct.mask, atlas, correct.transform, limits, inputs);
  const rows: ReviewedMask[] = [{ ...base, damage: 'none', changedMl: 0, ...correct.verdict, evidence: own.evidence }];
  for (const damage of DAMAGES) {
    const damaged = damageMask(correct.mask, correct.transform, damage, shiftIndex);
    if (damaged.changedMl < MIN_CHANGED_ML) continue;
    const review = reviewMask(damaged.mask, atlas, correct.transform, limits, inputs);
    rows.push({ ...base, damage, changedMl: damaged.changedMl, flagged: review.flagged, reasons: review.reasons, evidence: review.evidence });
  }
  return rows;
}

const ratio = (rows: ReviewedMask[]) => `${rows.filter((r) => r.flagged).length} / ${rows.length}`;

/** The review table in Markdown: false flags per set, catches per damage × contrast, and the odd miss by name. */
export function reviewTable(rows: ReviewedMask[], limits: ReviewLimits): string {
  const correct = rows.filter((r) => r.damage === 'none');
  const damaged = rows.filter((r) => r.damage !== 'none');
  const sets = [...new Set(rows.map((r) => r.set))];
  const contrasts = [...new Set(rows.map((r) => r.contrast))];
  const lines = ['## Review flag', '', `Limits: atlas agreement ≥ ${limits.minAtlasDice}; excess beyond ${limits.excessMarginMm} mm ≤ ${limits.maxExcessMl} mL; missing deeper than ${limits.missingMarginMm} mm ≤ ${limits.maxMissingMl} mL; asymmetry beyond ${limits.asymmetryMarginMm} mm ≤ ${limits.maxAsymmetryMl} mL; centre offset ≤ ${limits.maxOffsetMm} mm; the network's mirrored reading, where sure (P above ${limits.readingSureness} or below ${(1 - limits.readingSureness).toFixed(2)}), parts from the mask by ≤ ${limits.maxReadingDisagreementMl} mL in one piece.`, ''];
  lines.push('Correct masks flagged (false flags):', '', '| set | flagged / masks | flagged |', '|---|---|---|');
  for (const set of sets) {
    const sel = correct.filter((r) => r.set === set);
    lines.push(`| ${set} | ${ratio(sel)} | ${sel.filter((r) => r.flagged).map((r) => `${r.name}: ${r.reasons.join('; ')}`).join('<br>')} |`);
  }
  lines.push(`| all | ${ratio(correct)} | |`, '', 'Damaged masks caught (flagged / damaged; a damage outside the field of view is not counted):', '');
  lines.push(`| damage | ${contrasts.join(' | ')} | all |`, `|---|${contrasts.map(() => '---|').join('')}---|`);
  for (const damage of DAMAGES) {
    const sel = damaged.filter((r) => r.damage === damage);
    lines.push(`| ${damage} | ${contrasts.map((c) => (sel.some((r) => r.contrast === c) ? ratio(sel.filter((r) => r.contrast === c)) : '–')).join(' | ')} | ${ratio(sel)} |`);
  }
  lines.push(`| all | ${contrasts.map((c) => ratio(damaged.filter((r) => r.contrast === c))).join(' | ')} | ${ratio(damaged)} |`);
  // By name only where a kind is missed now and then: a kind missed on most heads says enough by its count.
  const missed = damaged.filter((r) => !r.flagged && damaged.filter((o) => o.damage === r.damage && !o.flagged).length <= 5);
  if (missed.length) lines.push('', `Missed: ${missed.map((r) => `${r.name} ${r.damage} (${r.changedMl.toFixed(0)} mL)`).join('; ')}.`);
  lines.push('', ...marginLines(rows, limits));
  return `${lines.join('\n')}\n`;
}

/**
 * Per measure: its limit, the worst correct mask (the margin a limit has on the masks it must pass), the damaged
 * masks past the limit, and those past it alone (what loosening this limit would let through).
 */
export function marginLines(rows: ReviewedMask[], limits: ReviewLimits): string[] {
  const correct = rows.filter((r) => r.damage === 'none');
  const damaged = rows.filter((r) => r.damage !== 'none');
  const lines = ['Margins: each measure of the check, its limit, the worst correct mask, the damaged masks past the limit and those no other measure catches:', ''];
  lines.push('| measure | limit | worst correct mask | correct masks past it | damaged masks past it | caught by it alone |', '|---|---|---|---|---|---|');
  const isPast = (m: MaskMeasure, r: ReviewedMask) => pastLimit(m, m.value(r.evidence));
  const all = maskMeasures(limits);
  for (const m of all) {
    const past = (r: ReviewedMask) => isPast(m, r);
    const alone = (r: ReviewedMask) => past(r) && all.every((o) => o === m || !isPast(o, r));
    const measured = correct.filter((r) => m.value(r.evidence) !== undefined);
    if (!measured.length) continue;
    const worst = measured.reduce((w, r) => ((m.above ? m.value(r.evidence)! > m.value(w.evidence)! : m.value(r.evidence)! < m.value(w.evidence)!) ? r : w));
    const digits = m.unit ? 1 : 3;
    const dmg = damaged.filter((r) => m.value(r.evidence) !== undefined);
    lines.push(`| ${m.name} | ${m.above ? '≤' : '≥'} ${m.limit}${m.unit} | ${m.value(worst.evidence)!.toFixed(digits)}${m.unit} (${worst.name}) | ${measured.filter(past).length} / ${measured.length} | ${dmg.filter(past).length} / ${dmg.length} | ${dmg.filter(alone).length} |`);
  }
  return lines;
}
