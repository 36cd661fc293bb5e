// The grid a model reads its input on, in one place: the `grid` of the model's entry in checksums.json or of
// its JSON sidecar when it carries one, otherwise the atlas grid. Its size must match the ONNX input shape.
import fs from 'node:fs';
import path from 'node:path';
import type { Atlas } from '../../pipeline/segmentation/atlas.js';
import { type Grid, gridOf } from '../../pipeline/space/volume.js';

function declaredGrid(modelPath: string): Grid | undefined {
  const dir = path.dirname(modelPath);
  const file = path.basename(modelPath);
  const checksums = path.join(dir, 'checksums.json');
  if (fs.existsSync(checksums)) {
    const json = JSON.parse(fs.readFileSync(checksums, 'utf8')) as { models?: Array<{ file: string; grid?: Grid }> };
    const entry = json.models?.find((m) => m.file === file);
    if (entry?.grid) return gridOf(entry.grid);
  }
  const sidecar = modelPath.replace(/\.onnx$/, '.json');
  if (sidecar !== modelPath && fs.existsSync(sidecar)) {
    const json = JSON.parse(fs.readFileSync(sidecar, 'utf8')) as { grid?: Grid };
    if (json.grid?.origin && json.grid.direction) return gridOf(json.grid);
  }
  return undefined;
}

/** `inputShape` is the ONNX input [1, 1, k, j, i]. */
export function modelGrid(modelPath: string, atlas: Atlas, inputShape: number[]): Grid {
  const grid = declaredGrid(modelPath) ?? atlas.grid;
  const [nx, ny, nz] = grid.dims;
  const [, , k, j, i] = inputShape;
  if (i !== nx || j !== ny || k !== nz) {
    throw new Error(`${modelPath}: input [${inputShape.join(', ')}] does not fit the grid ${grid.dims.join('×')} (declare the model's grid in checksums.json or its sidecar)`);
  }
  return grid;
}
