// The code flows one way: cli → tools → scp / ops → jobs → pool / scu → pipeline → config (with the shared base
// modules log, metrics, durable, ort-env, dimse-adapter, ... at the bottom beside config, and the DICOM vocabulary of
// src/dicom — UIDs, status codes, errors — below them all). A module imports only from its own folder or a layer
// below it, never from a layer above or from a neighbour of the same layer; inside the pipeline the same holds for
// its folders (space → io → dicom / registration / segmentation → derived). The offline tools (INT8 quantization,
// the model's evaluation) sit above the runtime they use, so that nothing of the node imports them; only the CLI
// dispatches to them. Every import counts, type-only ones and dynamic import() too. And no files, no folders
// import each other in a circle.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '..');

/** Rank of each layer: a module may import from a lower rank, or from its own layer. */
const LAYERS: Array<[layer: string, rank: number, paths: string[]]> = [
  ['dicom', 0, ['src/dicom/']],
  ['config', 1, ['config/']],
  ['base', 1, ['src/log.ts', 'src/metrics.ts', 'src/durable.ts', 'src/ort-env.ts', 'src/dimse-adapter.ts', 'src/memory.ts', 'src/data-folder.ts', 'src/version.ts', 'src/onnx-session.ts', 'src/sqlite-schema.ts', 'src/cpu.ts']],
  ['pipeline', 2, ['src/pipeline/']],
  ['pool', 3, ['src/pool/']],
  ['scu', 3, ['src/scu/']],
  ['jobs', 4, ['src/jobs/']],
  ['scp', 5, ['src/scp/']],
  ['ops', 5, ['src/ops/']],
  ['tools', 6, ['src/tools/']],
  ['cli', 7, ['src/cli/', 'src/cli.ts']],
];

const PIPELINE: Array<[folder: string, rank: number]> = [
  ['space', 0],
  ['io', 1],
  ['dicom', 2],
  ['registration', 2],
  ['segmentation', 2],
  ['derived', 3],
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

/** Every import among the .ts sources of src/ and config/: file → the files it imports (repository-relative). */
function importGraph(): Map<string, string[]> {
  const files = [...sources('src'), ...sources('config')];
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = importsOf(fs.readFileSync(path.join(repo, file), 'utf8'))
      .map((specifier) => path.relative(repo, path.resolve(path.dirname(path.join(repo, file)), specifier)).replace(/\.js$/, '.ts'))
      .filter((target) => target.endsWith('.ts')); // JSON and the like
    graph.set(file, targets);
  }
  return graph;
}

/**
 * The folder a file belongs to. A file directly in src/ or config/ stands for itself: those roots hold modules of
 * different layers (the base modules and the CLI entry; the schema and the formats its sections use).
 */
function folderOf(file: string): string {
  const folder = path.dirname(file);
  return folder === 'src' || folder === 'config' ? file : folder;
}

/** The same imports between folders: folder → the other folders its files import from. */
export function folderGraph(graph: Map<string, string[]>): Map<string, string[]> {
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    const edges = folders.get(from) ?? new Set<string>();
    for (const target of targets) if (folderOf(target) !== from) edges.add(folderOf(target));
    folders.set(from, edges);
  }
  return new Map([...folders].map(([folder, edges]) => [folder, [...edges]]));
}

/** The import circles of a graph: each strongly connected component of more than one node, sorted (Tarjan). */
export function circles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(node, Math.min(low.get(node)!, index.get(target)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('import direction', () => {
  it('no module of src/ or config/ imports from a layer above it or beside it', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(50);
    const problems: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const problem = violation(file, target);
        if (problem) problems.push(problem);
      }
    }
    expect(problems).toEqual([]);
  });

  it('no import circle: neither between files nor between folders', () => {
    const graph = importGraph();
    expect(circles(graph)).toEqual([]);
    expect(circles(folderGraph(graph))).toEqual([]);
  });

  it('the circle check finds a circle between files and one between folders that no file circle shows', () => {
    const files = new Map([
      ['src/a/one.ts', ['src/a/two.ts']],
      ['src/a/two.ts', ['src/b/three.ts']],
      ['src/b/three.ts', ['src/a/one.ts', 'src/b/four.ts']],
      ['src/b/four.ts', []],
    ]);
    expect(circles(files)).toEqual([['src/a/one.ts', 'src/a/two.ts', 'src/b/three.ts']]);
    const folders = new Map([
      ['src/a/one.ts', ['src/b/three.ts']],
      ['src/b/four.ts', ['src/a/two.ts']],
      ['src/a/two.ts', []],
      ['src/b/three.ts', []],
    ]);
    expect(circles(folders)).toEqual([]);
    expect(circles(folderGraph(folders))).toEqual([['src/a', 'src/b']]);
    expect(circles(new Map([['src/log.ts', ['src/log.ts']]]))).toEqual([['src/log.ts']]);
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
    expect(violation('src/pipeline/derived/values.ts', 'src/log.ts')).toBeUndefined();
    expect(violation('src/log.ts', 'src/pipeline/space/volume.ts')).toMatch(/above/);
    expect(violation('src/pipeline/derived/segmentation.ts', 'src/dicom/uids.ts')).toBeUndefined();
    expect(violation('config/sections/receive.ts', 'src/dicom/uids.ts')).toBeUndefined();
    expect(violation('src/dicom/errors.ts', 'src/log.ts')).toMatch(/above/);
    expect(violation('src/jobs/processing/extract-brain.ts', 'src/tools/quantize/index.ts')).toMatch(/above/);
    expect(violation('src/pipeline/segmentation/segment.ts', 'src/tools/quantize/session.ts')).toMatch(/above/);
    expect(violation('src/tools/evaluate-model.ts', 'src/jobs/processing/extract-brain.ts')).toBeUndefined();
    expect(violation('src/cli/quantize.ts', 'src/tools/quantize/index.ts')).toBeUndefined();
    expect(violation('src/tools/evaluate-model.ts', 'src/cli/args.ts')).toMatch(/above/);
  });
});
