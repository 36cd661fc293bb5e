// INT8 post-training quantization: the arithmetic ONNX Runtime performs on the quantized graph is the one the
// quantizer promises (checked by hand on a tiny convolution), the accuracy-aware fallback finds the one layer
// that quantization ruins, and ONNX Runtime really runs integer kernels (optimised graph and profile).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { percentileRange } from '../src/tools/quantize/calibrate.js';
import { quantize } from '../src/tools/quantize/index.js';
import { attribute, decodeModel, encodeModel, floatTensor, inputShape, int64Tensor, node } from '../src/tools/quantize/onnx-model.js';
import { activationQuantization, convLayers, quantizeModel, roundHalfEven, weightQuantization } from '../src/tools/quantize/qdq.js';
import { createSession, runFloat } from '../src/tools/quantize/session.js';
import { loadAtlas } from '../src/pipeline/segmentation/atlas.js';
import { modelInput } from '../src/pipeline/segmentation/model-input.js';
import { resolveModel } from '../src/pipeline/segmentation/model-files.js';
import { readNifti } from '../src/pipeline/io/nifti.js';
import { listInputs } from '../src/tools/quantize/inputs.js';
import { sharedData, sharedDataPresent } from './shared-data.js';
import { isBrainLabel, renderLabelMap } from '../src/tools/quantize/label-images.js';
import { modelGrid } from '../src/tools/quantize/model-grid.js';
import { identityTransform } from '../src/pipeline/space/transform.js';
import { gridOf, withData } from '../src/pipeline/space/volume.js';
import { convChain, maskedResidualBlock, smoothInput } from './quantize-fixtures.js';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'brainstrip-quantize-'));
}

// round half to even, as QuantizeLinear and the requantisation of QLinearConv round
const roundEven = roundHalfEven;

describe('quantized arithmetic', () => {
  test('a 1×1×1 convolution with Relu gives exactly the hand-computed uint8 result', async () => {
    // 3 input channels, 2 output channels, 8 voxels
    const weights = Float32Array.from([0.5, -0.25, 0.125, -0.3, 0.7, 0.05]);
    const bias = Float32Array.from([0.1, -0.05]);
    const model = convChain({ channels: 3, size: 2 }, [{ name: 'conv', in: 3, out: 2, kernel: 1, relu: true, weights, bias }]);
    const x = Float32Array.from({ length: 24 }, (_, i) => -0.9 + ((i * 0.37) % 2.7));
    const ranges = new Map([
      ['x', { min: -1, max: 2 }],
      ['conv_relu', { min: 0, max: 1.5 }],
    ]);
    const layers = convLayers(model);
    expect(layers.map((l) => [l.name, l.output, l.foldedRelu])).toEqual([['conv', 'conv_relu', 'conv_Relu']]);
    const int8 = quantizeModel(model, ranges, ['conv']);
    expect(int8.graph.node.map((n) => n.op_type).filter((t) => t === 'Relu')).toEqual([]);

    const session = await createSession(encodeModel(int8));
    const y = (await runFloat(session, x, [1, 3, 2, 2, 2])).y;
    await session.release();

    // By hand: x → uint8 with scale 3/255 and zero point 85; weights int8 per output channel with scale
    // max|w|/127; bias int32 with scale xs·ws; integer accumulation; requantised to the output's uint8 scale
    // 1.5/255 with zero point 0 (the folded Relu); dequantised.
    const xs = Math.fround(3 / 255);
    const xzp = 85;
    expect(activationQuantization(ranges.get('x')!)).toEqual({ scale: xs, zeroPoint: xzp });
    const ys = Math.fround(1.5 / 255);
    const ws = [Math.fround(0.5 / 127), Math.fround(0.7 / 127)];
    const wq = [
      [127, roundEven(-0.25 / ws[0]), roundEven(0.125 / ws[0])],
      [roundEven(-0.3 / ws[1]), 127, roundEven(0.05 / ws[1])],
    ];
    expect(Array.from(weightQuantization(weights, 2).q)).toEqual(wq.flat());
    const expected = new Float32Array(16);
    for (let m = 0; m < 2; m++) {
      const bq = roundEven(bias[m] / Math.fround(xs * ws[m]));
      const multiplier = Math.fround(Math.fround(xs * ws[m]) / ys);
      for (let v = 0; v < 8; v++) {
        let acc = bq;
        for (let c = 0; c < 3; c++) {
          const xq = Math.min(255, Math.max(0, roundEven(x[c * 8 + v] / xs) + xzp));
          acc += (xq - xzp) * wq[m][c];
        }
        const yq = Math.min(255, Math.max(0, roundEven(Math.fround(acc * multiplier))));
        expected[m * 8 + v] = yq * ys;
      }
    }
    for (let i = 0; i < 16; i++) expect(y[i]).toBeCloseTo(expected[i], 6);
    // and it is the FP32 result to within the output's quantisation step (plus the input's rounding)
    for (let m = 0; m < 2; m++)
      for (let v = 0; v < 8; v++) {
        let f = bias[m];
        for (let c = 0; c < 3; c++) f += weights[m * 3 + c] * x[c * 8 + v];
        expect(Math.abs(y[m * 8 + v] - Math.min(1.5, Math.max(0, f)))).toBeLessThan(2 * ys);
      }
  });

  test('convolutions whose biases come through Identity nodes (shared constants of an export) are quantized', async () => {
    const model = convChain({ channels: 4, size: 6 }, [
      { name: 'A', in: 4, out: 4, kernel: 3, relu: true, bias: new Float32Array(4) },
      { name: 'B', in: 4, out: 4, kernel: 3, relu: true, bias: new Float32Array(4) },
    ]);
    const g = model.graph;
    g.initializer = g.initializer.filter((t) => !t.name!.endsWith('.bias'));
    g.initializer.push(floatTensor('zeros', [4], new Float32Array(4)));
    g.node.unshift(node('Identity', ['zeros'], ['A.bias'], 'shared_A'), node('Identity', ['zeros'], ['B.bias'], 'shared_B'));
    expect(convLayers(model).map((l) => [l.name, l.bias])).toEqual([
      ['A', 'zeros'],
      ['B', 'zeros'],
    ]);
    const calibration = [smoothInput(4, 6, 1)];
    const { report } = await quantize(encodeModel(model), { calibration, validation: [{ name: 'v', input: calibration[0] }], maxDiceDrop: 1, methods: ['minmax'] });
    expect(report.quantized).toEqual(['A', 'B']);
  });

  test('percentile calibration clips a rare outlier but keeps the bulk', () => {
    const h = new Float64Array(100);
    h.fill(1000, 0, 10); // values in [0, 1) of a [0, 10) range
    h[99] = 1; // one outlier near 10
    expect(percentileRange(h, { min: 0, max: 10 }, 0.9999)).toEqual({ min: 0, max: 1 });
    expect(percentileRange(h, { min: 0, max: 10 }, 1)).toEqual({ min: 0, max: 10 });
  });
});

describe('accuracy-aware fallback', () => {
  test('returns exactly the quantization-hostile layer to FP32', async () => {
    const size = 12;
    const random = (() => {
      let s = 7;
      return () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    })();
    const conv = (out: number, inCh: number) => Float32Array.from({ length: out * inCh * 27 }, () => random() * Math.sqrt(3 / (inCh * 27)));
    // B's first output channel is dead (Relu of a negative constant), so C may carry a huge weight on it
    // without any effect in FP32; with per-channel int8 scales that weight flattens every other weight of C to 0.
    const b = conv(8, 8);
    b.fill(0, 0, 8 * 27);
    const bBias = Float32Array.from({ length: 8 }, (_, m) => (m === 0 ? -1 : 0.05));
    const c = conv(8, 8);
    for (let m = 0; m < 8; m++) c[m * 8 * 27 + 13] = 500;
    // D's two classes are opposite, so the FP32 mask splits the volume rather than being mostly one class
    const d1 = Float32Array.from({ length: 8 }, () => random());
    const d = Float32Array.from([...d1.map((w) => -w), ...d1]);
    const model = convChain({ channels: 4, size }, [
      { name: 'A', in: 4, out: 8, kernel: 3, relu: true },
      { name: 'B', in: 8, out: 8, kernel: 3, relu: true, weights: b, bias: bBias },
      { name: 'C', in: 8, out: 8, kernel: 3, relu: true, weights: c },
      { name: 'D', in: 8, out: 2, kernel: 1, relu: false, weights: d, bias: new Float32Array(2) },
    ]);
    const calibration = [1, 2, 3, 4].map((s) => smoothInput(4, size, s));
    const validation = [11, 12, 13, 14].map((s) => ({ name: `v${s}`, input: smoothInput(4, size, s) }));
    const { model: bytes, report } = await quantize(encodeModel(model), { calibration, validation, maxDiceDrop: 0.02, methods: ['minmax'] });

    expect(report.fallback.initial.diceDrop).toBeGreaterThan(0.02);
    expect(report.fallback.ranking[0].layer).toBe('C');
    expect(report.fp32.map((f) => f.layer)).toEqual(['C']);
    expect(report.fp32[0].reason).toMatch(/accuracy fallback/);
    expect(report.quantized).toEqual(['A', 'B', 'D']);
    expect(report.withinLimit).toBe(true);
    const int8 = decodeModel(bytes);
    const convs = int8.graph.node.filter((n) => n.op_type === 'Conv');
    expect(convs.map((n) => n.name)).toEqual(['A', 'B', 'C', 'D']);
    // C reads FP32 weights; the others read int8 weights through DequantizeLinear
    expect(convs.find((n) => n.name === 'C')!.input[1]).toBe('C.weight');
    expect(convs.filter((n) => n.name !== 'C').every((n) => n.input[1].endsWith('_weight_dequantized'))).toBe(true);
    // and ONNX Runtime keeps it FP32 (it would quantize the float weights of a Conv behind a per-tensor
    // DequantizeLinear on its own)
    const dir = tmpdir();
    const session = await createSession(bytes, { optimizedModelFilePath: path.join(dir, 'optimized.onnx') });
    await session.release();
    const ops = decodeModel(new Uint8Array(fs.readFileSync(path.join(dir, 'optimized.onnx')))).graph.node.map((n) => n.op_type);
    expect(ops.filter((o) => o === 'QLinearConv')).toHaveLength(3);
    expect(ops.filter((o) => o === 'Conv' || o === 'FusedConv')).toHaveLength(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('ONNX Runtime runs integer kernels', () => {
  test('every quantized convolution becomes QLinearConv in the optimised graph and in the profile', async () => {
    const size = 12;
    const model = convChain({ channels: 4, size }, [
      { name: 'A', in: 4, out: 16, kernel: 3, relu: true },
      { name: 'B', in: 16, out: 16, kernel: 3, relu: true },
      { name: 'C', in: 16, out: 16, kernel: 3, relu: false },
      { name: 'D', in: 16, out: 2, kernel: 1, relu: false },
    ]);
    const calibration = [1, 2].map((s) => smoothInput(4, size, s));
    const { model: bytes, report } = await quantize(encodeModel(model), { calibration, validation: [{ name: 'v', input: smoothInput(4, size, 9) }], maxDiceDrop: 1, methods: ['minmax'] });
    expect(report.quantized).toEqual(['A', 'B', 'C', 'D']);

    const dir = tmpdir();
    const optimized = path.join(dir, 'optimized.onnx');
    const session = await createSession(bytes, { optimizedModelFilePath: optimized, profileFilePrefix: path.join(dir, 'profile') });
    await runFloat(session, smoothInput(4, size, 5), [1, 4, size, size, size]);
    session.endProfiling();
    await session.release();

    const ops = decodeModel(new Uint8Array(fs.readFileSync(optimized))).graph.node.map((n) => n.op_type);
    expect(ops.filter((o) => o === 'QLinearConv')).toHaveLength(4);
    expect(ops.filter((o) => o === 'Conv' || o === 'FusedConv')).toHaveLength(0);

    const profile = fs.readdirSync(dir).find((f) => f.startsWith('profile') && f.endsWith('.json'));
    expect(profile).toBeDefined();
    const events = JSON.parse(fs.readFileSync(path.join(dir, profile!), 'utf8')) as Array<{ cat: string; name: string; args?: { op_name?: string } }>;
    const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time')).map((e) => e.args?.op_name);
    expect(kernels.filter((k) => k === 'QLinearConv').length).toBeGreaterThanOrEqual(4);
    expect(kernels).not.toContain('Conv');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('integer elementwise steps', () => {
  test('a residual addition with its Relu and a product with a 0/1 mask run as QLinearAdd and QLinearMul', async () => {
    const size = 10;
    const model = maskedResidualBlock({ channels: 4, size });
    const calibration = [1, 2, 3].map((s) => smoothInput(4, size, s));
    const validation = [21, 22].map((s) => ({ name: `v${s}`, input: smoothInput(4, size, s) }));
    const { model: bytes, report } = await quantize(encodeModel(model), { calibration, validation, maxDiceDrop: 1, methods: ['minmax'] });
    expect(report.quantized).toEqual(['A', 'B', 'C', 'D']);
    // random weights make no clean two-class split to agree on; the logits themselves stay close
    expect(report.fp32VsInt8.outputError).toBeLessThan(0.02);

    // the mask is stored as uint8 zeros and ones behind a DequantizeLinear with scale 1: exact
    const int8 = decodeModel(bytes);
    const maskQ = int8.graph.initializer.find((t) => t.name === 'mask_quantized')!;
    expect(maskQ.data_type).toBe(2);
    expect(new Set(maskQ.raw_data)).toEqual(new Set([0, 1]));
    expect(int8.graph.node.filter((n) => n.op_type === 'Relu')).toHaveLength(0);

    const dir = tmpdir();
    const session = await createSession(bytes, { optimizedModelFilePath: path.join(dir, 'optimized.onnx') });
    const y = (await runFloat(session, smoothInput(4, size, 21), [1, 4, size, size, size])).y;
    await session.release();
    const ops = decodeModel(new Uint8Array(fs.readFileSync(path.join(dir, 'optimized.onnx')))).graph.node.map((n) => n.op_type);
    expect(ops.filter((o) => o === 'QLinearAdd')).toHaveLength(1);
    expect(ops.filter((o) => o === 'QLinearMul')).toHaveLength(2);
    expect(ops.filter((o) => o === 'Add' || o === 'Mul' || o === 'Relu')).toHaveLength(0);
    fs.rmSync(dir, { recursive: true, force: true });

    // in the masked slice D sees zeros: every voxel there holds D's bias, requantised, in both classes
    const n = size ** 3;
    const last = (c: number) => Array.from({ length: size * size }, (_, v) => y[c * n + (size - 1) * size * size + v]);
    for (const c of [0, 1]) expect(new Set(last(c)).size).toBe(1);
  });

  test('a product an FP32 convolution reads stays FP32; the addition before it, read by the product, does not', () => {
    const size = 6;
    const model = maskedResidualBlock({ channels: 4, size });
    const ranges = new Map<string, { min: number; max: number }>();
    for (const t of ['x', 'A_relu', 'B_relu', 'B_masked', 'C_out', 'sum_relu', 'sum_masked', 'D_out']) ranges.set(t, { min: -1, max: 1 });
    const int8 = quantizeModel(model, ranges, ['A', 'B', 'C']);
    // D stays FP32 and reads the masked sum: a per-tensor DequantizeLinear there would let ONNX Runtime quantize
    // D's weights on its own, so the product reads the float mask and its result is not quantized
    expect(int8.graph.node.find((n) => n.name === 'sum_mask')!.input).toEqual(['sum_relu', 'mask']);
    expect(int8.graph.node.find((n) => n.name === 'sum_mask')!.output).toEqual(['sum_masked']);
    // the addition is quantized, its Relu folded into the output quantization
    expect(int8.graph.node.find((n) => n.name === 'residual')!.output).toEqual(['sum_relu_float']);
    expect(int8.graph.node.filter((n) => n.op_type === 'Relu')).toHaveLength(0);

    // the same through a Reshape between the product and the FP32 convolution
    const reshaped = maskedResidualBlock({ channels: 4, size });
    reshaped.graph.initializer.push(int64Tensor('same_shape', [5], [1, 16, size, size, size]));
    const d = reshaped.graph.node.find((n) => n.name === 'D')!;
    d.input[0] = 'sum_reshaped';
    reshaped.graph.node.splice(reshaped.graph.node.indexOf(d), 0, node('Reshape', ['sum_masked', 'same_shape'], ['sum_reshaped'], 'reshape'));
    const viaReshape = quantizeModel(reshaped, ranges, ['A', 'B', 'C']);
    expect(viaReshape.graph.node.find((n) => n.name === 'sum_mask')!.output).toEqual(['sum_masked']);
  });
});

describe('the shipped model', () => {
  test('reshuffles voxels only with operators that move whole blocks: no 5-D Resize, no Transpose above 6-D', () => {
    // ONNX Runtime's CPU Resize and its generic high-rank Transpose move one element at a time; the nearest ×2
    // upsampling and the output depth-to-space are exported as MatMul + Expand and DepthToSpace instead.
    for (const precision of ['FP32', 'INT8'] as const) {
      const graph = decodeModel(new Uint8Array(fs.readFileSync(resolveModel({ name: 'brainstrip-efficient', precision }).path))).graph;
      const ops = graph.node.map((n) => n.op_type);
      expect(ops, precision).not.toContain('Resize');
      expect(ops, precision).toContain('DepthToSpace');
      for (const transpose of graph.node.filter((n) => n.op_type === 'Transpose')) {
        expect(attribute(transpose, 'perm')?.ints?.length ?? 0, `${precision} ${transpose.name}`).toBeLessThanOrEqual(6);
      }
    }
  });

  test('runs its first level as 2-D convolutions over the depth slices, the form in which INT8 convolutions are fast', () => {
    // ONNX Runtime's 3-D QLinearConv gains almost nothing over FP32 at the first level, where most of the time
    // goes; training/onnx_layout.py exports that level as 2-D convolutions (taps, then the fixed depth sum).
    for (const precision of ['FP32', 'INT8'] as const) {
      const graph = decodeModel(new Uint8Array(fs.readFileSync(resolveModel({ name: 'brainstrip-efficient', precision }).path))).graph;
      const convs = graph.node.filter((n) => n.op_type === 'Conv');
      const rank = (n: (typeof convs)[number]) => attribute(n, 'kernel_shape')?.ints?.length;
      const firstLevel = convs.filter((n) => /^\/(enc|dec|head)\//.test(n.name ?? ''));
      expect(firstLevel.map(rank), precision).toEqual(Array(9).fill(2));
      expect(convs.filter((n) => rank(n) === 3).length, precision).toBe(convs.length - 9);
    }
  });

  test('quantizes to integer convolutions everywhere but the first, and its mask of the atlas head stays the FP32 mask', async () => {
    const fp32Path = resolveModel({ name: 'brainstrip-efficient', precision: 'FP32' }).path;
    const fp32 = new Uint8Array(fs.readFileSync(fp32Path));
    const shape = inputShape(decodeModel(fp32));
    const atlas = loadAtlas();
    const grid = modelGrid(fp32Path, atlas, shape);
    // the atlas template is a real head already in atlas space: the identity is its registration
    const input = modelInput(atlas.template, identityTransform(), grid);
    const { model, report } = await quantize(fp32, { calibration: [input], validation: [{ name: 'atlas', input }], maxDiceDrop: 1, methods: ['minmax'] });
    const first = convLayers(decodeModel(fp32))[0].name;
    expect(report.fp32.map((f) => f.layer)).toEqual([first]);
    expect(report.fp32[0].reason).toMatch(/input channel/);
    expect(report.quantized.length).toBe(report.layers - 1);
    expect(report.fp32VsInt8.agreement).toBeGreaterThan(0.99);

    const dir = tmpdir();
    const session = await createSession(model, { optimizedModelFilePath: path.join(dir, 'optimized.onnx') });
    await session.release();
    const ops = decodeModel(new Uint8Array(fs.readFileSync(path.join(dir, 'optimized.onnx')))).graph.node.map((n) => n.op_type);
    expect(ops.filter((o) => o === 'QLinearConv')).toHaveLength(report.quantized.length);
    expect(ops.filter((o) => o === 'Conv' || o === 'FusedConv')).toHaveLength(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

const labelMaps = path.join(sharedData, 'train', 'synthseg-label-maps');
describe.skipIf(!sharedDataPresent('the label-map rendering test', labelMaps))('calibration images from label maps', () => {
  test('a rendered label map is reproducible and its mask is exactly the brain labels', () => {
    const head = readNifti(path.join(labelMaps, 'training_seg_01.nii.gz'));
    // a 96³ block through the middle of the head (brain, skull and scalp) keeps the test quick
    const n = 96;
    const [nx, ny, nz] = head.dims;
    const block = new Float32Array(n ** 3);
    for (let k = 0; k < n; k++)
      for (let j = 0; j < n; j++)
        for (let i = 0; i < n; i++) block[i + n * (j + n * k)] = head.data[i + 80 + nx * (j + (ny - n) / 2 + ny * (k + (nz - n) / 2))];
    const labels = withData({ ...gridOf(head), dims: [n, n, n] }, block);
    expect(labels.data.some((l) => l >= 500) && labels.data.some((l) => isBrainLabel(l))).toBe(true);
    const a = renderLabelMap(labels, 't1', 7);
    const b = renderLabelMap(labels, 't1', 7);
    expect(Buffer.from(a.image.data.buffer).equals(Buffer.from(b.image.data.buffer))).toBe(true);
    let mismatches = 0;
    for (let v = 0; v < labels.data.length; v++) if (a.mask.data[v] !== (isBrainLabel(Math.round(labels.data[v])) ? 1 : 0)) mismatches++;
    expect(mismatches).toBe(0);
    expect(a.mask.dims).toEqual(labels.dims);
    expect(a.image.data.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
  });
});

describe('brainstrip quantize', () => {
  test('pairs images with their reference masks and takes series folders', () => {
    const dir = tmpdir();
    for (const f of ['b_t1.nii.gz', 'b_t1_mask.nii.gz', 'a_flair.nii', 'notes.txt']) fs.writeFileSync(path.join(dir, f), '');
    fs.mkdirSync(path.join(dir, 'series-1'));
    expect(listInputs(dir)).toEqual([
      { name: 'a_flair', path: path.join(dir, 'a_flair.nii') },
      { name: 'b_t1', path: path.join(dir, 'b_t1.nii.gz'), mask: path.join(dir, 'b_t1_mask.nii.gz') },
      { name: 'series-1', path: path.join(dir, 'series-1') },
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('answers --help with 0 and missing options with 2', async () => {
    const { run } = await import('../src/cli/quantize.js');
    const log = console.log;
    const error = console.error;
    console.log = () => {};
    console.error = () => {};
    try {
      expect(await run(['--help'])).toBe(0);
      expect(await run(['--model', 'm.onnx'])).toBe(2);
      expect(await run(['--model', 'm.onnx', '--calibration', 'c', '--out', 'o.onnx', '--method', 'entropy'])).toBe(2);
    } finally {
      console.log = log;
      console.error = error;
    }
  });
});
