// A series whose Specific Character Set is unknown (ISO_IR 999, with Latin-1 names) sent to a running node: every
// instance is taken, the series is processed, the results reach the archive with the names in UTF-8 under
// ISO_IR 192, and the log says what was wrong. Never Success at C-STORE followed by a failed job.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { fromPart10 } from '../src/pipeline/dicom/dcmjs.js';
import { tempDir } from './derived-fixtures.js';
import { type Node, type Orthanc, createOrthanc, e2eRequirements, startNode, storescu, waitForJob } from './e2e-fixtures.js';
import { sharedData, sharedDataMissing } from './shared-data.js';
import { PATIENT_NAME, SPECIFIC_CHARACTER_SET, STUDY_DESCRIPTION, withValues } from './text-fixtures.js';

const seriesDir = path.join(sharedData, 'dicom/siemens-xa30-t1-classic/5001_anat-T1w_acq-tfl');
const missing = e2eRequirements() ?? sharedDataMissing('the end-to-end character-set test', seriesDir);
if (missing) console.warn(`skipping the end-to-end character-set test: ${missing}`);

describe.skipIf(missing !== undefined)('a series in an unknown character set, end to end', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test('ISO_IR 999 with Latin-1 names: received, processed, and sent back with the names in UTF-8', async () => {
    const dir = tempDir('charset-e2e');
    const text = { [SPECIFIC_CHARACTER_SET]: 'ISO_IR 999', [PATIENT_NAME]: Buffer.from('Müller^Jürgen', 'latin1'), [STUDY_DESCRIPTION]: Buffer.from('Schädel', 'latin1') };
    const files = fs.readdirSync(seriesDir).sort().map((name) => {
      const out = path.join(dir, name);
      fs.writeFileSync(out, withValues(fs.readFileSync(path.join(seriesDir, name)), text));
      return out;
    });
    const seriesUid = String(fromPart10(fs.readFileSync(files[0]), true).dataset.SeriesInstanceUID);

    const orthanc: Orthanc = await createOrthanc();
    cleanups.push(() => orthanc.stop());
    await orthanc.start();
    const node: Node = await startNode({
      destinations: [{ aeTitle: orthanc.aeTitle, host: '127.0.0.1', port: orthanc.dicomPort }],
      retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 2000 },
    });
    cleanups.push(() => node.stop());

    await storescu(node.dicomPort, 'BRAINSTRIP', files);
    const job = await waitForJob(node, seriesUid);
    expect(job.state, `job ${job.id}: ${job.reason}\n${node.log().slice(-4000)}`).toBe('done');
    expect(job.instances).toBe(files.length);

    // Every line the node wrote (its workers, ONNX Runtime and the DICOM libraries included) is a JSON log line.
    const written = fs.readFileSync(path.join(node.dataDir, 'stdout.log'), 'utf8').split('\n').filter(Boolean);
    expect(written.filter((line) => !line.startsWith('{'))).toEqual([]);
    // The log names the problem, with the series.
    const warning = node.log().split('\n').filter(Boolean).map((line) => JSON.parse(line)).find((l) => /'ISO_IR 999' is not a defined term/.test(l.message ?? ''));
    expect(warning, node.log().slice(-4000)).toMatchObject({ level: 'warn', seriesInstanceUid: seriesUid });

    // The results carry the names decoded, in the character set they declare.
    const series = await orthanc.get<any[]>('/series?expand');
    const results = series.filter((s) => s.MainDicomTags.SeriesInstanceUID !== seriesUid);
    expect(results.map((s) => s.MainDicomTags.Modality).sort()).toEqual(['MR', 'SEG']);
    for (const s of results) {
      const bytes = await orthanc.getBytes(`/instances/${s.Instances[0]}/file`);
      const dataset = fromPart10(bytes).dataset;
      expect(dataset.SpecificCharacterSet).toBe('ISO_IR 192');
      expect(dataset.PatientName).toEqual([{ Alphabetic: 'Müller^Jürgen' }]);
      expect(Buffer.from(bytes).includes(Buffer.from('Müller^Jürgen', 'utf8'))).toBe(true);
      expect(dataset.StudyDescription).toBe('Schädel');
    }
  }, 900_000);
});
