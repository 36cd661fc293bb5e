// The loader as a specification: synthetic series with a known answer (geometry, values, several volumes),
// every transfer syntax of the real test image, and malformed input that must be refused with a clear reason
// naming the series — never a crash, never a wrong volume.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Dataset, dcmjs, parsePart10 } from '../src/pipeline/dicom/dcmjs.js';
import { AmbiguousSeriesError, SeriesError } from '../src/pipeline/dicom/errors.js';
import { loadVolume } from '../src/pipeline/dicom/load-input.js';
import { listSeries, loadSeries } from '../src/pipeline/dicom/load-series.js';
import { decodePixelData } from '../src/pipeline/dicom/pixels.js';
import { type SyntheticSeries, newUid, writeSyntheticSeries } from '../src/ops/synthetic-series.js';
import { applyToPoint, indexToWorld } from '../src/pipeline/space/geometry.js';
import { sharedData, sharedDataPresent } from './shared-data.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, JPEG_2000_LOSSLESS, JPEG_LOSSLESS_SV1, JPEG_LS_LOSSLESS, MR_IMAGE_STORAGE, RLE_LOSSLESS } from '../src/dicom/uids.js';
import { hasTool } from './tools.js';

const TS_DIR = path.join(sharedData, 'dicom/transfer-syntaxes');
const haveTs = sharedDataPresent('the transfer-syntax files of dicom-load', TS_DIR);
const haveDcmodify = hasTool('dcmodify', 'the character-set cases of dicom-load');

let work: string;
let counter = 0;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'dicom-load-'));
});

async function series(spec: Partial<SyntheticSeries> = {}) {
  return writeSyntheticSeries(path.join(work, `s${counter++}`), { rows: 12, columns: 16, slices: 8, ...spec });
}

/** Rewrites one Part-10 file after changing its (naturalized) dataset. */
function rewrite(file: string, change: (d: Dataset) => void): void {
  const { dataset } = parsePart10(fs.readFileSync(file));
  change(dataset);
  dataset._meta = { TransferSyntaxUID: { Value: [EXPLICIT_VR_LITTLE_ENDIAN] } };
  const toBuffer = (dcmjs.data as unknown as { datasetToBuffer(d: Dataset): Buffer }).datasetToBuffer;
  fs.writeFileSync(file, toBuffer(dataset));
}

async function refusal(promise: Promise<unknown>): Promise<SeriesError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SeriesError);
  return error as SeriesError;
}

const c20 = Math.cos((20 * Math.PI) / 180);
const s20 = Math.sin((20 * Math.PI) / 180);

describe('a classic series becomes a volume in patient space', () => {
  it('orders slices along the slice normal, not by InstanceNumber or file name, with spacing from positions', async () => {
    const s = await series({ pixelSpacing: [0.8, 0.9], sliceSpacing: 2.5, origin: [10, -20, 30], imageOrientationPatient: [c20, s20, 0, 0, 0, -1] });
    const { volume, source } = await loadSeries([...s.paths].reverse());
    expect(volume.dims).toEqual([16, 12, 8]);
    expect(volume.spacing[0]).toBeCloseTo(0.9, 9);
    expect(volume.spacing[1]).toBeCloseTo(0.8, 9);
    expect(volume.spacing[2]).toBeCloseTo(2.5, 9);
    expect(volume.origin).toEqual([10, -20, 30]);
    // k runs along row × column = (c20, s20, 0) × (0, 0, -1) = (-s20, c20, 0).
    expect(volume.direction[2][0]).toBeCloseTo(-s20, 9);
    expect(volume.direction[2][1]).toBeCloseTo(c20, 9);
    // Values: the synthetic value of column i, row j, slice k is (i + 2j + 3k) mod 4096.
    for (const [i, j, k] of [[0, 0, 0], [15, 11, 7], [3, 5, 6]]) expect(volume.data[i + 16 * (j + 12 * k)]).toBe(i + 2 * j + 3 * k);
    // Each frame record says where its slice lies, and the grid agrees.
    const m = indexToWorld(volume);
    source.frames.forEach((f, k) => applyToPoint(m, [0, 0, k]).forEach((x, a) => expect(x).toBeCloseTo(f.imagePositionPatient[a], 9)));
  });

  it('handles a stack whose normal points against the acquisition order (feet-first style)', async () => {
    const s = await series({ imageOrientationPatient: [-1, 0, 0, 0, 1, 0], origin: [5, 5, 5], sliceSpacing: 3 });
    const { volume } = await loadSeries(s.paths);
    // row × column = (-1,0,0) × (0,1,0) = (0,0,-1): slices go inferior, and k follows them.
    expect(volume.direction[2]).toEqual([0, 0, -1]);
    expect(volume.origin).toEqual([5, 5, 5]);
    expect(applyToPoint(indexToWorld(volume), [0, 0, 7])[2]).toBeCloseTo(5 - 21, 9);
  });

  it('applies Rescale Slope and Intercept and keeps signed values', async () => {
    const s = await series({ signed: true, value: (i, j, k) => i - 8 + 100 * k - 400, rescaleSlope: 0.5, rescaleIntercept: 10 });
    const { volume } = await loadSeries(s.paths);
    expect(volume.data[0]).toBe((0 - 8 - 400) * 0.5 + 10);
    expect(volume.data[15 + 16 * 12 * 7]).toBe((15 - 8 + 700 - 400) * 0.5 + 10);
  });

  it('fills SourceSeries for derived objects: UIDs, grid attributes, frames in slice order, Unicode attributes', async () => {
    const s = await series({ attributes: { PatientName: [{ Alphabetic: 'Müller^Zoë' }], SeriesDescription: 'T1 sag 1 mm – test' } });
    const { source, volume } = await loadSeries(s.paths);
    expect(source.seriesInstanceUid).toBe(s.seriesInstanceUid);
    expect(source.studyInstanceUid).toBe(s.studyInstanceUid);
    expect(source.frameOfReferenceUid).toMatch(/^2\.25\./);
    expect(source.sopClassUid).toBe(MR_IMAGE_STORAGE);
    expect(source.enhanced).toBe(false);
    expect(source.modality).toBe('MR');
    expect([source.rows, source.columns]).toEqual([12, 16]);
    expect(source.frames).toHaveLength(volume.dims[2]);
    expect(new Set(source.frames.map((f) => f.sopInstanceUid)).size).toBe(8);
    expect(source.frames.every((f) => f.frameNumber === undefined && s.paths.includes(f.path))).toBe(true);
    expect(source.seriesDescription).toBe('T1 sag 1 mm – test');
    expect((source.attributes.PatientName as { Alphabetic: string }[])[0].Alphabetic).toBe('Müller^Zoë');
    expect(source.attributes.PatientID).toBe('SYNTH-1');
  });

  it('ignores the same instance received twice', async () => {
    const s = await series();
    const copy = path.join(path.dirname(s.paths[0]), 'resent.dcm');
    fs.copyFileSync(s.paths[3], copy);
    const { volume } = await loadSeries([...s.paths, copy]);
    expect(volume.dims[2]).toBe(8);
  });
});

describe.skipIf(!haveDcmodify)('attributes are decoded with the source SpecificCharacterSet', () => {
  // DCMTK writes the raw bytes we give it: Latin-1 for ISO_IR 100, ISO 2022 escapes for Japanese (IR 87).
  for (const [charset, name, encoded] of [
    ['ISO_IR 100', 'Müller^Jörg', Buffer.from('Müller^Jörg', 'latin1')],
    [
      '\\ISO 2022 IR 87',
      'Yamada^Tarou=山田^太郎=やまだ^たろう',
      // ESC $ B switches to JIS X 0208, ESC ( B back to ASCII (PS3.5 annex H example, encoded by iconv).
      execFileSync('iconv', ['-f', 'UTF-8', '-t', 'ISO-2022-JP'], { input: 'Yamada^Tarou=山田^太郎=やまだ^たろう' }),
    ],
  ] as [string, string, Buffer][]) {
    it(`${charset}: ${name}`, async () => {
      const s = await series({ slices: 3 });
      const script = path.join(work, `charset-${counter++}.sh`);
      // The value goes through a file so that non-UTF-8 bytes reach dcmodify unchanged.
      fs.writeFileSync(`${script}.name`, encoded);
      fs.writeFileSync(script, `dcmodify -nb -m "(0008,0005)=${charset.replace(/\\/g, '\\\\')}" -m "(0010,0010)=$(cat '${script}.name')" "$@"\n`);
      execFileSync('bash', [script, ...s.paths]);
      const { source } = await loadSeries(s.paths);
      const [alphabetic, ideographic, phonetic] = name.split('=');
      const patientName = (source.attributes.PatientName as Record<string, string>[])[0];
      expect(patientName.Alphabetic).toBe(alphabetic);
      if (ideographic) expect(patientName.Ideographic).toBe(ideographic);
      if (phonetic) expect(patientName.Phonetic).toBe(phonetic);
      expect(source.attributes.SpecificCharacterSet).toBe('ISO_IR 192');
    });
  }
});

describe('several volumes at the same positions (diffusion, multi-echo) are split on purpose', () => {
  const spec = { volumes: 3, value: (_i: number, _j: number, k: number, v: number) => 1000 * v + k };
  it('takes the first volume by default, the last or a chosen one on request, and refuses when configured to', async () => {
    const s = await series(spec);
    const first = await loadSeries(s.paths);
    expect(first.volume.dims).toEqual([16, 12, 8]);
    expect(first.volume.data[16 * 12 * 5]).toBe(5);
    expect(first.source.frames).toHaveLength(8);
    expect((await loadSeries(s.paths, { multiVolume: 'last' })).volume.data[16 * 12 * 5]).toBe(2005);
    expect((await loadSeries(s.paths, { volumeIndex: 1 })).volume.data[16 * 12 * 5]).toBe(1005);
    expect((await refusal(loadSeries(s.paths, { multiVolume: 'refuse' }))).message).toMatch(/3 volumes at the same slice positions/);
    expect((await refusal(loadSeries(s.paths, { volumeIndex: 3 }))).message).toMatch(/volume 3 requested/);
  });

  it('refuses a multi-volume series with a frame missing at one position', async () => {
    const s = await series(spec);
    const error = await refusal(loadSeries(s.paths.slice(1)));
    expect(error.message).toMatch(/different numbers of frames/);
    expect(error.message).toContain(s.seriesInstanceUid);
  });
});

describe('what is not one volume is refused with a reason that names the series', () => {
  it('a single 2D image', async () => {
    const s = await series({ slices: 1 });
    const error = await refusal(loadSeries(s.paths));
    expect(error.message).toMatch(/single 2D image/);
    expect(error.message).toContain(s.seriesInstanceUid);
  });

  it('a missing slice (irregular spacing)', async () => {
    const s = await series({ slices: 10 });
    const { volume } = await loadSeries(s.paths);
    const middle = s.paths.filter((p) => {
      const { dataset } = parsePart10(fs.readFileSync(p), true);
      return Math.abs(dataset.ImagePositionPatient[2] - applyToPoint(indexToWorld(volume), [0, 0, 4])[2]) < 1e-6;
    });
    const error = await refusal(loadSeries(s.paths.filter((p) => p !== middle[0])));
    expect(error.message).toMatch(/irregular slice spacing.*missing slices/);
    expect(error.message).toContain(s.seriesInstanceUid);
  });

  it('a sheared stack (slices shifted within their plane, as with gantry tilt)', async () => {
    const s = await series({ positionOf: (k) => [0.5 * k, 0, 2 * k] });
    const error = await refusal(loadSeries(s.paths));
    expect(error.message).toMatch(/shifted within their plane/);
    expect(error.message).toContain(s.seriesInstanceUid);
  });

  it('but not positions that differ only by the rounding of their decimal strings', async () => {
    const s = await series({ positionOf: (k) => [Number((1e-4 * Math.sin(k)).toFixed(5)), 0, Number((2.1 * k + 1e-4 * Math.cos(k)).toFixed(5))] });
    const { volume } = await loadSeries(s.paths);
    expect(volume.spacing[2]).toBeCloseTo(2.1, 3);
  });

  it('mixed orientations (a three-plane localizer)', async () => {
    const uid = newUid();
    const axial = await series({ slices: 4, attributes: { SeriesInstanceUID: uid } });
    const coronal = await series({ slices: 4, imageOrientationPatient: [1, 0, 0, 0, 0, -1], attributes: { SeriesInstanceUID: uid } });
    const error = await refusal(loadSeries([...axial.paths, ...coronal.paths]));
    expect(error.message).toMatch(/2 different image orientations/);
    expect(error.message).toContain(uid);
  });

  it('several series given as one, unless one is chosen', async () => {
    const a = await series();
    const b = await series();
    await expect(loadSeries([...a.paths, ...b.paths])).rejects.toBeInstanceOf(AmbiguousSeriesError);
    const chosen = await loadSeries([...a.paths, ...b.paths], { seriesInstanceUid: b.seriesInstanceUid });
    expect(chosen.source.seriesInstanceUid).toBe(b.seriesInstanceUid);
  });
});

describe('malformed input gives a clear error, never a crash or a wrong volume', () => {
  it('a file truncated inside the pixel data', async () => {
    const s = await series({ rows: 64, columns: 64 });
    const bytes = fs.readFileSync(s.paths[2]);
    fs.writeFileSync(s.paths[2], bytes.subarray(0, bytes.length - 1000));
    const error = await refusal(loadSeries(s.paths));
    expect(error.message).toMatch(/shorter than declared|truncated/);
    expect(error.message).toContain(s.seriesInstanceUid);
  });

  for (const [name, uid] of [['uncompressed', EXPLICIT_VR_LITTLE_ENDIAN], ['JPEG-LS', JPEG_LS_LOSSLESS], ['RLE', RLE_LOSSLESS]]) {
    it(`a${name === 'uncompressed' ? 'n' : ''} ${name} file truncated anywhere inside its pixel data`, async () => {
      const s = await series({ rows: 32, columns: 32, transferSyntaxUid: uid, value: (i, j, k) => (i * 31 + j * 17 + k) % 3000 });
      const intact = Array.from((await loadSeries(s.paths)).volume.data);
      const whole = fs.readFileSync(s.paths[3]);
      for (const cut of [1, 2, 7, 8, 9, 12, 100, 500]) {
        if (cut >= whole.length - 400) continue;
        fs.writeFileSync(s.paths[3], whole.subarray(0, whole.length - cut));
        // Either refused with the series named, or (when only the end-of-sequence marker was lost) the same volume.
        const outcome = await loadSeries(s.paths).then((r) => Array.from(r.volume.data), (e: unknown) => e);
        if (Array.isArray(outcome)) expect(outcome, `cut ${cut} bytes`).toEqual(intact);
        else {
          expect(outcome, `cut ${cut} bytes`).toBeInstanceOf(SeriesError);
          expect((outcome as Error).message).toContain(s.seriesInstanceUid);
        }
      }
    });
  }

  it('a file truncated anywhere inside the header', async () => {
    const s = await series();
    const whole = fs.readFileSync(s.paths[0]);
    for (let length = 0; length < whole.length - 12 * 16 * 2; length += 37) {
      fs.writeFileSync(s.paths[0], whole.subarray(0, length));
      const error = await refusal(loadSeries(s.paths));
      expect(error.message).toMatch(/not a readable DICOM|truncated|missing/);
      expect(error.identifiers.path ?? error.identifiers.seriesInstanceUid).toBeTruthy();
    }
  });

  it('a slice without ImagePositionPatient', async () => {
    const s = await series();
    rewrite(s.paths[5], (d) => delete d.ImagePositionPatient);
    const error = await refusal(loadSeries(s.paths));
    expect(error.message).toMatch(/ImagePositionPatient is missing/);
    expect(error.message).toContain(s.seriesInstanceUid);
  });

  for (const [name, tag, written] of [['RescaleSlope', 0x1053, 'abc '], ['RescaleIntercept', 0x1052, '-x25']] as const) {
    it(`a ${name} that is not a number is named in the reason`, async () => {
      const s = await series({ rescaleSlope: 0.25, rescaleIntercept: 1.25 });
      // Written over the value's own bytes: dcmjs would not write a DS that is not a number.
      const bytes = fs.readFileSync(s.paths[2]);
      const at = bytes.indexOf(Buffer.from([0x28, 0x00, tag & 0xff, tag >> 8, 0x44, 0x53]));
      expect(bytes.readUInt16LE(at + 6)).toBe(4);
      bytes.write(written, at + 8, 'latin1');
      fs.writeFileSync(s.paths[2], bytes);
      const error = await refusal(loadSeries(s.paths));
      expect(error.message).toContain(`${name} '${written.trim()}' is not a number`);
      expect(error.message).toContain(s.seriesInstanceUid);
    });
  }

  it('a PixelRepresentation that is neither 0 nor 1 is named in the reason, not read as unsigned', async () => {
    const s = await series();
    rewrite(s.paths[3], (d) => {
      d.PixelRepresentation = 2;
    });
    const error = await refusal(loadSeries(s.paths));
    expect(error.message).toContain("PixelRepresentation '2' is neither 0 (unsigned) nor 1 (signed)");
    expect(error.message).toContain(s.seriesInstanceUid);
  });

  it('an ImagePositionPatient with text in a number is named in the reason, not read as its leading digits', async () => {
    const s = await series({ origin: [10, -20, 30.5] });
    // Written over the value's own bytes, as '10\-20\3mm' and spaces: dcmjs alone would read 3 (it drops what is not a digit).
    const bytes = fs.readFileSync(s.paths[4]);
    const at = bytes.indexOf(Buffer.from([0x20, 0x00, 0x32, 0x00, 0x44, 0x53]));
    const length = bytes.readUInt16LE(at + 6);
    expect(length).toBeGreaterThanOrEqual(10);
    bytes.write('10\\-20\\3mm'.padEnd(length, ' '), at + 8, 'latin1');
    fs.writeFileSync(s.paths[4], bytes);
    const error = await refusal(loadSeries(s.paths));
    expect(error.message).toContain('ImagePositionPatient is missing or malformed');
    expect(error.message).toContain('3mm');
  });

  it('pixel data shorter than Rows × Columns declare', async () => {
    const s = await series();
    rewrite(s.paths[1], (d) => {
      d.PixelData = [new Uint16Array(12 * 16 - 10).buffer];
    });
    const error = await refusal(loadSeries(s.paths));
    expect(error.message).toMatch(/pixel data is shorter than declared/);
    expect(error.message).toContain(s.seriesInstanceUid);
  });

  it('an unsupported photometric interpretation', async () => {
    const s = await series();
    rewrite(s.paths[4], (d) => {
      d.PhotometricInterpretation = 'PALETTE COLOR';
    });
    const error = await refusal(loadSeries(s.paths));
    expect(error.message).toMatch(/unsupported photometric interpretation 'PALETTE COLOR'/);
    expect(error.message).toContain(s.seriesInstanceUid);
  });

  it('a folder with files that are not DICOM next to a series', async () => {
    const s = await series();
    const dir = path.dirname(s.paths[0]);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not DICOM');
    expect(listSeries(dir)).toHaveLength(1);
    const loaded = await loadVolume(dir);
    expect(loaded.volume.dims).toEqual([16, 12, 8]);
  });
});

describe('compressed transfer syntaxes decode to the same volume', () => {
  for (const [name, uid] of [
    ['RLE Lossless', RLE_LOSSLESS],
    ['JPEG Lossless SV1', JPEG_LOSSLESS_SV1],
    ['JPEG-LS Lossless', JPEG_LS_LOSSLESS],
    ['JPEG 2000 Lossless', JPEG_2000_LOSSLESS],
  ]) {
    it(name, async () => {
      const spec = { value: (i: number, j: number, k: number) => (i * 37 + j * 101 + k * 997) % 4000 };
      const plain = await loadSeries((await series(spec)).paths);
      const compressed = await loadSeries((await series({ ...spec, transferSyntaxUid: uid })).paths);
      expect(Array.from(compressed.volume.data)).toEqual(Array.from(plain.volume.data));
    });
  }
});

describe.skipIf(!haveTs)('the transfer-syntaxes test image (one Siemens mosaic in 9 encodings)', () => {
  const files = haveTs ? fs.readdirSync(TS_DIR).filter((f) => f.endsWith('.dcm')).sort() : [];
  it('decodes to identical pixels in every transfer syntax', async () => {
    const reference = await decodePixelData(path.join(TS_DIR, '1.dcm'));
    expect(reference.transferSyntaxUid).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
    expect([reference.format.columns, reference.format.rows]).toEqual([384, 384]);
    const syntaxes = new Set<string>();
    for (const file of files) {
      const decoded = await decodePixelData(path.join(TS_DIR, file));
      syntaxes.add(decoded.transferSyntaxUid);
      expect(decoded.frames).toHaveLength(1);
      expect(Buffer.compare(Buffer.from(decoded.frames[0].buffer, decoded.frames[0].byteOffset, decoded.frames[0].byteLength), Buffer.from(reference.frames[0].buffer, reference.frames[0].byteOffset, reference.frames[0].byteLength)), file).toBe(0);
    }
    expect(syntaxes.size).toBe(7);
  });

  it('is read as a mosaic of 35 slices of 64×64, the same volume from every file', async () => {
    const reference = await loadVolume(path.join(TS_DIR, '1.dcm'));
    expect(reference.volume.dims).toEqual([64, 64, 35]);
    expect(reference.volume.spacing[2]).toBeCloseTo(3.6, 6);
    expect(new Set(reference.source?.frames.map((f) => f.sopInstanceUid)).size).toBe(1);
    for (const file of files.slice(1)) {
      const other = await loadVolume(path.join(TS_DIR, file));
      expect(other.volume.origin, file).toEqual(reference.volume.origin);
      expect(Buffer.compare(Buffer.from(other.volume.data.buffer), Buffer.from(reference.volume.data.buffer)), file).toBe(0);
    }
  });

  it('without the Siemens headers that say how many slices it tiles, is refused as a single 2D image', async () => {
    const copy = path.join(work, 'mosaic-without-csa.dcm');
    fs.copyFileSync(path.join(TS_DIR, '1.dcm'), copy);
    rewrite(copy, (d) => {
      for (const key of Object.keys(d)) if (/^00(19|29)/.test(key)) delete d[key];
    });
    const error = await refusal(loadVolume(copy));
    expect(error.message).toMatch(/single 2D image/);
    expect(error.message).toContain('1.3.12.2.1107.5.2.32.35131.2014031012481958900586557.0.0.0');
  });
});
