// The INT8-by-width benchmark splits an operator profile into the parts of the net by the layer names ONNX export
// keeps; a wrong split would put the time of the half-resolution level in the wrong column of its table.
import { describe, expect, it } from 'vitest';
import { netPart } from '../bench/int8-width.bench.js';

describe('netPart', () => {
  it('puts the stem, the first encoder and last decoder blocks and the head in the first level', () => {
    for (const node of ['/stem/stem.0/Conv', '/enc.0/a/a.0/Conv_token_1', '/dec.2/b/b.0/Conv', '/head/Conv_token_71']) {
      expect(netPart({ node, op: 'QLinearConv', msPerRun: 1 }, 2)).toBe('first level');
    }
  });

  it('puts the other convolutions in the coarser levels, whatever the precision', () => {
    for (const [node, op] of [['/enc.1/a/a.0/Conv', 'FusedConv'], ['/dec.0/b/b.0/Conv_token_45', 'QLinearConv'], ['/down.0/down.0.0/Conv', 'Conv'], ['/reduce.2/reduce.2.0/Conv', 'FusedConv']]) {
      expect(netPart({ node, op, msPerRun: 1 }, 2)).toBe('coarser levels');
    }
  });

  it('counts what is not a convolution apart', () => {
    expect(netPart({ node: '/enc.0/Add', op: 'Add', msPerRun: 1 }, 2)).toBe('other');
    expect(netPart({ node: 'Transpose_token_87', op: 'Transpose', msPerRun: 1 }, 2)).toBe('other');
    expect(netPart({ node: '/enc.0/b/b.0/Conv_output_0_output_DequantizeLinear', op: 'DequantizeLinear', msPerRun: 1 }, 2)).toBe('other');
  });
});
