// The builders on real scanner data: the same XA30 acquisition exported as classic MR (one file per slice) and as
// Enhanced MR (one multi-frame file). Every object must pass dciodvfy, and classic and Enhanced outputs must put
// the same voxels at the same places.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { configureLogging } from '../src/log.js';
import { readMrAcquisition } from '../src/pipeline/derived/acquisition.js';
import { toPart10 } from '../src/pipeline/dicom/dcmjs.js';
import { buildSegmentation } from '../src/pipeline/derived/segmentation.js';
import { buildSkullStrippedSeries } from '../src/pipeline/derived/skull-stripped.js';
import { loadSeries } from '../src/pipeline/dicom/load-series.js';
import type { LoadedSeries } from '../src/pipeline/dicom/series.js';
import { algorithm, dciodvfy, hasTool, options, tempDir } from './derived-fixtures.js';
import { sharedData, sharedDataPresent } from './shared-data.js';

configureLogging({ level: 'warn', stream: 'stderr' });

const classicDir = path.join(sharedData, 'dicom/siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');
const enhancedDir = path.join(sharedData, 'dicom/siemens-xa30-t1-enhanced/5_anat-T1w_acq-tfl');
const haveData = sharedDataPresent('the derived-object tests on real data', classicDir, enhancedDir);

/** A stand-in brain mask (voxels brighter than a fifth of the maximum) — any mask exercises the builders. */
function thresholdMask(loaded: LoadedSeries) {
  const data = loaded.volume.data;
  let max = 0;
  for (const v of data) if (v > max) max = v;
  const mask = Uint8Array.from(data, (v) => (v > max / 5 ? 1 : 0));
  return { mask: { ...loaded.volume, data: mask } };
}

async function build(dir: string) {
  const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
  const loaded = await loadSeries(files);
  const acquisition = await readMrAcquisition(loaded.source.frames[0].path);
  const { mask } = thresholdMask(loaded);
  const derived = buildSkullStrippedSeries({ source: loaded.source, image: loaded.volume, mask, algorithm, options, acquisition });
  const seg = buildSegmentation({ source: loaded.source, mask, algorithm, options, acquisition });
  return { loaded, derived, seg, mask };
}

describe.skipIf(!haveData)('derived objects from the XA30 T1 series', () => {
  test.skipIf(!hasTool('dciodvfy'))('classic input: derived instances (first, middle, last) and the SEG pass dciodvfy', async () => {
    const { loaded, derived, seg } = await build(classicDir);
    expect(derived).toHaveLength(loaded.source.frames.length);
    const dir = tempDir('derived-classic');
    for (const o of [derived[0], derived[Math.floor(derived.length / 2)], derived[derived.length - 1], seg]) {
      const file = path.join(dir, `${o.sopInstanceUid}.dcm`);
      fs.writeFileSync(file, toPart10(o.dataset));
      const result = await dciodvfy(file);
      expect(result.errors, result.output).toEqual([]);
    }
    // The classic MR acquisition attributes come from the source, checked.
    expect(derived[0].dataset.ScanningSequence).toBeDefined();
  }, 120_000);

  test.skipIf(!hasTool('dciodvfy'))('Enhanced input: the Enhanced MR instance and the SEG pass dciodvfy', async () => {
    const { loaded, derived, seg } = await build(enhancedDir);
    expect(derived).toHaveLength(1);
    expect(derived[0].dataset.NumberOfFrames).toBe(String(loaded.source.frames.length));
    const dir = tempDir('derived-enhanced');
    for (const o of [derived[0], seg]) {
      const file = path.join(dir, `${o.sopInstanceUid}.dcm`);
      fs.writeFileSync(file, toPart10(o.dataset));
      const result = await dciodvfy(file);
      expect(result.errors, result.output).toEqual([]);
    }
  }, 120_000);

  test('SEG frames reference the source instance of their own slice, classic and Enhanced alike', async () => {
    for (const dir of [classicDir, enhancedDir]) {
      const { loaded, seg } = await build(dir);
      const perFrame = seg.dataset.PerFrameFunctionalGroupsSequence as any[];
      expect(perFrame).toHaveLength(loaded.source.frames.length);
      perFrame.forEach((group, k) => {
        const frame = loaded.source.frames[k];
        const ref = group.DerivationImageSequence[0].SourceImageSequence[0];
        expect(ref.ReferencedSOPInstanceUID).toBe(frame.sopInstanceUid);
        if (frame.frameNumber !== undefined) expect(ref.ReferencedFrameNumber).toBe(String(frame.frameNumber));
        expect(group.PlanePositionSequence[0].ImagePositionPatient.map(Number)).toEqual(frame.imagePositionPatient.map((v) => Number(v.toPrecision(10))));
      });
    }
  }, 120_000);

  test.skipIf(!hasTool('dciodvfy'))('other scanners and positions: a prone 2D series with gaps and an oblique Canon Enhanced DWI', async () => {
    const others = [
      path.join(sharedData, 'dicom/siemens-t1-patient-positions/HFP/2_t1_fl2d_sag'),
      path.join(sharedData, 'dicom/canon-oblique-dwi/enh'),
    ].filter((d) => fs.existsSync(d));
    const dir = tempDir('derived-other');
    for (const seriesDir of others) {
      const { derived, seg } = await build(seriesDir);
      for (const o of [derived[0], seg]) {
        const file = path.join(dir, `${o.sopInstanceUid}.dcm`);
        fs.writeFileSync(file, toPart10(o.dataset));
        const result = await dciodvfy(file);
        expect(result.errors, `${seriesDir}\n${result.output}`).toEqual([]);
      }
    }
  }, 180_000);
});
