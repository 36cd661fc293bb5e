// When a series is provably whole, from the headers real scanners write: the Siemens protocol's slice and slab
// counts (VE and XA), Enhanced MR's one instance; a part of a series, a series with a gap, and a series whose
// scanner declares no count are not provably whole (the idle timeout decides for them).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CompletenessHeader, parseAscconv, readCompletenessHeaderFile } from '../src/pipeline/dicom/completeness-header.js';
import { declaredImageCount, wholeSeriesEvidence } from '../src/pipeline/dicom/series-whole.js';
import { writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { sharedData, sharedDataPresent } from './shared-data.js';

const DICOM = path.join(sharedData, 'dicom');
const HFS = path.join(DICOM, 'siemens-t1-patient-positions/HFS/3_t1_fl2d_sag');
const XA_CLASSIC = path.join(DICOM, 'siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');
const XA_ENHANCED = path.join(DICOM, 'siemens-xa30-t1-enhanced/5_anat-T1w_acq-tfl');
const CANON_CLASSIC = path.join(DICOM, 'canon-oblique-dwi/cl');
const present = sharedDataPresent('series-whole on real headers', HFS, XA_CLASSIC, XA_ENHANCED, CANON_CLASSIC);

async function headersOf(dir: string): Promise<CompletenessHeader[]> {
  const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
  const headers = await Promise.all(files.map(readCompletenessHeaderFile));
  return headers.sort((a, b) => (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0));
}

describe.runIf(present)('a series is provably whole from real scanner headers', () => {
  let hfs: CompletenessHeader[];
  let xa: CompletenessHeader[];
  beforeAll(async () => {
    hfs = await headersOf(HFS);
    xa = await headersOf(XA_CLASSIC);
  });

  it('a Siemens VE 2D series declares its 35 slices in the protocol, and its 35 files are whole', () => {
    expect(hfs).toHaveLength(35);
    expect(declaredImageCount(hfs[0])).toMatchObject({ count: 35 });
    const evidence = wholeSeriesEvidence(hfs);
    expect(evidence.whole).toBe(true);
    expect(evidence.reason).toContain('35 of 35 declared images');
  });

  it('the first 20 of those 35 slices are a regular stack, but not the whole series', () => {
    const evidence = wholeSeriesEvidence(hfs.slice(0, 20));
    expect(evidence).toMatchObject({ whole: false });
    expect(evidence.reason).toContain('20 of 35');
  });

  it('34 of 35 slices with one missing in the middle are not whole', () => {
    expect(wholeSeriesEvidence([...hfs.slice(0, 17), ...hfs.slice(18)]).whole).toBe(false);
  });

  it('35 instances whose InstanceNumbers or positions repeat are not whole, though the count matches', () => {
    const renumbered = hfs.map((h, k) => (k === 20 ? { ...h, instanceNumber: 20 } : h));
    expect(wholeSeriesEvidence(renumbered)).toMatchObject({ whole: false });
    const moved = hfs.map((h, k) => (k === 20 ? { ...h, imagePositionPatient: hfs[19].imagePositionPatient } : h));
    expect(wholeSeriesEvidence(moved).whole).toBe(false);
  });

  it('a Siemens XA30 3D series declares 1 slab of 96 images, and its 96 classic files are whole', () => {
    expect(xa).toHaveLength(96);
    expect(declaredImageCount(xa[0])).toMatchObject({ count: 96 });
    expect(wholeSeriesEvidence(xa)).toMatchObject({ whole: true });
    expect(wholeSeriesEvidence(xa.slice(0, 48)).whole).toBe(false);
  });

  it('an Enhanced MR instance holds every frame of its series', async () => {
    const enhanced = await headersOf(XA_ENHANCED);
    expect(enhanced).toHaveLength(1);
    const evidence = wholeSeriesEvidence(enhanced);
    expect(evidence.whole).toBe(true);
    expect(evidence.reason).toMatch(/Enhanced MR instance with all its \d+ frames/);
  });

  it('a series whose headers declare no count (Canon) is left to the idle rule', async () => {
    const canon = (await headersOf(CANON_CLASSIC)).slice(0, 30);
    expect(declaredImageCount(canon[0]).count).toBeUndefined();
    expect(wholeSeriesEvidence(canon).whole).toBe(false);
  });

  it('without its protocol the same complete VE series is not provably whole', () => {
    expect(wholeSeriesEvidence(hfs.map((h) => ({ ...h, protocol: undefined }))).whole).toBe(false);
  });
});

describe('declared counts', () => {
  it('a synthetic series without a declared count is left to the idle rule', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'series-whole-'));
    await writeSyntheticSeries(dir, { rows: 8, columns: 8, slices: 6 });
    const headers = await Promise.all(fs.readdirSync(dir).map((f) => readCompletenessHeaderFile(path.join(dir, f))));
    expect(headers.length).toBeGreaterThan(1);
    expect(wholeSeriesEvidence(headers)).toMatchObject({ whole: false });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('Images in Acquisition (GE) declares the count; several echoes or repetitions in the protocol do not', () => {
    const base = { imageType: ['ORIGINAL', 'PRIMARY'] };
    expect(declaredImageCount({ ...base, imagesInAcquisition: 124 })).toMatchObject({ count: 124 });
    const protocol = (extra: string) => parseAscconv(`### ASCCONV BEGIN object=MrProtDataImpl ###\nsSliceArray.lSize = 1\nsKSpace.ucDimension = 0x4\nsKSpace.lImagesPerSlab = 176\n${extra}\n### ASCCONV END ###`);
    expect(declaredImageCount({ ...base, protocol: protocol('') })).toMatchObject({ count: 176 });
    expect(declaredImageCount({ ...base, protocol: protocol('lContrasts = 2') }).count).toBeUndefined();
    expect(declaredImageCount({ ...base, protocol: protocol('lRepetitions = 9') }).count).toBeUndefined();
    expect(declaredImageCount({ imageType: ['DERIVED', 'SECONDARY'], protocol: protocol('') }).count).toBeUndefined();
    expect(declaredImageCount({ imageType: ['ORIGINAL', 'PRIMARY', 'M', 'MOSAIC'], protocol: protocol('') }).count).toBeUndefined();
  });
});
