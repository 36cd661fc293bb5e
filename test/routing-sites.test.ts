// Results where they belong: one node serving two sites. Site A's modality sends to the node and its results go to
// archive A (a routing rule names it); site B's PACS forwards its series and gets the results back (a rule says
// "@caller", and the PACS's address comes from results.knownAes, never from the association). Each archive receives
// only its own site's results, each object once.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../config/schema.js';
import { destinationsFor } from '../src/jobs/processing/routing-rules.js';
import { type Node, type Orthanc, createOrthanc, e2eRequirements, startNode, storescu, waitForJob } from './e2e-fixtures.js';
import { sharedData, sharedDataMissing } from './shared-data.js';

const siteA = path.join(sharedData, 'dicom/siemens-t1-patient-positions/HFS/3_t1_fl2d_sag');
const siteB = path.join(sharedData, 'dicom/siemens-t1-patient-positions/HFP');
const missing = e2eRequirements() ?? sharedDataMissing('the routing test', siteA, siteB);
if (missing) console.warn(`skipping the two-site routing test: ${missing}`);

const ARCHIVE_A = { aeTitle: 'ARCHIVE_A', host: 'pacs-a.example', port: 104 };
const PACS_B = { aeTitle: 'PACS_B', host: 'pacs-b.example', port: 11112 };

describe('destinations per routing rule', () => {
  const config = {
    include: [
      { modality: 'MR', callingAe: 'MODALITY_A', destinations: ['ARCHIVE_A'] },
      { modality: 'MR', callingAe: 'PACS_B', destinations: ['@caller'] },
      { modality: 'MR' },
    ],
    destinations: [ARCHIVE_A, { aeTitle: 'RESEARCH', host: 'research.example', port: 104 }],
    knownAes: [PACS_B],
  };

  test('the first include rule that names destinations decides; "@caller" is the calling AE from the known AEs', () => {
    expect(destinationsFor({ modality: 'MR', callingAe: 'MODALITY_A' }, config)).toEqual([ARCHIVE_A]);
    expect(destinationsFor({ modality: 'MR', callingAe: 'PACS_B' }, config)).toEqual([PACS_B]);
    // A series no destination rule matches goes to every destination, as without rules.
    expect(destinationsFor({ modality: 'MR', callingAe: 'OTHER' }, config)).toEqual(config.destinations);
  });

  test('a calling AE that the known AEs lack is an error, not an address taken from the association', () => {
    const back = { ...config, include: [{ modality: 'MR', destinations: ['@caller'] }] };
    expect(() => destinationsFor({ modality: 'MR', callingAe: 'STRANGER' }, back)).toThrow(/calling AE 'STRANGER', which results.knownAes does not list/);
  });

  test('the configuration refuses rules that name unknown destinations, or "@caller" without known AEs', () => {
    const load = (include: unknown, knownAes: unknown[] = []) =>
      loadConfig({ overrides: { receive: { routing: { include } }, results: { destinations: [ARCHIVE_A], knownAes } }, env: {} });
    expect(() => load([{ modality: 'MR', destinations: ['NOWHERE'] }])).toThrow(/receive\.routing\.include.*"NOWHERE", which is not the AE title of one of results\.destinations/s);
    expect(() => load([{ modality: 'MR', destinations: ['@caller'] }])).toThrow(/"@caller" but results\.knownAes is empty/);
    expect(() => load([{ modality: 'MR', destinations: [] }])).toThrow(/rule destinations must be a non-empty list/);
    expect(() => load([{ modality: 'MR', destinations: ['@caller'] }], [PACS_B])).not.toThrow();
  });
});

describe.skipIf(missing !== undefined)('two sites, two archives', () => {
  let archiveA: Orthanc;
  let pacsB: Orthanc;
  let node: Node;

  beforeAll(async () => {
    archiveA = await createOrthanc({ aeTitle: 'ARCHIVE_A' });
    pacsB = await createOrthanc({ aeTitle: 'PACS_B' });
    await archiveA.start();
    await pacsB.start();
    node = await startNode(
      {
        destinations: [{ aeTitle: 'ARCHIVE_A', host: '127.0.0.1', port: archiveA.dicomPort }],
        knownAes: [{ aeTitle: 'PACS_B', host: '127.0.0.1', port: pacsB.dicomPort }],
        retry: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 2000 },
      },
      {
        receive: {
          routing: {
            include: [
              { modality: 'MR', callingAe: 'MODALITY_A', destinations: ['ARCHIVE_A'] },
              { modality: 'MR', callingAe: 'PACS_B', destinations: ['@caller'] },
            ],
          },
        },
      },
    );
  }, 180_000);

  afterAll(async () => {
    await node?.stop();
    await archiveA?.stop();
    await pacsB?.stop();
  });

  test("each archive receives only its own site's results, each object once", async () => {
    const files = (dir: string) =>
      fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
    const a = files(siteA);
    const b = files(siteB);
    await Promise.all([storescu(node.dicomPort, 'BRAINSTRIP', a, 'MODALITY_A'), storescu(node.dicomPort, 'BRAINSTRIP', b, 'PACS_B')]);
    const { jobs } = await node.jobs();
    const jobA = jobs.find((j) => j.callingAe === 'MODALITY_A')!;
    const jobB = jobs.find((j) => j.callingAe === 'PACS_B')!;
    for (const job of [jobA, jobB]) {
      const finished = await waitForJob(node, job.seriesInstanceUid);
      expect(finished.state, finished.reason).toBe('done');
    }
    const derivedOf = async (archive: Orthanc) => {
      const series = await archive.get<Array<{ Instances: string[]; MainDicomTags: Record<string, string> }>>('/series?expand');
      return { series, instances: (await archive.get<{ CountInstances: number }>('/statistics')).CountInstances };
    };
    const inA = await derivedOf(archiveA);
    const inB = await derivedOf(pacsB);
    // One skull-stripped series and one SEG in each archive, of its own site's series only.
    expect(inA.series.map((s) => s.MainDicomTags.Modality).sort()).toEqual(['MR', 'SEG']);
    expect(inB.series.map((s) => s.MainDicomTags.Modality).sort()).toEqual(['MR', 'SEG']);
    expect(inA.instances).toBe(a.length + 1);
    expect(inB.instances).toBe(b.length + 1);
    const studyOf = async (archive: Orthanc) => (await archive.get<Array<{ MainDicomTags: Record<string, string> }>>('/studies?expand'))[0].MainDicomTags.StudyInstanceUID;
    expect(await studyOf(archiveA)).toBe(jobA.studyInstanceUid);
    expect(await studyOf(pacsB)).toBe(jobB.studyInstanceUid);
  });
});
