// The skull-stripped image holds the source's own stored values inside the mask, for every encoding a scanner
// uses (8 to 16 bits, unsigned and signed, with and without Rescale Slope/Intercept), and states the encoding,
// rescale and window that go with them. Checked voxel by voxel on the written Part-10 files, decoded by the same
// code that reads what the node receives.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { configureLogging } from '../src/log.js';
import { toPart10 } from '../src/pipeline/dicom/dcmjs.js';
import { loadSeries } from '../src/pipeline/dicom/load-series.js';
import { decodePixelData } from '../src/pipeline/dicom/pixels.js';
import { buildSkullStrippedSeries } from '../src/pipeline/derived/skull-stripped.js';
import { type SyntheticSeries, writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { acquisition, algorithm, dciodvfy, hasTool, options, syntheticBrain, syntheticSource, tempDir } from './derived-fixtures.js';

configureLogging({ level: 'warn', stream: 'stderr' });

const rows = 24;
const columns = 20;
const slices = 6;

/** A head-like pattern: an ellipse of tissue (values spread over [low, high]) in air at `low`. */
function pattern(low: number, high: number) {
  return (i: number, j: number, k: number) => {
    const r = Math.hypot((i - 10) / 9, (j - 12) / 11);
    if (r > 1) return low;
    return Math.round(low + (high - low) * (0.15 + 0.85 * ((i * 7 + j * 13 + k * 29) % 97) / 96));
  };
}

/** A mask that cuts through the tissue and takes in some air: every value inside it must survive. */
function maskOf(dims: [number, number, number]): Uint8Array {
  const mask = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let k = 0, v = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++, v++) mask[v] = Math.hypot((i - 9) / 8, (j - 11) / 9) <= 1 && k > 0 ? 1 : 0;
  return mask;
}

interface Encoding {
  name: string;
  spec: Partial<SyntheticSeries>;
  /** Stored values' range the pattern spans. */
  low: number;
  high: number;
}

const ENCODINGS: Encoding[] = [
  { name: '8-bit unsigned', spec: { bitsAllocated: 8 }, low: 0, high: 255 },
  { name: '8-bit signed', spec: { bitsAllocated: 8, signed: true }, low: -128, high: 127 },
  { name: '12-bit unsigned', spec: { bitsStored: 12 }, low: 3, high: 4095 },
  { name: '16-bit unsigned', spec: {}, low: 0, high: 65535 },
  { name: '16-bit signed with negatives', spec: { signed: true }, low: -600, high: 1348 },
  { name: '12-bit signed, all negative air', spec: { signed: true, bitsStored: 12 }, low: -2048, high: 2047 },
  { name: '12-bit unsigned with RescaleSlope 2.5 and RescaleIntercept −1024', spec: { bitsStored: 12, rescaleSlope: 2.5, rescaleIntercept: -1024 }, low: 0, high: 4095 },
  { name: '16-bit signed with RescaleSlope 0.37 and RescaleIntercept 12.5', spec: { signed: true, rescaleSlope: 0.37, rescaleIntercept: 12.5 }, low: -32768, high: 32767 },
  { name: '16-bit unsigned with RescaleIntercept 1000 (no real-world 0)', spec: { rescaleIntercept: 1000 }, low: 17, high: 3000 },
  { name: '16-bit signed with negatives, JPEG-LS lossless', spec: { signed: true, transferSyntaxUid: '1.2.840.10008.1.2.4.80' }, low: -1000, high: 3000 },
];

describe('the skull-stripped image keeps the source’s stored values inside the mask', () => {
  for (const e of ENCODINGS) {
    test(e.name, async () => {
      const dir = tempDir('derived-pixels');
      const written = await writeSyntheticSeries(path.join(dir, 'source'), { rows, columns, slices, value: pattern(e.low, e.high), ...e.spec });
      const { volume, source } = await loadSeries(written.paths);
      const mask = { ...volume, data: maskOf(volume.dims) };
      const derived = buildSkullStrippedSeries({ source, image: volume, mask, algorithm, options, acquisition });
      expect(derived).toHaveLength(slices);

      const slope = e.spec.rescaleSlope ?? 1;
      const intercept = e.spec.rescaleIntercept ?? 0;
      // Background: real-world 0, or the source's darkest value where that is lower; as the encoding can hold it.
      let darkest = Infinity;
      for (const x of volume.data) darkest = Math.min(darkest, x);
      const [minStored, maxStored] = e.spec.signed ? [-(2 ** ((e.spec.bitsStored ?? 16) - 1)), 2 ** ((e.spec.bitsStored ?? 16) - 1) - 1] : [0, 2 ** (e.spec.bitsStored ?? e.spec.bitsAllocated ?? 16) - 1];
      const background = Math.min(maxStored, Math.max(minStored, Math.round((Math.min(0, darkest) - intercept) / slope)));

      const frameLength = rows * columns;
      let inside = 0;
      let negativeInside = 0;
      for (const [k, object] of derived.entries()) {
        const file = path.join(dir, `derived-${k}.dcm`);
        fs.writeFileSync(file, toPart10(object.dataset));
        const ds = object.dataset;
        expect(ds.PixelRepresentation).toBe(e.spec.signed ? 1 : 0);
        expect(ds.BitsStored).toBe(e.spec.bitsStored ?? e.spec.bitsAllocated ?? 16);
        expect(ds.HighBit).toBe(ds.BitsStored - 1);
        if (slope !== 1 || intercept !== 0) expect([Number(ds.RescaleSlope), Number(ds.RescaleIntercept)]).toEqual([slope, intercept]);
        else expect(ds.RescaleSlope ?? '1').toBe('1');
        const frame = source.frames[k];
        const [ours, theirs] = await Promise.all([decodePixelData(file), decodePixelData(frame.path)]);
        const got = ours.frames[0];
        const want = theirs.frames[0];
        for (let p = 0; p < frameLength; p++) {
          if (mask.data[k * frameLength + p]) {
            inside++;
            if (want[p] < 0) negativeInside++;
            if (got[p] !== want[p]) expect(got[p], `slice ${k} pixel ${p}: the source stores ${want[p]}`).toBe(want[p]);
          } else if (got[p] !== background) expect(got[p], `slice ${k} pixel ${p} outside the mask`).toBe(background);
        }
        // The window lies over the brain's real-world values.
        const center = Number(ds.WindowCenter);
        const width = Number(ds.WindowWidth);
        const tolerance = 1e-6 * (e.high - e.low) * slope; // Float32 real-world values
        expect(center - width / 2).toBeGreaterThanOrEqual(e.low * slope + intercept - tolerance);
        expect(center + width / 2).toBeLessThanOrEqual(e.high * slope + intercept + tolerance);
      }
      expect(inside).toBeGreaterThan(1000);
      if (e.low < 0) expect(negativeInside).toBeGreaterThan(100);

      // Read back as a series, the derived image gives the source's real-world values inside the mask.
      const back = await loadSeries(derived.map((_, k) => path.join(dir, `derived-${k}.dcm`)));
      for (let v = 0; v < volume.data.length; v++) if (mask.data[v] && back.volume.data[v] !== volume.data[v]) expect(back.volume.data[v], `voxel ${v}`).toBe(volume.data[v]);

      if (hasTool('dciodvfy')) {
        const result = await dciodvfy(path.join(dir, 'derived-1.dcm'));
        expect(result.errors, result.output).toEqual([]);
      } else if (process.env.CI) throw new Error('dciodvfy (dicom3tools) is not installed');
    }, 60_000);
  }
});

describe('an Enhanced MR source keeps its encoding and per-frame rescale', () => {
  test('signed values with a different rescale per frame, voxel by voxel', async () => {
    const source = syntheticSource(true);
    source.storedEncoding = { bitsAllocated: 16, bitsStored: 16, signed: true };
    source.frames.forEach((f, k) => (f.rescale = { slope: 0.5 + 0.25 * k, intercept: 100 - 100 * k }));
    const { mask } = syntheticBrain(source);
    const frameLength = source.rows * source.columns;
    // Real-world values of stored values −700…1300 under each frame's rescale.
    const stored = Int16Array.from({ length: mask.data.length }, (_, v) => ((v * 37) % 2000) - 700);
    const image = { ...mask, data: Float32Array.from(stored, (s, v) => s * source.frames[Math.floor(v / frameLength)].rescale!.slope + source.frames[Math.floor(v / frameLength)].rescale!.intercept) };
    const [object] = buildSkullStrippedSeries({ source, image, mask, algorithm, options, acquisition });
    const ds = object.dataset;
    expect(ds.PixelRepresentation).toBe(1);
    const pixels = new Int16Array((ds.PixelData as ArrayBuffer[])[0]);
    for (let v = 0; v < pixels.length; v++) if (mask.data[v] && pixels[v] !== stored[v]) expect(pixels[v], `voxel ${v}`).toBe(stored[v]);
    const perFrame = ds.PerFrameFunctionalGroupsSequence as Record<string, any>[];
    perFrame.forEach((group, k) => {
      const { RescaleSlope, RescaleIntercept } = group.PixelValueTransformationSequence[0];
      expect([Number(RescaleSlope), Number(RescaleIntercept)]).toEqual([source.frames[k].rescale!.slope, source.frames[k].rescale!.intercept]);
    });
    expect((ds.SharedFunctionalGroupsSequence as Record<string, any>[])[0].PixelValueTransformationSequence).toBeUndefined();
    if (hasTool('dciodvfy')) {
      const file = path.join(tempDir('derived-pixels-enh'), 'enhanced.dcm');
      fs.writeFileSync(file, toPart10(ds));
      const result = await dciodvfy(file);
      expect(result.errors, result.output).toEqual([]);
    } else if (process.env.CI) throw new Error('dciodvfy (dicom3tools) is not installed');
  });
});

describe('a source wider than 16 bits', () => {
  test('is stored unsigned over 16 bits with a rescale of its own that gives back its values to within a step', () => {
    const source = syntheticSource(false);
    source.storedEncoding = { bitsAllocated: 32, bitsStored: 32, signed: false };
    const { mask } = syntheticBrain(source);
    const image = { ...mask, data: Float32Array.from(mask.data, (_, v) => 100_000 + ((v * 7919) % 3_000_000)) };
    const objects = buildSkullStrippedSeries({ source, image, mask, algorithm, options, acquisition });
    const frameLength = source.rows * source.columns;
    for (const [k, object] of objects.entries()) {
      const ds = object.dataset;
      expect([ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation]).toEqual([16, 16, 0]);
      const slope = Number(ds.RescaleSlope);
      const intercept = Number(ds.RescaleIntercept);
      const pixels = new Uint16Array((ds.PixelData as ArrayBuffer[])[0]);
      for (let p = 0; p < frameLength; p++) {
        const v = k * frameLength + p;
        const value = pixels[p] * slope + intercept;
        if (mask.data[v]) expect(Math.abs(value - image.data[v])).toBeLessThanOrEqual(slope / 2 + 1e-6 * image.data[v]);
        else expect(value).toBeCloseTo(0, 6);
      }
    }
  });
});
