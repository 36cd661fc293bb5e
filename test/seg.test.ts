// The brain SEG: BINARY, one frame per source slice (empty ones kept), each frame where its source slice is and
// referencing it in the per-frame group; coded segment; accepted by dciodvfy and readable by DCMTK.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { fromPart10, toPart10 } from '../src/pipeline/dicom/dcmjs.js';
import { buildSegmentation, packBits } from '../src/pipeline/derived/segmentation.js';
import { acquisition, algorithm, dciodvfy, dcmdump, hasTool, options, syntheticBrain, syntheticSource, tempDir } from './derived-fixtures.js';
import { SEGMENTATION_STORAGE } from '../src/dicom/uids.js';

function unpack(bytes: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let v = 0; v < n; v++) out[v] = (bytes[v >> 3] >> (v & 7)) & 1;
  return out;
}

test('bits are packed across frames, first pixel in the least significant bit', () => {
  expect([...packBits(new Uint8Array([1, 0, 0, 0, 0, 0, 0, 1, 1, 1]))]).toEqual([0b10000001, 0b00000011]);
});

for (const enhanced of [false, true]) {
  describe(`SEG of a${enhanced ? 'n Enhanced' : ' classic'} MR series`, () => {
    const source = syntheticSource(enhanced);
    const { mask } = syntheticBrain(source);
    const seg = buildSegmentation({ source, mask, algorithm, options, acquisition });
    const ds = fromPart10(toPart10(seg.dataset)).dataset;

    test('is a BINARY segmentation of the brain in the source study and frame of reference', () => {
      expect(ds.SOPClassUID).toBe(SEGMENTATION_STORAGE);
      expect(ds.Modality).toBe('SEG');
      expect(ds.SegmentationType).toBe('BINARY');
      expect(ds.BitsAllocated).toBe(1);
      expect(ds.StudyInstanceUID).toBe(source.studyInstanceUid);
      expect(ds.FrameOfReferenceUID).toBe(source.frameOfReferenceUid);
      expect(ds.Manufacturer).toBe('brainstrip');
      expect(ds.SeriesNumber).toBe(1006);
      const segment = (ds.SegmentSequence as any[])[0];
      expect(segment.SegmentLabel).toBe('Brain');
      expect(segment.SegmentedPropertyTypeCodeSequence[0]).toMatchObject({ CodeValue: '12738006', CodingSchemeDesignator: 'SCT' });
      expect(segment.SegmentedPropertyCategoryCodeSequence[0]).toMatchObject({ CodeValue: '91723000', CodingSchemeDesignator: 'SCT' });
      expect(segment.SegmentAlgorithmType).toBe('AUTOMATIC');
      expect(segment.SegmentAlgorithmName).toBe('brainstrip-unet 1.0.0 (INT8)');
      expect(segment.SegmentationAlgorithmIdentificationSequence[0].AlgorithmFamilyCodeSequence[0].CodeValue).toBe('123110');
    });

    test('has one frame per source slice, empty ones included, each positioned and referencing its source', () => {
      expect(Number(ds.NumberOfFrames)).toBe(source.frames.length);
      const perFrame = ds.PerFrameFunctionalGroupsSequence as any[];
      expect(perFrame).toHaveLength(source.frames.length);
      perFrame.forEach((group, k) => {
        const ref = group.DerivationImageSequence[0].SourceImageSequence[0];
        expect(ref.ReferencedSOPInstanceUID).toBe(source.frames[k].sopInstanceUid);
        if (enhanced) expect(Number(ref.ReferencedFrameNumber)).toBe(k + 1);
        expect(group.PlanePositionSequence[0].ImagePositionPatient.map(Number)).toEqual(source.frames[k].imagePositionPatient.map((v) => Number(v.toPrecision(10))));
        expect(group.SegmentIdentificationSequence[0].ReferencedSegmentNumber).toBe(1);
      });
      const referenced = (ds.ReferencedSeriesSequence as any[])[0];
      expect(referenced.SeriesInstanceUID).toBe(source.seriesInstanceUid);
      expect(referenced.ReferencedInstanceSequence).toHaveLength(new Set(source.frames.map((f) => f.sopInstanceUid)).size);
    });

    test('carries exactly the mask, frame by frame', () => {
      const bits = unpack(new Uint8Array((ds.PixelData as ArrayBuffer[])[0]), mask.data.length);
      expect(Buffer.from(bits).equals(Buffer.from(mask.data))).toBe(true);
      const frameLength = source.rows * source.columns;
      const emptyFrames = source.frames.filter((_, k) => mask.data.subarray(k * frameLength, (k + 1) * frameLength).every((v) => v === 0));
      expect(emptyFrames.length).toBeGreaterThan(0); // the sphere does not reach the first and last slices
    });

    test.skipIf(!hasTool('dciodvfy'))('passes dciodvfy without errors and DCMTK reads it', async () => {
      const file = path.join(tempDir('seg'), 'seg.dcm');
      fs.writeFileSync(file, toPart10(seg.dataset));
      const result = await dciodvfy(file);
      expect(result.errors, result.output).toEqual([]);
      const dump = await dcmdump(file, '+P', '0062,0005', '+P', '0028,0008');
      expect(dump).toContain('[Brain]');
    });
  });
}
