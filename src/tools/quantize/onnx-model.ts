// ONNX models as plain objects: decoded and encoded by protobufjs from the ONNX schema (field names as in
// onnx.proto), with the few helpers the quantizer needs to read and build tensors, nodes and value infos.
import protobuf from 'protobufjs';
import { ONNX_PROTO } from './onnx-schema.js';

export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export interface TensorProto {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
}

export interface AttributeProto {
  name: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: number[];
}

export interface NodeProto {
  name?: string;
  op_type: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute?: AttributeProto[];
}

export interface ValueInfoProto {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: Array<{ dim_value?: number; dim_param?: string }> } } };
}

export interface GraphProto {
  name?: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info?: ValueInfoProto[];
}

export interface ModelProto {
  ir_version?: number;
  producer_name?: string;
  producer_version?: string;
  opset_import?: Array<{ domain?: string; version?: number }>;
  metadata_props?: Array<{ key: string; value: string }>;
  graph: GraphProto;
}

let modelType: protobuf.Type | undefined;
function schema(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

const toObjectOptions = { longs: Number, enums: Number, bytes: Uint8Array, arrays: true } as const;

export function decodeModel(bytes: Uint8Array): ModelProto {
  const type = schema();
  const model = type.toObject(type.decode(bytes), toObjectOptions) as ModelProto;
  if (!model.graph) throw new Error('not an ONNX model (no graph)');
  const g = model.graph;
  g.node ??= [];
  g.initializer ??= [];
  g.input ??= [];
  g.output ??= [];
  for (const n of g.node) {
    n.input ??= [];
    n.output ??= [];
  }
  return model;
}

export function encodeModel(model: ModelProto): Uint8Array {
  const type = schema();
  return type.encode(type.fromObject(model)).finish();
}

/** A deep copy (the quantizer builds many variants from one decoded FP32 model). */
export function cloneModel(model: ModelProto): ModelProto {
  return structuredClone(model);
}

function elementCount(dims: number[] = []): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** The values of a FLOAT tensor (raw_data or float_data). */
export function floatValues(t: TensorProto): Float32Array {
  if (t.data_type !== DataType.FLOAT) throw new Error(`tensor ${t.name}: expected FLOAT, found data type ${t.data_type}`);
  if (t.raw_data && t.raw_data.length) {
    const copy = new Uint8Array(t.raw_data);
    return new Float32Array(copy.buffer, 0, copy.length / 4);
  }
  const out = Float32Array.from(t.float_data ?? []);
  if (out.length !== elementCount(t.dims)) throw new Error(`tensor ${t.name}: ${out.length} values for shape [${t.dims}]`);
  return out;
}

export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  return { name, dims, data_type: DataType.FLOAT, raw_data: new Uint8Array(Float32Array.from(values).buffer) };
}

export function int8Tensor(name: string, dims: number[], values: Int8Array): TensorProto {
  return { name, dims, data_type: DataType.INT8, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

export function uint8Tensor(name: string, dims: number[], values: Uint8Array): TensorProto {
  return { name, dims, data_type: DataType.UINT8, raw_data: new Uint8Array(values) };
}

export function int32Tensor(name: string, dims: number[], values: Int32Array): TensorProto {
  return { name, dims, data_type: DataType.INT32, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

export function int64Tensor(name: string, dims: number[], values: number[]): TensorProto {
  return { name, dims, data_type: DataType.INT64, int64_data: values };
}

export function node(op_type: string, input: string[], output: string[], name: string, attributes: AttributeProto[] = []): NodeProto {
  return { op_type, input, output, name, attribute: attributes };
}

export function intAttribute(name: string, i: number): AttributeProto {
  return { name, type: AttributeType.INT, i };
}

export function intsAttribute(name: string, ints: number[]): AttributeProto {
  return { name, type: AttributeType.INTS, ints };
}

export function attribute(n: NodeProto, name: string): AttributeProto | undefined {
  return n.attribute?.find((a) => a.name === name);
}

export function floatValueInfo(name: string, dims?: number[]): ValueInfoProto {
  return {
    name,
    type: { tensor_type: { elem_type: DataType.FLOAT, ...(dims ? { shape: { dim: dims.map((d) => ({ dim_value: d })) } } : {}) } },
  };
}

/** The fixed dimensions of a graph input (throws on a symbolic one). */
export function inputShape(model: ModelProto, index = 0): number[] {
  const input = model.graph.input.filter((i) => !model.graph.initializer.some((t) => t.name === i.name))[index];
  if (!input) throw new Error(`the model has no graph input #${index}`);
  const dims = input.type?.tensor_type?.shape?.dim ?? [];
  return dims.map((d, a) => {
    if (typeof d.dim_value !== 'number' || d.dim_value <= 0) throw new Error(`input ${input.name}: dimension ${a} is not fixed`);
    return d.dim_value;
  });
}

/** A minimal model around a graph (tests and tools build small graphs with it). */
export function makeModel(graph: GraphProto, opset = 13): ModelProto {
  return { ir_version: 7, producer_name: 'brainstrip', opset_import: [{ domain: '', version: opset }], graph };
}
