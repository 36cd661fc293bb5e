// Reading ONNX Runtime profiles (enableProfiling): kernel time per node and per operator type per inference. The
// quantizer uses it to find convolutions that the CPU runs slower in INT8 than in FP32; the report uses it to show
// where the time goes before and after quantization.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSession, runFloat } from './session.js';

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

export interface NodeTime {
  node: string;
  op: string;
  msPerRun: number;
}

export interface Profile {
  runs: number;
  nodes: NodeTime[];
}

export function readProfile(file: string): Profile {
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as ProfileEvent[];
  const runs = Math.max(1, events.filter((e) => e.cat === 'Session' && e.name === 'model_run').length);
  const byNode = new Map<string, NodeTime>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !e.args?.op_name) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    const entry = byNode.get(node) ?? { node, op: e.args.op_name, msPerRun: 0 };
    entry.msPerRun += e.dur / 1000 / runs;
    byNode.set(node, entry);
  }
  return { runs, nodes: [...byNode.values()] };
}

export interface OperatorSummary {
  runs: number;
  totalMsPerRun: number;
  operators: Array<{ op: string; msPerRun: number; nodes: number }>;
}

export function operatorSummary(profile: Profile): OperatorSummary {
  const byOp = new Map<string, { msPerRun: number; nodes: number }>();
  for (const n of profile.nodes) {
    const e = byOp.get(n.op) ?? { msPerRun: 0, nodes: 0 };
    e.msPerRun += n.msPerRun;
    e.nodes++;
    byOp.set(n.op, e);
  }
  const operators = [...byOp].map(([op, e]) => ({ op, ...e })).sort((a, b) => b.msPerRun - a.msPerRun);
  return { runs: profile.runs, totalMsPerRun: operators.reduce((a, o) => a + o.msPerRun, 0), operators };
}

/** Profiles `runs` inferences (after one warm-up) of a model on one input. */
export async function profileModel(model: Uint8Array, input: Float32Array, shape: number[], options: { threads?: number; runs?: number } = {}): Promise<Profile> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-profile-'));
  try {
    const session = await createSession(model, { threads: options.threads, profileFilePrefix: path.join(dir, 'profile') });
    for (let r = 0; r <= (options.runs ?? 2); r++) await runFloat(session, input, shape);
    session.endProfiling();
    await session.release();
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('ONNX Runtime wrote no profile');
    return readProfile(path.join(dir, file));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Kernel time of the node ONNX Runtime made from the graph node `name`: the node itself, or the one its layout
 * transformation renamed `<name>_token_<n>`.
 */
export function nodeTime(profile: Profile, name: string): number | undefined {
  const hit = profile.nodes.filter((n) => n.node === name || n.node.startsWith(`${name}_token_`));
  return hit.length ? hit.reduce((a, n) => a + n.msPerRun, 0) : undefined;
}

/** Median latency of `runs` inferences after one warm-up. */
export async function medianLatencyMs(model: Uint8Array, input: Float32Array, shape: number[], options: { threads?: number; runs?: number } = {}): Promise<number> {
  const session = await createSession(model, { threads: options.threads });
  try {
    await runFloat(session, input, shape);
    const times: number[] = [];
    for (let r = 0; r < (options.runs ?? 3); r++) {
      const t0 = performance.now();
      await runFloat(session, input, shape);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  } finally {
    await session.release();
  }
}
