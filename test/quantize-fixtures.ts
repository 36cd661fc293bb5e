// Small ONNX graphs for the quantizer's tests, built with the same protobuf schema the quantizer uses.
import {
  type ModelProto,
  type NodeProto,
  type TensorProto,
  floatTensor,
  floatValueInfo,
  intsAttribute,
  makeModel,
  node,
} from '../src/tools/quantize/onnx-model.js';
import { seededRandom } from '../src/pipeline/registration/similarity.js';

/** The registration's seeded generator, under the name the quantizer's tests use. */
export const seeded = seededRandom;

export interface ConvSpec {
  name: string;
  in: number;
  out: number;
  kernel: 1 | 3;
  relu: boolean;
  /** Weights [out][in][k][k][k] flattened; random when absent. */
  weights?: Float32Array;
  bias?: Float32Array;
}

/** A chain of 3D convolutions (padding keeps the size), each optionally followed by Relu. */
export function convChain(input: { channels: number; size: number }, convs: ConvSpec[], seed = 1): ModelProto {
  const random = seeded(seed);
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  let x = 'x';
  for (const c of convs) {
    const kk = c.kernel ** 3;
    const fanIn = c.in * kk;
    const w = c.weights ?? Float32Array.from({ length: c.out * fanIn }, () => (random() * 2 - 1) * Math.sqrt(3 / fanIn));
    const b = c.bias ?? Float32Array.from({ length: c.out }, () => (random() * 2 - 1) * 0.1);
    initializers.push(floatTensor(`${c.name}.weight`, [c.out, c.in, c.kernel, c.kernel, c.kernel], w), floatTensor(`${c.name}.bias`, [c.out], b));
    const pad = (c.kernel - 1) / 2;
    const y = `${c.name}_out`;
    nodes.push(node('Conv', [x, `${c.name}.weight`, `${c.name}.bias`], [y], c.name, [intsAttribute('kernel_shape', [c.kernel, c.kernel, c.kernel]), intsAttribute('pads', [pad, pad, pad, pad, pad, pad])]));
    x = y;
    if (c.relu) {
      nodes.push(node('Relu', [x], [`${c.name}_relu`], `${c.name}_Relu`));
      x = `${c.name}_relu`;
    }
  }
  const last = convs[convs.length - 1];
  nodes.push(node('Identity', [x], ['y'], 'output'));
  const s = input.size;
  return makeModel({
    name: 'test',
    node: nodes,
    initializer: initializers,
    input: [floatValueInfo('x', [1, input.channels, s, s, s])],
    output: [floatValueInfo('y', [1, last.out, s, s, s])],
  });
}

/** Smooth random inputs (blobs), so that a 2-class output has a boundary to get right or wrong. */
export function smoothInput(channels: number, size: number, seed: number): Float32Array {
  const random = seeded(seed);
  const n = size ** 3;
  const out = new Float32Array(channels * n);
  for (let c = 0; c < channels; c++) {
    const centres = Array.from({ length: 4 }, () => [random() * size, random() * size, random() * size, 2 + random() * size * 0.3, random() * 2 - 0.5]);
    for (let k = 0; k < size; k++)
      for (let j = 0; j < size; j++)
        for (let i = 0; i < size; i++) {
          let v = 0;
          for (const [x, y, z, r, a] of centres) v += a * Math.exp(-((i - x) ** 2 + (j - y) ** 2 + (k - z) ** 2) / (2 * r * r));
          out[c * n + i + size * (j + size * k)] = v + 0.02 * (random() - 0.5);
        }
  }
  return out;
}

/**
 * The pattern of the sliced layout's first level, in 3-D: A (conv + Relu) → B (conv + Relu) → × mask → C (conv) →
 * Relu(its input + its output) → × mask → D (1×1×1 conv to 2 classes). The mask zeroes the last slice.
 */
export function maskedResidualBlock(input: { channels: number; size: number }, seed = 3): ModelProto {
  const s = input.size;
  const chain = convChain(input, [
    { name: 'A', in: input.channels, out: 16, kernel: 3, relu: true },
    { name: 'B', in: 16, out: 16, kernel: 3, relu: true },
    { name: 'C', in: 16, out: 16, kernel: 3, relu: false },
    { name: 'D', in: 16, out: 2, kernel: 1, relu: false },
  ], seed);
  const g = chain.graph;
  const mask = Float32Array.from({ length: s ** 3 }, (_, v) => (Math.floor(v / (s * s)) === s - 1 ? 0 : 1));
  g.initializer.push(floatTensor('mask', [1, 1, s, s, s], mask));
  const conv = (name: string) => g.node.find((n) => n.name === name)!;
  conv('C').input[0] = 'B_masked';
  conv('D').input[0] = 'sum_masked';
  const at = g.node.indexOf(conv('C'));
  g.node.splice(at, 0, node('Mul', ['B_relu', 'mask'], ['B_masked'], 'B_mask'));
  g.node.splice(g.node.indexOf(conv('D')), 0, node('Add', ['B_masked', 'C_out'], ['sum'], 'residual'), node('Relu', ['sum'], ['sum_relu'], 'residual_Relu'), node('Mul', ['sum_relu', 'mask'], ['sum_masked'], 'sum_mask'));
  return chain;
}
