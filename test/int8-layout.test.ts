// The INT8-by-layout benchmark splits an operator profile into the parts of the net by the layer names ONNX export
// keeps; a wrong split would put the time of the half-resolution level in the wrong column of its tables.
import { describe, expect, it } from 'vitest';
import { lastDecoderOf, netPart } from '../bench/int8-layout.bench.js';

const at = (node: string, op = 'QLinearConv') => ({ node, op, msPerRun: 1 });

describe('netPart', () => {
  it('puts the stem, the first encoder and last decoder blocks and the head of the 3-D graph in the first level', () => {
    for (const node of ['/stem/stem.0/Conv', '/enc.0/a/a.0/Conv_token_1', '/dec.2/b/b.0/Conv', '/head/Conv_token_71']) expect(netPart(at(node), 2)).toBe('first level');
  });

  it('puts the sliced graph’s 2-D blocks in the first level and its coarser blocks outside it', () => {
    for (const node of ['/enc/a/taps/Conv_token_1', '/enc/b/depth/Conv_token_11', '/dec/a/depth/Conv', '/head/Conv_token_85']) expect(netPart(at(node), 2)).toBe('first level');
    expect(netPart(at('/dec.1/a/a.0/Conv_token_60'), 2)).toBe('coarser levels');
  });

  it('puts the other convolutions in the coarser levels, whatever the precision', () => {
    for (const [node, op] of [['/enc.1/a/a.0/Conv', 'FusedConv'], ['/dec.0/b/b.0/Conv_token_45', 'QLinearConv'], ['/down.0/down.0.0/Conv', 'Conv'], ['/reduce.2/reduce.2.0/Conv', 'FusedConv']]) {
      expect(netPart(at(node, op), 2)).toBe('coarser levels');
    }
  });

  it('counts what is not a convolution apart', () => {
    expect(netPart(at('/enc.0/Add', 'Add'), 2)).toBe('other');
    expect(netPart(at('Transpose_token_87', 'Transpose'), 2)).toBe('other');
    expect(netPart(at('/enc/Mul', 'Mul'), 2)).toBe('other');
  });

  it('finds the last decoder from the downsamplings, which both layouts keep', () => {
    expect(lastDecoderOf([at('/down.0/down.0.0/Conv'), at('/down.2/down.2.0/Conv'), at('/dec.1/a/a.0/Conv'), at('/enc/a/taps/Conv')])).toBe(2);
  });
});
