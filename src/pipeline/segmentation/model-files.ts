// Where the model files are and whether they are the ones the node was shipped with. The node refuses to start
// on a model or atlas whose SHA-256 differs from models/checksums.json: a silently swapped or truncated
// model would produce masks that look plausible and are wrong.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelPrecision } from '../../../config/sections/model.js';
import { type Grid, gridOf } from '../space/volume.js';

/**
 * A model as resolved from checksums.json: resolved once (when the node or a tool starts) and passed down to the
 * processing and the pool workers, so that nothing reads checksums.json or the model file again per job.
 */
export interface ModelEntry {
  /** The models folder it was resolved in (holding checksums.json and atlas/). */
  dir: string;
  /** e.g. 'brainstrip-efficient' */
  name: string;
  version: string;
  precision: ModelPrecision;
  /** Absolute path of the ONNX file. */
  path: string;
  sha256: string;
  /**
   * The grid the network reads its input on (patient LPS in atlas space). Models up to 1.1.0 carry none and
   * read the atlas grid.
   */
  grid?: Grid;
}

interface ChecksumsFile {
  files: Record<string, string>;
  models: Array<{ name: string; version: string; precision: ModelPrecision; file: string; grid?: Grid }>;
}

/** The models folder shipped with brainstrip (found upwards from this module, in src/ or in dist/src/). */
export function shippedModelsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up++) {
    const candidate = path.join(dir, 'models');
    if (fs.existsSync(path.join(candidate, 'atlas', 'grid.json'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('the brainstrip models folder (models/atlas/grid.json) was not found next to the installation');
}

export function modelsDir(configured?: string): string {
  return configured ? path.resolve(configured) : shippedModelsDir();
}

function readChecksums(dir: string): ChecksumsFile {
  const file = path.join(dir, 'checksums.json');
  let json: ChecksumsFile;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as ChecksumsFile;
  } catch (error) {
    throw new Error(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!json || typeof json.files !== 'object' || !Array.isArray(json.models)) throw new Error(`${file}: expected { files, models }`);
  return json;
}

export function sha256File(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

const verified = new Map<string, string>();

/** Checks every file listed in checksums.json (once per process and path+size+mtime). Throws naming the file. */
export function verifyModelFiles(dir: string): void {
  const sums = readChecksums(dir);
  for (const [relative, expected] of Object.entries(sums.files)) {
    const file = path.join(dir, relative);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      throw new Error(`model file ${file} listed in checksums.json is missing`);
    }
    const key = `${file}:${stat.size}:${stat.mtimeMs}`;
    if (verified.get(key) === expected) continue;
    const actual = sha256File(file);
    if (actual !== expected) throw new Error(`model file ${file} does not match checksums.json (sha256 ${actual}, expected ${expected})`);
    verified.set(key, expected);
  }
}

/** The model `name` at `precision` as listed in checksums.json. */
export function resolveModel(options: { dir?: string; name: string; precision: ModelPrecision; verify?: boolean }): ModelEntry {
  const dir = modelsDir(options.dir);
  const sums = readChecksums(dir);
  const entry = sums.models.find((m) => m.name === options.name && m.precision === options.precision);
  if (!entry) {
    const known = sums.models.map((m) => `${m.name} (${m.precision})`).join(', ');
    throw new Error(`model '${options.name}' at ${options.precision} is not in ${path.join(dir, 'checksums.json')}; available: ${known || 'none'}`);
  }
  if (options.verify ?? true) verifyModelFiles(dir);
  const sha256 = sums.files[entry.file];
  if (!sha256) throw new Error(`checksums.json lists model ${entry.name} but no checksum for ${entry.file}`);
  return {
    dir,
    name: entry.name,
    version: entry.version,
    precision: entry.precision,
    path: path.join(dir, entry.file),
    sha256,
    ...(entry.grid ? { grid: gridOf(entry.grid) } : {}),
  };
}

interface ModelSetting {
  dir: string;
  name: string;
  precision: string;
  verifyChecksums: boolean;
}

/**
 * The files the configured precision lets the node run: the one forced, or under 'auto' each of FP32 and INT8 that
 * checksums.json lists for the model (the node times them when it starts and runs the faster). What the node calls
 * at start: with model.verifyChecksums these and the atlas must match checksums.json, and it throws naming the
 * file, so that the node does not start on a wrong model.
 */
export function modelCandidates(model: ModelSetting, verify = model.verifyChecksums): ModelEntry[] {
  const { precision } = model;
  if (precision !== 'auto' && precision !== 'FP32' && precision !== 'INT8') throw new Error(`model.precision must be auto, FP32 or INT8, not '${precision}'`);
  const dir = model.dir || undefined;
  if (precision !== 'auto') return [resolveModel({ dir, name: model.name, precision, verify })];
  const listed = new Set(readChecksums(modelsDir(dir)).models.filter((m) => m.name === model.name).map((m) => m.precision));
  const precisions = (['FP32', 'INT8'] as const).filter((p) => listed.has(p));
  // None listed: resolveModel names the models there are.
  return (precisions.length ? precisions : (['FP32'] as const)).map((p) => resolveModel({ dir, name: model.name, precision: p, verify }));
}

/** The precision a one-shot command (extract, evaluate-model) runs: under 'auto' INT8, since timing both would cost more than it saves on one image. */
export function oneShotPrecision(configured: 'auto' | ModelPrecision): ModelPrecision {
  return configured === 'auto' ? 'INT8' : configured;
}

