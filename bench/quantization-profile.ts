// Per-operator summary of an ONNX Runtime profile (enableProfiling): kernel time per operator type per inference,
// to show where the time goes before and after quantization and that the integer kernels are the ones running.
import fs from 'node:fs';

export interface ProfileSummary {
  runs: number;
  totalMsPerRun: number;
  operators: Array<{ op: string; msPerRun: number; nodes: number }>;
}

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

export function summariseProfile(file: string): ProfileSummary {
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as ProfileEvent[];
  const runs = Math.max(1, events.filter((e) => e.cat === 'Session' && e.name === 'model_run').length);
  const byOp = new Map<string, { us: number; nodes: Set<string> }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !e.args?.op_name) continue;
    const entry = byOp.get(e.args.op_name) ?? { us: 0, nodes: new Set<string>() };
    entry.us += e.dur;
    entry.nodes.add(e.name);
    byOp.set(e.args.op_name, entry);
  }
  const operators = [...byOp]
    .map(([op, { us, nodes }]) => ({ op, msPerRun: us / 1000 / runs, nodes: nodes.size }))
    .sort((a, b) => b.msPerRun - a.msPerRun);
  return { runs, totalMsPerRun: operators.reduce((a, o) => a + o.msPerRun, 0), operators };
}
