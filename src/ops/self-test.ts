// The self-test: the node makes a synthetic head series, sends it to its own DICOM port like a PACS would, and
// follows the job through the pipeline and the sending to the archives, reporting each stage as it passes.
import fs from 'node:fs';
import path from 'node:path';
import type { Destination } from '../../config/sections/results.js';
import type { JobStore } from '../jobs/state/store.js';
import type { Job } from '../jobs/state/job.js';
import { writeSyntheticSeries } from './synthetic-series.js';
import { echo } from '../scu/echo.js';
import { destinationKey } from '../scu/ledger.js';
import { storeOverAssociation } from '../scu/store.js';
import { MR_IMAGE_STORAGE } from '../dicom/uids.js';

export interface Stage {
  name: string;
  status: 'waiting' | 'running' | 'ok' | 'failed';
  detail: string;
  startedAt?: string;
  seconds?: number;
}

export interface SelfTestRun {
  id: number;
  by: string;
  destination: string;
  startedAt: string;
  finished: boolean;
  ok?: boolean;
  jobId?: number;
  stages: Stage[];
}

/**
 * Stored value of a head phantom: scalp (bright fat), skull (dark bone), CSF and a brain of grey and white matter
 * in nested ellipsoids, in a 1.5 mm axial grid. Enough anatomy for registration and the network to find a brain.
 */
function headValue(columns: number, rows: number, slices: number, spacing: number, sliceSpacing: number) {
  return (i: number, j: number, k: number): number => {
    const x = (i - columns / 2) * spacing;
    const y = (j - rows / 2) * spacing;
    const z = (k - slices * 0.42) * sliceSpacing;
    const r = (a: number, b: number, c: number) => Math.sqrt((x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2);
    const noise = ((i * 7919 + j * 104729 + k * 1299709) % 97) / 97 - 0.5;
    if (r(74, 92, 84) > 1) return 0;
    if (r(69, 87, 79) > 1) return Math.round(820 + 40 * noise); // scalp
    if (r(63, 81, 73) > 1) return Math.round(60 + 20 * noise); // skull
    if (r(60, 78, 70) > 1) return Math.round(180 + 30 * noise); // CSF
    if (r(45, 62, 52) > 1) return Math.round(480 + 40 * noise); // grey matter
    return Math.round(640 + 40 * noise); // white matter
  };
}

export class SelfTests {
  private readonly runs: SelfTestRun[] = [];
  private next = 1;

  constructor(
    private readonly deps: {
      store: JobStore;
      workRoot: string;
      aeTitle: string;
      dicomPort: () => number;
      callingAeTitle: string;
      scpTls: boolean;
      echoCallingAe: string;
    },
  ) {}

  list(): SelfTestRun[] {
    return [...this.runs].reverse();
  }

  get(id: number): SelfTestRun | undefined {
    return this.runs.find((r) => r.id === id);
  }

  /** Starts a run and returns at once; the run's stages fill in as the job moves on. */
  start(destination: Destination, by: string): SelfTestRun {
    const run: SelfTestRun = {
      id: this.next++,
      by,
      destination: `${destination.aeTitle}@${destination.host}:${destination.port}`,
      startedAt: new Date().toISOString(),
      finished: false,
      stages: [
        'C-ECHO of the destination',
        'synthetic head series made',
        'sent to our own DICOM port',
        'series complete, job queued',
        'processed (brain extraction, results built)',
        'results sent to the destination',
      ].map((name) => ({ name, status: 'waiting' as const, detail: '' })),
    };
    this.runs.push(run);
    if (this.runs.length > 20) this.runs.shift();
    void this.execute(run, destination).catch((error: Error) => {
      const stage = run.stages.find((s) => s.status === 'running' || s.status === 'waiting');
      if (stage) this.end(stage, false, error.message);
      run.finished = true;
      run.ok = false;
    });
    return run;
  }

  private begin(stage: Stage): void {
    stage.status = 'running';
    stage.startedAt = new Date().toISOString();
  }

  private end(stage: Stage, ok: boolean, detail: string): void {
    stage.status = ok ? 'ok' : 'failed';
    stage.detail = detail;
    if (stage.startedAt) stage.seconds = (Date.now() - Date.parse(stage.startedAt)) / 1000;
  }

  private async execute(run: SelfTestRun, destination: Destination): Promise<void> {
    const [echoStage, make, send, queued, processed, sent] = run.stages;
    const fail = (stage: Stage, detail: string) => {
      this.end(stage, false, detail);
      run.finished = true;
      run.ok = false;
    };

    this.begin(echoStage);
    const answer = await echo(destination, { callingAeTitle: this.deps.echoCallingAe, timeoutMs: 10_000 });
    if (!answer.ok) return fail(echoStage, answer.description);
    this.end(echoStage, true, `${answer.description}, ${answer.milliseconds} ms`);

    this.begin(make);
    const dir = path.join(this.deps.workRoot, `self-test-${run.id}-${Date.now()}`);
    const [columns, rows, slices, spacing, sliceSpacing] = [128, 128, 96, 1.5, 1.8];
    const series = await writeSyntheticSeries(dir, {
      rows,
      columns,
      slices,
      pixelSpacing: [spacing, spacing],
      sliceSpacing,
      origin: [(-columns / 2) * spacing, (-rows / 2) * spacing, -slices * 0.42 * sliceSpacing],
      value: headValue(columns, rows, slices, spacing, sliceSpacing),
      attributes: {
        PatientName: [{ Alphabetic: 'Self-test^brainstrip' }],
        PatientID: 'BRAINSTRIP-SELF-TEST',
        AccessionNumber: `SELFTEST${run.id}`,
        SeriesDescription: 't1 self-test phantom',
        StudyDescription: 'brainstrip self-test',
        Manufacturer: 'self-test phantom',
        StudyDate: new Date().toISOString().slice(0, 10).replace(/-/g, ''),
      },
    });
    this.end(make, true, `${series.paths.length} slices, 128 × 128, 1.5 mm`);
    // Its results go to the chosen archive only.
    await this.deps.store.restrictDestination(series.seriesInstanceUid, destinationKey(destination));

    this.begin(send);
    const items = series.paths.map((p, n) => ({ path: p, sopClassUid: MR_IMAGE_STORAGE, sopInstanceUid: `${series.seriesInstanceUid}.${n}` }));
    const outcomes = await storeOverAssociation(
      { aeTitle: this.deps.aeTitle, host: '127.0.0.1', port: this.deps.dicomPort(), tls: this.deps.scpTls ? { rejectUnauthorized: false } : undefined },
      items,
      { callingAeTitle: this.deps.callingAeTitle, connectTimeoutMs: 10_000, associationTimeoutMs: 120_000 },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    const refused = outcomes.filter((o) => !o.stored);
    if (refused.length > 0) return fail(send, `${refused.length} of ${items.length} not stored: ${refused[0].description}`);
    this.end(send, true, `${items.length} instances stored (C-STORE Success)`);

    // Follow the job of that series.
    this.begin(queued);
    const deadline = Date.now() + 60 * 60_000;
    let job: Job | undefined;
    let stage = queued;
    while (Date.now() < deadline) {
      job = (await this.deps.store.list({ seriesInstanceUid: series.seriesInstanceUid, limit: 1 }))[0];
      if (job) {
        run.jobId = job.id;
        if (stage === queued && !['receiving', 'complete'].includes(job.state)) {
          this.end(queued, true, `job ${job.id}`);
          this.begin((stage = processed));
        }
        if (stage === processed && ['sending', 'done'].includes(job.state)) {
          this.end(processed, true, 'results ready');
          this.begin((stage = sent));
        }
        if (job.state === 'done') {
          this.end(sent, true, `${run.destination} confirmed every object`);
          run.finished = true;
          run.ok = true;
          return;
        }
        if (job.state === 'failed') return fail(stage, job.reason ?? 'failed');
        if (stage.status === 'running') stage.detail = job.detail ?? job.state;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    fail(stage, 'still not finished after an hour');
  }
}
