// Specific Character Set: an unknown or broken value never costs a series. Text is read with a decoder that keeps
// every byte (ISO 8859-1) or with the usable part of the value, the problem is reported, and what brainstrip
// derives from the series is valid DICOM that says truthfully which character set it holds (ISO_IR 192).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { configureLogging } from '../src/log.js';
import { readMrAcquisition } from '../src/pipeline/derived/acquisition.js';
import { buildSegmentation } from '../src/pipeline/derived/segmentation.js';
import { buildSkullStrippedSeries } from '../src/pipeline/derived/skull-stripped.js';
import { CHARACTER_SETS, interpretCharacterSet } from '../src/pipeline/dicom/character-set.js';
import { parsePart10, toPart10 } from '../src/pipeline/dicom/dcmjs.js';
import { readFileMeta } from '../src/pipeline/dicom/element-scan.js';
import { loadSeries } from '../src/pipeline/dicom/load-series.js';
import { readInstanceHeader } from '../src/scp/dataset-header.js';
import { algorithm, dciodvfy, hasTool, options, syntheticBrain, tempDir } from './derived-fixtures.js';
import { sharedData, sharedDataPresent } from './shared-data.js';
import { PATIENT_NAME, SERIES_DESCRIPTION, SPECIFIC_CHARACTER_SET, STUDY_DESCRIPTION, withValues } from './text-fixtures.js';

configureLogging({ level: 'error', stream: 'stderr' });

const seriesDir = path.join(sharedData, 'dicom/siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');
const haveData = sharedDataPresent('the character-set tests on real instances', seriesDir);
const latin1 = (text: string) => Buffer.from(text, 'latin1');
// Yamada^Tarou=山田^太郎 in ISO 2022 IR 87, as PS3.5 H.3.1 gives it.
const JAPANESE = latin1('Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B');

describe('interpreting a Specific Character Set value', () => {
  test('a defined term, or code extensions led by an empty value, are used as they are', () => {
    expect(interpretCharacterSet('ISO_IR 100')).toMatchObject({ term: 'ISO_IR 100', problems: [] });
    expect(interpretCharacterSet('ISO_IR 192 ')).toMatchObject({ term: 'ISO_IR 192', problems: [] });
    expect(interpretCharacterSet('\\ISO 2022 IR 87')).toMatchObject({ term: 'ISO 2022 IR 87', escapes: true, problems: [] });
    expect(interpretCharacterSet('ISO 2022 IR 6\\ISO 2022 IR 149')).toMatchObject({ term: 'ISO 2022 IR 149', problems: [] });
  });

  test.each([
    ['ISO_IR 999', '', /'ISO_IR 999' is not a defined term; text read as ISO 8859-1/],
    ['GARBAGE', '', /'GARBAGE' is not a defined term/],
    ['ISO 2022 IR 6\\ISO 2022 IR 999', 'ISO 2022 IR 6', /'ISO 2022 IR 999' is not a defined term; text read as ISO 2022 IR 6/],
    ['ISO_IR 100\\', 'ISO_IR 100', /value 2 is empty; text read as ISO_IR 100/],
    ['\\\\', '', /value 2 is empty; value 3 is empty/],
    ['ISO_IR\x1b100', '', /'ISO_IR\\x1b100' is not a defined term/],
    ['X'.repeat(5000), '', /'X{80}…' is not a defined term/],
  ])('%j: read as %j, and the problem is told', (declared, term, problem) => {
    const characterSet = interpretCharacterSet(declared);
    expect(characterSet.term).toBe(term);
    expect(characterSet.problems.join('\n')).toMatch(problem);
  });

  test('every defined term has a decoder that this Node knows', () => {
    for (const label of Object.values(CHARACTER_SETS)) expect(() => new TextDecoder(label)).not.toThrow();
  });
});

describe('a Specific Character Set inside a sequence item', () => {
  test('an unknown one there is read as ISO 8859-1 too, not refused', () => {
    const written = toPart10({
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
      SOPInstanceUID: '1.2.3.4',
      SpecificCharacterSet: 'ISO_IR 100',
      PatientName: 'Muller',
      ReferencedStudySequence: [{ SpecificCharacterSet: 'ISO_IR 100', ReferencedSOPClassUID: '1.2.3', ReferencedSOPInstanceUID: '1.2.3.5' }],
    });
    const bytes = Buffer.from(written.toString('latin1').replaceAll('ISO_IR 100', 'GARBAGE   '), 'latin1');
    expect(bytes.toString('latin1').match(/GARBAGE/g)).toHaveLength(2);
    const parsed = parsePart10(bytes);
    expect(parsed.dataset.ReferencedStudySequence[0].ReferencedSOPInstanceUID).toBe('1.2.3.5');
    expect(parsed.textProblems.join('\n')).toMatch(/'GARBAGE' is not a defined term/);
  });
});

describe.skipIf(!haveData)('reading instances whose character set is unknown or broken', () => {
  const first = haveData ? fs.readFileSync(path.join(seriesDir, fs.readdirSync(seriesDir).sort()[0])) : Buffer.alloc(0);

  test.each([
    ['ISO_IR 999', latin1('Müller^Jürgen'), 'Müller^Jürgen'],
    ['GARBAGE', latin1('Müller^Jürgen'), 'Müller^Jürgen'],
    ['ISO_IR 100\\GARBAGE', latin1('Müller^Jürgen'), 'Müller^Jürgen'],
    ['ISO_IR 100\\', latin1('Müller^Jürgen'), 'Müller^Jürgen'],
    // A valid value whose bytes are not: each undecodable byte reads as U+FFFD, the rest as declared.
    ['ISO_IR 192', latin1('Müller^Jürgen'), 'M\ufffdller^J\ufffdrgen'],
    // Broken ISO 2022 escapes: an unknown final byte, and an escape cut off at the end of the value.
    ['ISO 2022 IR 6\\ISO 2022 IR 87', latin1('Yamada\x1b$Z^T\x1b('), undefined],
  ])('%j: the instance is read, the problem reported, and its text says it is ISO_IR 192', (declared, name, expected) => {
    const parsed = parsePart10(withValues(first, { [SPECIFIC_CHARACTER_SET]: declared, [PATIENT_NAME]: name }));
    const alphabetic = parsed.dataset.PatientName[0].Alphabetic as string;
    if (expected !== undefined) expect(alphabetic).toBe(expected);
    else expect(alphabetic).toMatch(/^Yamada/);
    expect(alphabetic).not.toMatch(/\x1b/);
    expect(parsed.textProblems).not.toEqual([]);
    expect(parsed.dataset.SpecificCharacterSet).toBe('ISO_IR 192');
    expect(parsed.dataset.PixelData).toBeDefined();
  });

  test('defined terms read without a problem: Latin-1, Latin-9 (which dcmjs lacks), and Japanese code extensions', () => {
    const latin9 = parsePart10(withValues(first, { [SPECIFIC_CHARACTER_SET]: 'ISO_IR 203', [PATIENT_NAME]: latin1('M\xfcller^\xa4') }));
    expect(latin9.dataset.PatientName[0].Alphabetic).toBe('Müller^€');
    expect(latin9.textProblems).toEqual([]);
    const japanese = parsePart10(withValues(first, { [SPECIFIC_CHARACTER_SET]: 'ISO 2022 IR 6\\ISO 2022 IR 87', [PATIENT_NAME]: JAPANESE }));
    expect(japanese.dataset.PatientName[0]).toEqual({ Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎' });
    expect(japanese.textProblems).toEqual([]);
  });

  test('the receiver reads the header text of such an instance as ISO 8859-1', () => {
    const file = withValues(first, { [SPECIFIC_CHARACTER_SET]: 'ISO_IR 999', [SERIES_DESCRIPTION]: latin1('Schädel T1') });
    const meta = readFileMeta(file);
    const { header, complete } = readInstanceHeader(file.subarray(meta.datasetOffset), meta.transferSyntaxUid);
    expect(complete).toBe(true);
    expect(header).toMatchObject({ specificCharacterSet: 'ISO_IR 999', seriesDescription: 'Schädel T1' });
  });

  test.skipIf(!hasTool('dciodvfy'))('a whole series in ISO_IR 999 loads, and its derived series and SEG pass dciodvfy with the names in UTF-8', async () => {
    const dir = tempDir('charset-series');
    const files = fs.readdirSync(seriesDir).sort().map((name) => {
      const out = path.join(dir, name);
      const text = { [SPECIFIC_CHARACTER_SET]: 'ISO_IR 999', [PATIENT_NAME]: latin1('Müller^Jürgen'), [STUDY_DESCRIPTION]: latin1('Schädel^Kopf') };
      fs.writeFileSync(out, withValues(fs.readFileSync(path.join(seriesDir, name)), text));
      return out;
    });
    const loaded = await loadSeries(files);
    expect(loaded.source.attributes.PatientName).toEqual([{ Alphabetic: 'Müller^Jürgen' }]);
    const acquisition = await readMrAcquisition(files[0]);
    const { image, mask } = syntheticBrain(loaded.source);
    const derived = buildSkullStrippedSeries({ source: loaded.source, image, mask, algorithm, options, acquisition });
    const seg = buildSegmentation({ source: loaded.source, mask, algorithm, options, acquisition });
    for (const o of [derived[0], seg]) {
      const file = path.join(dir, `${o.sopInstanceUid}.dcm`);
      fs.writeFileSync(file, toPart10(o.dataset));
      const result = await dciodvfy(file);
      expect(result.errors, result.output).toEqual([]);
      const bytes = fs.readFileSync(file);
      expect(bytes.includes(Buffer.from('Müller^Jürgen', 'utf8'))).toBe(true);
      expect(bytes.includes(Buffer.from('ISO_IR 192'))).toBe(true);
      expect(bytes.includes(latin1('Müller'))).toBe(false);
    }
  }, 120_000);
});
