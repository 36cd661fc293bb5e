// The results of one series as files: the QC picture of the whole image with the mask outline, then the
// skull-stripped series (the source's own stored values inside the mask, made frame by frame) and the SEG
// built and written as Part-10 files with their checksums. The node runs this in a pool worker, so that building
// and encoding hundreds of objects never holds up the thread that answers DICOM and HTTP.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { toPart10 } from '../dicom/dcmjs.js';
import type { SourceSeries } from '../dicom/series.js';
import { qcPng } from '../io/qc-png.js';
import type { Volume } from '../space/volume.js';
import type { MrAcquisition } from './acquisition.js';
import type { AlgorithmIdentity, DerivedObjectOptions, DicomObject } from './objects.js';
import { buildSegmentation } from './segmentation.js';
import { skullStrippedObjects } from './skull-stripped.js';

/** One written object. */
export interface ResultFile {
  kind: DicomObject['kind'];
  label: string;
  path: string;
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  /** SHA-256 of the file as written (absent in manifests written before checksums were kept). */
  sha256?: string;
}

export const QC_PICTURE = 'qc.png';

/** Writes `objects` into a fresh `dir` (no fsync: the manifest's checksums vouch for them). */
export function writeObjectFiles(dir: string, objects: Iterable<DicomObject>): ResultFile[] {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const written: ResultFile[] = [];
  let n = 0;
  for (const o of objects) {
    const file = path.join(dir, `${o.kind}-${String(++n).padStart(4, '0')}.dcm`);
    const bytes = toPart10(o.dataset);
    fs.writeFileSync(file, bytes);
    written.push({
      kind: o.kind,
      label: o.kind === 'seg' ? 'SEG' : 'skull-stripped image',
      path: file,
      sopClassUid: o.sopClassUid,
      sopInstanceUid: o.sopInstanceUid,
      seriesInstanceUid: o.seriesInstanceUid,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    });
  }
  return written;
}

export interface ResultFilesInput {
  source: SourceSeries;
  /** The received image on its own grid (real-world values; read, not changed). */
  volume: Volume<Float32Array>;
  mask: Volume<Uint8Array>;
  algorithm: AlgorithmIdentity;
  options: DerivedObjectOptions;
  acquisition: MrAcquisition;
  /** Folder of the results (emptied first). */
  dir: string;
}

export interface ResultFiles {
  objects: ResultFile[];
  /** Why the QC picture is missing, if it is. */
  qcProblem?: string;
}

export function writeResultFiles(input: ResultFilesInput): ResultFiles {
  const { source, mask, algorithm, options, acquisition } = input;
  let qc: Buffer | undefined;
  let qcProblem: string | undefined;
  try {
    qc = qcPng(input.volume, mask);
  } catch (error) {
    qcProblem = (error as Error).message;
  }
  const objects = writeObjectFiles(input.dir, allObjects());
  function* allObjects(): Generator<DicomObject> {
    yield* skullStrippedObjects({ source, image: input.volume, mask, algorithm, options, acquisition });
    yield buildSegmentation({ source, mask, algorithm, options, acquisition });
  }
  if (qc) fs.writeFileSync(path.join(input.dir, QC_PICTURE), qc);
  return { objects, ...(qcProblem ? { qcProblem } : {}) };
}
