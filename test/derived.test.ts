// The skull-stripped series: same patient, study and frame of reference as the source, on the source's own grid
// and in its own SOP class, with references back to each source image — and accepted by dciodvfy.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { toPart10, fromPart10 } from '../src/pipeline/dicom/dcmjs.js';
import { buildSegmentation } from '../src/pipeline/derived/segmentation.js';
import { buildSkullStrippedSeries } from '../src/pipeline/derived/skull-stripped.js';
import { acquisition, algorithm, dciodvfy, hasTool, options, syntheticBrain, syntheticSource, tempDir } from './derived-fixtures.js';
import { ENHANCED_MR_IMAGE_STORAGE, MR_IMAGE_STORAGE } from '../src/dicom/uids.js';

describe('skull-stripped series from a classic MR series', () => {
  const source = syntheticSource(false);
  const { image, brain, mask } = syntheticBrain(source);
  const objects = buildSkullStrippedSeries({ source, image, mask, algorithm, options, acquisition });

  test('has one MR Image instance per source instance, in a new series of the same study', () => {
    expect(objects).toHaveLength(source.frames.length);
    const seriesUids = new Set(objects.map((o) => o.seriesInstanceUid));
    expect(seriesUids.size).toBe(1);
    const [seriesUid] = seriesUids;
    expect(seriesUid).not.toBe(source.seriesInstanceUid);
    expect(seriesUid.startsWith(`${options.uidRoot}.`)).toBe(true);
    expect(new Set(objects.map((o) => o.sopInstanceUid)).size).toBe(objects.length);
    for (const o of objects) {
      expect(o.sopInstanceUid.length).toBeLessThanOrEqual(64);
      expect(o.sopInstanceUid.startsWith(`${options.uidRoot}.`)).toBe(true);
      expect(o.dataset.SOPClassUID).toBe(MR_IMAGE_STORAGE);
      expect(o.dataset.StudyInstanceUID).toBe(source.studyInstanceUid);
      expect(o.dataset.FrameOfReferenceUID).toBe(source.frameOfReferenceUid);
      expect(o.dataset.PatientID).toBe('PAT-0042');
      expect(o.dataset.ImageType).toEqual(['DERIVED', 'SECONDARY', 'OTHER']);
      expect(o.dataset.Manufacturer).toBe('brainstrip');
      expect(o.dataset.SeriesNumber).toBe('1005');
      expect(String(o.dataset.DerivationDescription)).toMatch(/brainstrip-unet 1\.0\.0 \(INT8\)/);
    }
  });

  test('keeps the suffix visible in a SeriesDescription of at most 64 characters', () => {
    const description = String(objects[0].dataset.SeriesDescription);
    expect([...description].length).toBeLessThanOrEqual(64);
    expect(description.endsWith('skull-stripped')).toBe(true);
  });

  test('puts each slice where its source slice is and references that source instance', () => {
    objects.forEach((o, k) => {
      expect(o.dataset.ImagePositionPatient).toEqual(source.frames[k].imagePositionPatient.map((v) => String(Number(v.toPrecision(10)))));
      expect(o.dataset.ImageOrientationPatient).toHaveLength(6);
      const ref = (o.dataset.SourceImageSequence as Record<string, unknown>[])[0];
      expect(ref.ReferencedSOPInstanceUID).toBe(source.frames[k].sopInstanceUid);
      expect(ref.ReferencedSOPClassUID).toBe(source.frames[k].sopClassUid);
      expect(o.dataset.InstanceNumber).toBe(String(k + 1));
    });
  });

  test('stores the brain with a zero background and a window that fits it', () => {
    const frameLength = source.rows * source.columns;
    objects.forEach((o, k) => {
      const pixels = new Uint16Array((o.dataset.PixelData as ArrayBuffer[])[0]);
      expect(pixels.length).toBe(frameLength);
      for (let p = 0; p < frameLength; p++) expect(pixels[p]).toBe(Math.round(brain.data[k * frameLength + p]));
    });
    const center = Number(objects[0].dataset.WindowCenter);
    const width = Number(objects[0].dataset.WindowWidth);
    expect(center - width / 2).toBeGreaterThanOrEqual(99);
    expect(center + width / 2).toBeLessThanOrEqual(901);
  });

  test('writes text as UTF-8 (ISO_IR 192) and drops source values that do not conform to their VR', () => {
    const file = fromPart10(toPart10(objects[0].dataset)).dataset;
    expect(file.SpecificCharacterSet).toBe('ISO_IR 192');
    expect((file.PatientName as Array<{ Alphabetic: string }>)[0].Alphabetic).toBe('Müller^Jürgen');
    expect(file.StudyDescription).toBe('Kopf – Übersicht');
    expect(file.SeriesTime).not.toBe('10:10:10');
  });

  test('gives the same UIDs when the same instances are processed by the same model again, and new ones otherwise', () => {
    const again = buildSkullStrippedSeries({ source, image, mask, algorithm, options: { ...options, now: new Date() }, acquisition });
    expect(again.map((o) => o.sopInstanceUid)).toEqual(objects.map((o) => o.sopInstanceUid));
    const newModel = buildSkullStrippedSeries({ source, image, mask, algorithm: { ...algorithm, version: '1.0.1' }, options, acquisition });
    expect(newModel[0].seriesInstanceUid).not.toBe(objects[0].seriesInstanceUid);
  });

  test.skipIf(!hasTool('dciodvfy'))('a result flagged for review says so in ImageComments and the SeriesDescription, and still validates', async () => {
    const reviewNote = 'brainstrip quality check: review before use';
    const flagged = buildSkullStrippedSeries({ source, image, mask, algorithm, options: { ...options, reviewNote }, acquisition });
    expect(flagged[0].dataset.ImageComments).toBe(reviewNote);
    expect(String(flagged[0].dataset.SeriesDescription)).toMatch(/skull-stripped \[review\]$/);
    expect([...String(flagged[0].dataset.SeriesDescription)].length).toBeLessThanOrEqual(64);
    const seg = buildSegmentation({ source, mask: syntheticBrain(source).mask, algorithm, options: { ...options, reviewNote }, acquisition });
    expect(seg.dataset.ImageComments).toBe(reviewNote);
    const dir = tempDir('derived-review');
    for (const o of [flagged[0], seg]) {
      const file = path.join(dir, `${o.kind}.dcm`);
      fs.writeFileSync(file, toPart10(o.dataset));
      const result = await dciodvfy(file);
      expect(result.errors, result.output).toEqual([]);
    }
  });

  test('refuses a volume that is not on the source grid, naming the series', () => {
    const wrong = { ...image, dims: [image.dims[1], image.dims[0], image.dims[2]] as [number, number, number] };
    expect(() => buildSkullStrippedSeries({ source, image: wrong, mask, algorithm, options, acquisition })).toThrow(source.seriesInstanceUid);
  });

  test.skipIf(!hasTool('dciodvfy'))('passes dciodvfy without errors', async () => {
    const dir = tempDir('derived');
    for (const k of [0, objects.length - 1]) {
      const file = path.join(dir, `${k}.dcm`);
      fs.writeFileSync(file, toPart10(objects[k].dataset));
      const result = await dciodvfy(file);
      expect(result.errors, result.output).toEqual([]);
    }
  });
});

describe('skull-stripped series from an Enhanced MR series', () => {
  const source = syntheticSource(true);
  const { image, brain, mask } = syntheticBrain(source);
  const objects = buildSkullStrippedSeries({ source, image, mask, algorithm, options, acquisition });

  test('is one Enhanced MR instance with one frame per source frame, each referencing its source frame', () => {
    expect(objects).toHaveLength(1);
    const ds = objects[0].dataset;
    expect(ds.SOPClassUID).toBe(ENHANCED_MR_IMAGE_STORAGE);
    expect(ds.NumberOfFrames).toBe(String(source.frames.length));
    const perFrame = ds.PerFrameFunctionalGroupsSequence as Record<string, any>[];
    expect(perFrame).toHaveLength(source.frames.length);
    perFrame.forEach((group, k) => {
      const ref = group.DerivationImageSequence[0].SourceImageSequence[0];
      expect(ref.ReferencedSOPInstanceUID).toBe(source.frames[k].sopInstanceUid);
      expect(ref.ReferencedFrameNumber).toBe(String(k + 1));
      expect(group.PlanePositionSequence[0].ImagePositionPatient.map(Number)).toEqual(source.frames[k].imagePositionPatient.map((v) => Number(v.toPrecision(10))));
    });
    expect(new Uint16Array((ds.PixelData as ArrayBuffer[])[0]).length).toBe(brain.data.length);
  });

  test.skipIf(!hasTool('dciodvfy'))('passes dciodvfy without errors', async () => {
    const file = path.join(tempDir('derived-enh'), 'enhanced.dcm');
    fs.writeFileSync(file, toPart10(objects[0].dataset));
    const result = await dciodvfy(file);
    expect(result.errors, result.output).toEqual([]);
  });
});
