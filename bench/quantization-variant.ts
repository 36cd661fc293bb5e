// One row of the quantization report, measured in a process of its own so that its peak RSS is its own: an ONNX
// Runtime session with the node's options, one warm-up and `runs` timed inferences on the first input (peak RSS
// taken here), then the mask of every input written beside it (`<input>.<tag>.mask`), optionally with an
// operator profile.
//
//   node dist/bench/quantization-variant.js --model m.onnx --threads 2 --runs 5 --shape 1,1,128,144,128 \
//     --tag int8 [--profile <prefix>] input1.f32 [input2.f32 …]
// prints one JSON line: { latencyMs: [...], peakRssMb, masks: [...] }
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { createSession, runFloat } from '../src/tools/quantize/session.js';
import { maskFromLogits } from '../src/tools/quantize/validate.js';

function highWaterMarkKb(): number {
  const status = fs.existsSync('/proc/self/status') ? fs.readFileSync('/proc/self/status', 'utf8') : '';
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { model: { type: 'string' }, threads: { type: 'string' }, runs: { type: 'string' }, shape: { type: 'string' }, tag: { type: 'string' }, profile: { type: 'string' } },
  });
  const shape = (values.shape ?? '').split(',').map(Number);
  const read = (file: string) => {
    const buffer = fs.readFileSync(file);
    return new Float32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 4);
  };
  const session = await createSession(values.model!, { threads: Number(values.threads ?? 1), profileFilePrefix: values.profile });
  const first = read(positionals[0]);
  const latencyMs: number[] = [];
  await runFloat(session, first, shape);
  for (let r = 0; r < Number(values.runs ?? 3); r++) {
    const t0 = performance.now();
    await runFloat(session, first, shape);
    latencyMs.push(performance.now() - t0);
  }
  // peak RSS of the process up to here (one model, one input, warm-up and timed inferences), from VmHWM: Linux
  // carries getrusage's maxRSS over from the parent across fork and exec, VmHWM starts afresh with the new image
  const peakRssMb = Math.round(highWaterMarkKb() / 1024);
  const masks: string[] = [];
  if (values.tag) {
    for (const file of positionals) {
      const out = await runFloat(session, read(file), shape);
      fs.writeFileSync(`${file}.${values.tag}.mask`, maskFromLogits(out[session.outputNames[0]]));
      masks.push(`${file}.${values.tag}.mask`);
    }
  }
  if (values.profile) session.endProfiling();
  await session.release();
  console.log(JSON.stringify({ latencyMs, peakRssMb, masks }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exitCode = 1;
});
