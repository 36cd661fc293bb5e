// The result set on disk: only its manifest is fsynced, so a file a crash left short or garbled must be caught
// by its checksum before the set is reused or sent.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readResultSet, writeResultSet } from '../src/jobs/processing/result-set.js';
import type { DicomObject } from '../src/pipeline/derived/objects.js';
import { MR_IMAGE_STORAGE } from '../src/dicom/uids.js';

function object(n: number): DicomObject {
  const uid = `1.2.826.0.1.3680043.10.999.${n}`;
  return {
    kind: 'derived',
    sopClassUid: MR_IMAGE_STORAGE,
    sopInstanceUid: uid,
    seriesInstanceUid: '1.2.826.0.1.3680043.10.999.100',
    dataset: { SOPClassUID: MR_IMAGE_STORAGE, SOPInstanceUID: uid, PatientName: [{ Alphabetic: 'Test^Result' }], InstanceNumber: n },
  };
}

describe('result set', () => {
  const meta = { inputKey: 'key-1', model: { name: 'm', version: '1', precision: 'INT8' }, summary: {} };

  it('is read back whole, with a checksum per object, and only for the input it was computed from', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-results-'));
    const written = writeResultSet(dir, [object(1), object(2), object(3)], meta);
    expect(written.objects.every((o) => /^[0-9a-f]{64}$/.test(o.sha256 ?? ''))).toBe(true);
    expect(readResultSet(dir, 'key-1')?.objects.map((o) => o.sopInstanceUid)).toEqual(written.objects.map((o) => o.sopInstanceUid));
    expect(readResultSet(dir, 'another input')).toBeUndefined();
  });

  it('a garbled or truncated file makes the set unusable (computed again), unless only shown', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-results-'));
    const written = writeResultSet(dir, [object(1), object(2)], meta);
    const file = written.objects[1].path;
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 3] ^= 0xff;
    fs.writeFileSync(file, bytes);
    expect(readResultSet(dir, 'key-1')).toBeUndefined();
    expect(readResultSet(dir, 'key-1', { verify: false })).toBeDefined();
    fs.writeFileSync(file, bytes.subarray(0, 100));
    expect(readResultSet(dir, 'key-1')).toBeUndefined();
    fs.rmSync(file);
    expect(readResultSet(dir, 'key-1', { verify: false })).toBeUndefined();
  });
});
