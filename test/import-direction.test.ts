// The code flows one way: cli → scp / ops → jobs → pool / scu → pipeline → config (with the shared base modules
// log, metrics, durable, ort-env and dimse-adapter at the bottom beside config, and the DICOM vocabulary of
// src/dicom — UIDs, status codes, errors — below them all). A module imports only from its own folder or a
// layer below it, never from a layer above or from a neighbour of the same layer; inside the pipeline the same
// holds for its folders (space → io → dicom / registration / segmentation → derived / quantize). Every import
// counts, type-only ones and dynamic import() too.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '..');

/** Rank of each layer: a module may import from a lower rank, or from its own layer. */
const LAYERS: Array<[layer: string, rank: number, paths: string[]]> = [
  ['dicom', 0, ['src/dicom/']],
  ['config', 1, ['config/']],
  ['base', 1, ['src/log.ts', 'src/metrics.ts', 'src/durable.ts', 'src/ort-env.ts', 'src/dimse-adapter.ts', 'src/memory.ts', 'src/data-folder.ts', 'src/version.ts']],
  ['pipeline', 2, ['src/pipeline/']],
  ['pool', 3, ['src/pool/']],
  ['scu', 3, ['src/scu/']],
  ['jobs', 4, ['src/jobs/']],
  ['scp', 5, ['src/scp/']],
  ['ops', 5, ['src/ops/']],
  ['cli', 6, ['src/cli/', 'src/cli.ts']],
];

const PIPELINE: Array<[folder: string, rank: number]> = [
  ['space', 0],
  ['io', 1],
  ['dicom', 2],
  ['registration', 2],
  ['segmentation', 2],
  ['derived', 3],
  ['quantize', 3],
];

function layerOf(file: string): { layer: string; rank: number } {
  for (const [layer, rank, prefixes] of LAYERS) if (prefixes.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p))) return { layer, rank };
  throw new Error(`${file} belongs to no layer: add it to LAYERS in test/import-direction.test.ts (and to the layout in README.md)`);
}

function pipelineFolderOf(file: string): { layer: string; rank: number } {
  const folder = file.split('/')[2];
  const entry = PIPELINE.find(([name]) => name === folder);
  if (!entry) throw new Error(`${file}: src/pipeline/${folder} is not one of the pipeline's folders (${PIPELINE.map(([n]) => n).join(', ')})`);
  return { layer: `pipeline/${entry[0]}`, rank: entry[1] };
}

/** Relative module specifiers of a TypeScript source: static imports and re-exports, side-effect imports, import(). */
export function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm;
  for (const match of source.matchAll(pattern)) specifiers.push(match[2]);
  return specifiers;
}

/** What is wrong with `from` importing `to` (repository-relative .ts paths), or undefined. */
export function violation(from: string, to: string): string | undefined {
  const a = layerOf(from);
  const b = layerOf(to);
  if (a.layer === 'pipeline' && b.layer === 'pipeline') {
    if (from.split('/').length === 3 || to.split('/').length === 3) return `${from} → ${to}: src/pipeline holds folders only`;
    const fa = pipelineFolderOf(from);
    const fb = pipelineFolderOf(to);
    if (fa.layer === fb.layer || fb.rank < fa.rank) return undefined;
    return `${from} (${fa.layer}) imports ${to} (${fb.layer}), which is ${fb.rank > fa.rank ? 'above it' : 'beside it'}`;
  }
  if (a.layer === b.layer || b.rank < a.rank) return undefined;
  return `${from} (${a.layer}) imports ${to} (${b.layer}), which is ${b.rank > a.rank ? 'above it' : 'beside it'}`;
}

function sources(dir: string): string[] {
  return fs
    .readdirSync(path.join(repo, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(repo, path.join(e.parentPath, e.name)));
}

describe('import direction', () => {
  it('no module of src/ or config/ imports from a layer above it or beside it', () => {
    const files = [...sources('src'), ...sources('config')];
    expect(files.length).toBeGreaterThan(50);
    const problems: string[] = [];
    for (const file of files) {
      for (const specifier of importsOf(fs.readFileSync(path.join(repo, file), 'utf8'))) {
        const target = path.relative(repo, path.resolve(path.dirname(path.join(repo, file)), specifier)).replace(/\.js$/, '.ts');
        if (!target.endsWith('.ts')) continue; // JSON and the like
        const problem = violation(file, target);
        if (problem) problems.push(problem);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the check itself catches an import upwards, sideways, and inside the pipeline', () => {
    expect(importsOf("import type { X } from '../pool/pool.js';\nexport { y } from './y.js';\nconst z = await import('../jobs/z.js');\nimport '../ort-env.js';")).toEqual([
      '../pool/pool.js',
      './y.js',
      '../jobs/z.js',
      '../ort-env.js',
    ]);
    expect(violation('src/pipeline/segmentation/segment.ts', 'src/pool/pool.ts')).toMatch(/above/);
    expect(violation('src/scp/scp.ts', 'src/ops/metrics.ts')).toMatch(/beside/);
    expect(violation('src/pipeline/space/geometry.ts', 'src/pipeline/dicom/frames.ts')).toMatch(/above/);
    expect(violation('src/jobs/process-series.ts', 'src/pool/pool.ts')).toBeUndefined();
    expect(violation('src/pipeline/derived/common.ts', 'src/log.ts')).toBeUndefined();
    expect(violation('src/log.ts', 'src/pipeline/space/volume.ts')).toMatch(/above/);
    expect(violation('src/pipeline/derived/segmentation.ts', 'src/dicom/uids.ts')).toBeUndefined();
    expect(violation('config/sections/receive.ts', 'src/dicom/uids.ts')).toBeUndefined();
    expect(violation('src/dicom/errors.ts', 'src/log.ts')).toMatch(/above/);
  });
});
