// Static INT8 quantization in the QDQ form that ONNX Runtime turns into QLinearConv: around each quantized Conv,
// QuantizeLinear→DequantizeLinear on the input activation (uint8, asymmetric, per tensor), int8 weights
// (symmetric, per output channel) and int32 bias behind DequantizeLinear, and QuantizeLinear→DequantizeLinear on
// the output. A Relu that is the only consumer of a Conv is folded into the output quantization: its range
// starts at 0, so the zero point is 0 and QuantizeLinear's clamp is the Relu. Two elementwise steps between
// quantized layers are quantized too, so that ONNX Runtime runs them on the integers (QLinearAdd, QLinearMul)
// instead of dequantizing, computing in float and quantizing again: a residual addition of two quantized tensors
// followed by a Relu (folded the same way), and a product with a constant 0/1 mask (the mask as uint8; the
// product keeps its input's quantization). Everything else stays FP32.
import {
  type ModelProto,
  type NodeProto,
  attribute,
  cloneModel,
  floatTensor,
  floatValues,
  int32Tensor,
  int8Tensor,
  intAttribute,
  node,
  uint8Tensor,
} from './onnx-model.js';

export interface TensorRange {
  min: number;
  max: number;
}

/** A Conv the quantizer may turn into integer arithmetic. */
export interface ConvLayer {
  /** The Conv node's name (its output name when unnamed): how reports and fallback name it. */
  name: string;
  input: string;
  /** Initializer names, found through any Identity nodes between them and the Conv. */
  weight: string;
  bias?: string;
  /** Output channels × input channels per group × kernel. */
  weightDims: number[];
  /** The tensor after the Conv, or after its folded Relu: where the output quantization sits. */
  output: string;
  /** The Conv's own output name (differs from `output` when a Relu is folded). */
  convOutput: string;
  foldedRelu?: string;
}

export interface ActivationQuantization {
  scale: number;
  zeroPoint: number;
}

/** uint8 asymmetric parameters for a range; the range always includes 0 so that 0 (padding) is exact. */
export function activationQuantization(range: TensorRange): ActivationQuantization {
  const lo = Math.min(range.min, 0);
  let hi = Math.max(range.max, 0);
  if (!(hi - lo > 1e-12)) hi = lo + 1e-12;
  // float32, as stored in the model, so that the bias scale below is exactly the one the kernels use
  const scale = Math.fround((hi - lo) / 255);
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

/** Round half to even, as ONNX QuantizeLinear rounds, so that the stored integers follow the same convention. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** int8 symmetric per-output-channel weights in [-127, 127] (the int8 range ONNX Runtime's kernels assume). */
export function weightQuantization(weights: Float32Array, outputChannels: number): { q: Int8Array; scales: Float32Array } {
  const per = weights.length / outputChannels;
  const q = new Int8Array(weights.length);
  const scales = new Float32Array(outputChannels);
  for (let m = 0; m < outputChannels; m++) {
    let amax = 0;
    for (let i = m * per; i < (m + 1) * per; i++) amax = Math.max(amax, Math.abs(weights[i]));
    const scale = amax > 0 ? amax / 127 : 1;
    scales[m] = scale;
    for (let i = m * per; i < (m + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, roundHalfEven(weights[i] / scale)));
  }
  return { q, scales };
}

/** Operators that move or reshape data without computing on it. */
const DATA_MOVEMENT = new Set(['Reshape', 'Slice', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity', 'Pad']);

function consumers(nodes: NodeProto[], tensor: string): NodeProto[] {
  return nodes.filter((n) => n.input.includes(tensor));
}

/** Every Conv with constant weights, in graph order, with the Relu folded where it is the only consumer. */
export function convLayers(model: ModelProto): ConvLayer[] {
  const g = model.graph;
  const initializers = new Map(g.initializer.map((t) => [t.name ?? '', t]));
  const graphOutputs = new Set(g.output.map((o) => o.name));
  // Exporters share equal constants (e.g. all-zero biases) between layers through Identity nodes.
  const identities = new Map(g.node.filter((n) => n.op_type === 'Identity').map((n) => [n.output[0], n.input[0]]));
  const constant = (name: string) => {
    let source = name;
    for (let hops = 0; identities.has(source) && hops < 16; hops++) source = identities.get(source)!;
    return initializers.has(source) ? source : undefined;
  };
  const layers: ConvLayer[] = [];
  for (const n of g.node) {
    if (n.op_type !== 'Conv' || (n.domain ?? '') !== '') continue;
    const weightName = constant(n.input[1]);
    const weight = weightName ? initializers.get(weightName) : undefined;
    if (!weightName || !weight || weight.data_type !== 1) continue;
    const biasName = n.input[2] ? constant(n.input[2]) : undefined;
    const bias = biasName ? initializers.get(biasName) : undefined;
    if (n.input[2] && !bias) continue;
    const convOutput = n.output[0];
    const next = consumers(g.node, convOutput);
    const relu = next.length === 1 && next[0].op_type === 'Relu' && !graphOutputs.has(convOutput) ? next[0] : undefined;
    layers.push({
      name: n.name || convOutput,
      input: n.input[0],
      weight: weightName,
      bias: biasName,
      weightDims: (weight.dims ?? []).map(Number),
      output: relu ? relu.output[0] : convOutput,
      convOutput,
      foldedRelu: relu ? relu.name || relu.output[0] : undefined,
    });
  }
  return layers;
}

/** An Add whose only consumer is a Relu: integer arithmetic when both its inputs are quantized. */
export interface ResidualAddition {
  add: NodeProto;
  relu: NodeProto;
  /** The Relu's output: where the output quantization sits. */
  output: string;
}

/** A Mul by a constant mask of zeros and ones (the zero rows of a sliced layout). */
export interface MaskProduct {
  mul: NodeProto;
  input: string;
  mask: string;
}

/** The elementwise steps the quantizer may run on integers, in graph order. */
export function elementwiseSteps(model: ModelProto): { additions: ResidualAddition[]; masks: MaskProduct[] } {
  const g = model.graph;
  const graphOutputs = new Set(g.output.map((o) => o.name));
  const initializers = new Map(g.initializer.map((t) => [t.name ?? '', t]));
  const additions: ResidualAddition[] = [];
  const masks: MaskProduct[] = [];
  for (const n of g.node) {
    if (n.op_type === 'Add' && n.input.length === 2 && !n.input.some((i) => initializers.has(i)) && !graphOutputs.has(n.output[0])) {
      const next = consumers(g.node, n.output[0]);
      if (next.length === 1 && next[0].op_type === 'Relu') additions.push({ add: n, relu: next[0], output: next[0].output[0] });
    } else if (n.op_type === 'Mul' && n.input.length === 2) {
      const m = n.input.findIndex((i) => initializers.get(i)?.data_type === 1);
      const values = m >= 0 ? floatValues(initializers.get(n.input[m])!) : undefined;
      if (values?.every((v) => v === 0 || v === 1)) masks.push({ mul: n, input: n.input[1 - m], mask: n.input[m] });
    }
  }
  return { additions, masks };
}

/** The tensors whose ranges calibration must measure to quantize `layers` (and the residual additions). */
export function calibrationTensors(layers: ConvLayer[], additions: ResidualAddition[] = []): string[] {
  return [...new Set([...layers.flatMap((l) => [l.input, l.output]), ...additions.map((a) => a.output)])];
}

/**
 * The model with `quantize` (layer names) in QDQ form, using calibrated `ranges` for their input and output
 * tensors. Layers not named stay FP32. The input model is not modified.
 */
export function quantizeModel(fp32: ModelProto, ranges: Map<string, TensorRange>, quantize: Iterable<string>): ModelProto {
  const model = cloneModel(fp32);
  const g = model.graph;
  const wanted = new Set(quantize);
  const layers = convLayers(model).filter((l) => wanted.has(l.name));
  for (const name of wanted) if (!layers.some((l) => l.name === name)) throw new Error(`quantize: no quantizable Conv named '${name}'`);
  const byConv = new Map(layers.map((l) => [l.convOutput, l]));
  const folded = new Set(layers.filter((l) => l.foldedRelu).map((l) => l.output));
  const initializers = new Map(g.initializer.map((t) => [t.name ?? '', t]));
  const range = (tensor: string): TensorRange => {
    const r = ranges.get(tensor);
    if (!r) throw new Error(`quantize: no calibrated range for tensor '${tensor}'`);
    return r;
  };
  // Tensors already available in dequantized form (a quantized layer's output): name → the DQ output name.
  const dequantized = new Map<string, string>();
  for (const l of layers) dequantized.set(l.output, l.output);
  // The quantization of each tensor that has one, for the mask products that keep their input's.
  const params = new Map<string, ActivationQuantization>();
  const steps = elementwiseSteps(model);
  const additions = new Map(steps.additions.map((a) => [a.add, a]));
  const masks = new Map(steps.masks.map((m) => [m.mul, m]));
  const foldedAdditionRelus = new Set<NodeProto>();
  // An elementwise step is quantized only where no FP32 convolution reads its result, directly or through ops
  // that only move data (ONNX Runtime carries a DequantizeLinear forward through those, and a Conv reading a
  // per-tensor DequantizeLinear gets its weights quantized: see the shielding below).
  const fp32Convs = new Set(convLayers(model).filter((l) => !wanted.has(l.name)).map((l) => l.input));
  const readByFp32Conv = (tensor: string, depth = 0): boolean =>
    fp32Convs.has(tensor) || (depth < 8 && consumers(g.node, tensor).some((c) => DATA_MOVEMENT.has(c.op_type) && c.input[0] === tensor && readByFp32Conv(c.output[0], depth + 1)));
  const quantizedMasks = new Map<string, string>();

  // Quantized layers' outputs, for FP32 convolutions that read them.
  const quantizedOutputs = new Map<string, { tag: string; params: ActivationQuantization; channels: number }>();
  const out: NodeProto[] = [];
  const added: typeof g.initializer = [];
  const qdq = (tensor: string, target: string, params: ActivationQuantization, tag: string) => {
    added.push(floatTensor(`${tag}_scale`, [], [params.scale]), uint8Tensor(`${tag}_zero_point`, [], Uint8Array.of(params.zeroPoint)));
    out.push(node('QuantizeLinear', [tensor, `${tag}_scale`, `${tag}_zero_point`], [`${tag}_quantized`], `${tag}_QuantizeLinear`));
    out.push(node('DequantizeLinear', [`${tag}_quantized`, `${tag}_scale`, `${tag}_zero_point`], [target], `${tag}_DequantizeLinear`));
  };

  for (const n of g.node) {
    if (n.op_type === 'Relu' && folded.has(n.output[0])) continue;
    if (foldedAdditionRelus.has(n)) continue;
    const addition = additions.get(n);
    if (addition && n.input.every((i) => dequantized.has(i)) && !readByFp32Conv(addition.output)) {
      // dequantized inputs, the Relu folded into the output quantization (its range starts at 0)
      const p = activationQuantization(range(addition.output));
      const sum = `${addition.output}_float`;
      out.push({ ...n, input: n.input.map((i) => dequantized.get(i)!), output: [sum] });
      qdq(sum, addition.output, p, `${addition.output}_output`);
      dequantized.set(addition.output, addition.output);
      params.set(addition.output, p);
      foldedAdditionRelus.add(addition.relu);
      continue;
    }
    const product = masks.get(n);
    const productInput = product ? params.get(product.input) : undefined;
    if (product && productInput && dequantized.get(product.input) === product.input && !readByFp32Conv(n.output[0])) {
      // zeros and ones are exact in uint8 with scale 1; the product stays in its input's range
      let maskQuantized = quantizedMasks.get(product.mask);
      if (!maskQuantized) {
        maskQuantized = `${product.mask}_dequantized`;
        quantizedMasks.set(product.mask, maskQuantized);
        const values = floatValues(initializers.get(product.mask)!);
        const dims = (initializers.get(product.mask)!.dims ?? []).map(Number);
        added.push(uint8Tensor(`${product.mask}_quantized`, dims, Uint8Array.from(values)), floatTensor(`${product.mask}_scale`, [], [1]), uint8Tensor(`${product.mask}_zero_point`, [], Uint8Array.of(0)));
        out.push(node('DequantizeLinear', [`${product.mask}_quantized`, `${product.mask}_scale`, `${product.mask}_zero_point`], [maskQuantized], `${product.mask}_DequantizeLinear`));
      }
      const productFloat = `${n.output[0]}_float`;
      out.push({ ...n, input: n.input.map((i) => (i === product.mask ? maskQuantized : i)), output: [productFloat] });
      qdq(productFloat, n.output[0], productInput, `${n.output[0]}_output`);
      dequantized.set(n.output[0], n.output[0]);
      params.set(n.output[0], productInput);
      continue;
    }
    const layer = n.op_type === 'Conv' ? byConv.get(n.output[0]) : undefined;
    if (!layer) {
      const shielded = n.op_type === 'Conv' ? quantizedOutputs.get(n.input[0]) : undefined;
      if (shielded) {
        // ONNX Runtime's WeightBiasQuantization quantizes the float weights (per tensor) of any Conv that reads
        // a per-tensor DequantizeLinear, which would undo the fallback. A per-channel DequantizeLinear with the
        // same scale in every channel computes the same values and is left alone.
        const { tag, params, channels } = shielded;
        const target = `${n.input[0]}_fp32_dequantized_for_${n.name || n.output[0]}`;
        added.push(floatTensor(`${tag}_scale_per_channel`, [channels], new Array(channels).fill(params.scale)), uint8Tensor(`${tag}_zero_point_per_channel`, [channels], new Uint8Array(channels).fill(params.zeroPoint)));
        out.push(node('DequantizeLinear', [`${tag}_quantized`, `${tag}_scale_per_channel`, `${tag}_zero_point_per_channel`], [target], `${target}_DequantizeLinear`, [intAttribute('axis', 1)]));
        out.push({ ...n, input: [target, ...n.input.slice(1)] });
      } else {
        out.push(n);
      }
      continue;
    }
    // An input produced by another quantized layer is read through that layer's output DequantizeLinear.
    const x = activationQuantization(range(layer.input));
    let xq = dequantized.get(layer.input);
    if (!xq) {
      xq = `${layer.input}_dequantized`;
      qdq(layer.input, xq, x, `${layer.input}_input`);
      dequantized.set(layer.input, xq);
    }
    const wTensor = initializers.get(layer.weight)!;
    const outputChannels = layer.weightDims[0];
    const w = weightQuantization(floatValues(wTensor), outputChannels);
    const wTag = `${layer.name}_weight`;
    added.push(
      int8Tensor(`${wTag}_quantized`, layer.weightDims, w.q),
      floatTensor(`${wTag}_scale`, [outputChannels], w.scales),
      int8Tensor(`${wTag}_zero_point`, [outputChannels], new Int8Array(outputChannels)),
    );
    out.push(node('DequantizeLinear', [`${wTag}_quantized`, `${wTag}_scale`, `${wTag}_zero_point`], [`${wTag}_dequantized`], `${wTag}_DequantizeLinear`, [intAttribute('axis', 0)]));
    const inputs = [xq, `${wTag}_dequantized`];
    if (layer.bias) {
      const b = floatValues(initializers.get(layer.bias)!);
      const bTag = `${layer.name}_bias`;
      const scales = w.scales.map((s) => s * x.scale);
      const q = new Int32Array(b.length);
      for (let m = 0; m < b.length; m++) q[m] = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, roundHalfEven(b[m] / scales[m])));
      added.push(int32Tensor(`${bTag}_quantized`, [b.length], q), floatTensor(`${bTag}_scale`, [b.length], scales), int32Tensor(`${bTag}_zero_point`, [b.length], new Int32Array(b.length)));
      out.push(node('DequantizeLinear', [`${bTag}_quantized`, `${bTag}_scale`, `${bTag}_zero_point`], [`${bTag}_dequantized`], `${bTag}_DequantizeLinear`, [intAttribute('axis', 0)]));
      inputs.push(`${bTag}_dequantized`);
    }
    const convFloat = `${layer.output}_float`;
    out.push({ ...n, input: inputs, output: [convFloat] });
    const outputParams = activationQuantization(range(layer.output));
    qdq(convFloat, layer.output, outputParams, `${layer.output}_output`);
    params.set(layer.output, outputParams);
    quantizedOutputs.set(layer.output, { tag: `${layer.output}_output`, params: outputParams, channels: outputChannels });
  }
  g.node = out;
  g.initializer = [...g.initializer, ...added];
  dropUnused(model);
  return model;
}

/** Removes initializers (and their graph-input entries) that no node reads any more: the replaced FP32 weights. */
function dropUnused(model: ModelProto): void {
  const g = model.graph;
  const used = new Set(g.node.flatMap((n) => n.input));
  for (const n of g.node) for (const a of n.attribute ?? []) if (a.t?.name) used.add(a.t.name);
  const unused = new Set(g.initializer.filter((t) => !used.has(t.name ?? '')).map((t) => t.name));
  g.initializer = g.initializer.filter((t) => !unused.has(t.name));
  g.input = g.input.filter((i) => !unused.has(i.name));
}

/** Input channels of a Conv layer (weights are [M, C/group, k…]). */
export function inputChannels(model: ModelProto, layer: ConvLayer): number {
  const conv = model.graph.node.find((n) => n.op_type === 'Conv' && n.output[0] === layer.convOutput);
  const group = conv ? Number(attribute(conv, 'group')?.i ?? 1) : 1;
  return layer.weightDims[1] * group;
}
