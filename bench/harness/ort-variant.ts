// One ONNX model timed in a process of its own (bench/quantization-variant.js), so that its peak RSS is its own:
// the node's session options, one warm-up, then `runs` timed inferences; optionally the mask of every input
// (`tag`) and an operator profile (`profile`, a file prefix; the file ONNX Runtime wrote comes back).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface VariantRun {
  latencyMs: number[];
  peakRssMb: number;
  masks: string[];
  /** The profile ONNX Runtime wrote, when one was asked for. */
  profileFile?: string;
}

/** ONNX Runtime appends a timestamp to the profile prefix: the newest file under it. */
function newestProfile(prefix: string): string {
  const dir = path.dirname(prefix);
  const base = path.basename(prefix);
  const found = fs
    .readdirSync(dir)
    .filter((n) => n.startsWith(base) && n.endsWith('.json'))
    .sort()
    .pop();
  if (!found) throw new Error(`no profile written under ${prefix}`);
  return path.join(dir, found);
}

export async function runVariant(model: string, threads: number, runs: number, shape: number[], inputs: string[], options: { tag?: string; profile?: string } = {}): Promise<VariantRun> {
  const args = [path.join(benchDir, 'quantization-variant.js'), '--model', model, '--threads', String(threads), '--runs', String(runs), '--shape', shape.join(',')];
  if (options.tag) args.push('--tag', options.tag);
  if (options.profile) args.push('--profile', options.profile);
  const { stdout } = await execFileAsync(process.execPath, [...args, ...inputs], { maxBuffer: 1 << 24 });
  const run = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as VariantRun;
  return options.profile ? { ...run, profileFile: newestProfile(options.profile) } : run;
}
