#!/usr/bin/env python3
"""Exports a trained network to ONNX (opset 13, fixed input [1, 1, k, j, i] named 'image', output [1, 2, k, j, i]
named 'logits'), with BatchNorm in inference mode, and writes <model>.json beside it. The efficient nets are
exported with their first level as 2-D convolutions (--layout sliced, the default; training/onnx_layout.py), the
same function in the form ONNX Runtime runs fastest, above all in INT8; --layout 3d writes the net as trained.

  /usr/bin/python3 training/export_onnx.py --arch efficient --out models/brainstrip-efficient-fp32.onnx
"""
import argparse
import hashlib
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import onnx_layout  # noqa: E402


def default_layout(model):
    return 'sliced' if isinstance(model, models.EfficientUNet) else '3d'


def export(model, path, extra=None, shape=(1, 1, 128, 128, 128), layout=None):
    model = model.eval()
    layout = layout or default_layout(model)
    graph = onnx_layout.for_export(model, shape, layout).eval()
    dummy = torch.zeros(*shape)
    tmp = path + '.tmp'
    with torch.no_grad():
        torch.onnx.export(graph, dummy, tmp, opset_version=13, input_names=['image'], output_names=['logits'],
                          do_constant_folding=True)
    os.replace(tmp, path)
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    meta = {'file': os.path.basename(path), 'sha256': digest, 'parameters': models.count_parameters(model),
            'flops': models.count_flops(model, tuple(shape)), 'input': list(shape), 'output': [shape[0], 2, *shape[2:]],
            'opset': 13, 'layout': layout, **(extra or {})}
    with open(os.path.splitext(path)[0] + '.json', 'w') as f:
        json.dump(meta, f, indent=1)
    return meta


def recalibrate_batchnorm(model, sample, count):
    """Re-estimates BatchNorm running statistics (cumulative average) on `count` whole-grid samples from
    sample() -> (x, mask): training on crops sees less background than the node's whole 128^3 grid."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns or count <= 0:
        return
    momenta = [b.momentum for b in bns]
    for b in bns:
        b.reset_running_stats()
        b.momentum = None
    was_training = model.training
    model.train()
    with torch.no_grad():
        for _ in range(count):
            x, _m = sample()
            model(x[None, None].to(next(model.parameters()).device))
    for b, m in zip(bns, momenta):
        b.momentum = m
    model.train(was_training)


def init_from_onnx(model, onnx_path, sample):
    """Loads the convolutions of an exported model (BatchNorm folded into them) into `model` and re-derives each
    BatchNorm so that it reproduces the folded layer in training mode on `sample` and in inference mode
    everywhere. A first convolution with more input channels than `model`'s keeps the leading ones (the image
    channel of a model that also saw the atlas prior)."""
    import onnx
    from onnx import numpy_helper

    g = onnx.load(onnx_path).graph
    if any('/taps/' in n.name for n in g.node):
        raise SystemExit(f'{onnx_path}: exported in the sliced layout; start from a checkpoint (--init-checkpoint) or a --layout 3d export')
    init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    def module_path(node_name):
        # '/enc.0/a/a.0/Conv' -> 'enc.0.a.0': each scope repeats its parent's name before its own index
        segments = node_name.strip('/').split('/')[:-1]
        path = [segments[0]]
        for prev, seg in zip(segments, segments[1:]):
            path.append(seg[len(prev) + 1:] if seg.startswith(prev + '.') else seg)
        return '.'.join(path)

    modules = dict(model.named_modules())
    pairs = []
    for n in g.node:
        if n.op_type == 'Conv':
            key = module_path(n.name)
            if not isinstance(modules.get(key), torch.nn.Conv3d):
                raise SystemExit(f'{onnx_path}: convolution {n.name} has no counterpart {key}')
            pairs.append((key, modules[key], init[n.input[1]], init[n.input[2]] if len(n.input) > 2 else None))
    if len(pairs) != sum(isinstance(m, torch.nn.Conv3d) for m in modules.values()):
        raise SystemExit(f'{onnx_path}: {len(pairs)} convolutions do not match the model')
    follows = {}
    for k, m, _w, _b in pairs:
        parent, _, idx = k.rpartition('.')
        seq = modules.get(parent)
        nxt = None
        if isinstance(seq, torch.nn.Sequential) and idx.isdigit() and int(idx) + 1 < len(seq):
            nxt = seq[int(idx) + 1]
        follows[k] = nxt if isinstance(nxt, torch.nn.BatchNorm3d) else None
    with torch.no_grad():
        for k, m, w, b in pairs:
            w = torch.from_numpy(w.copy())
            if w.shape[1] > m.weight.shape[1]:
                w = w[:, :m.weight.shape[1]]
            if w.shape != m.weight.shape:
                raise SystemExit(f'{k}: weight {tuple(w.shape)} against {tuple(m.weight.shape)}')
            m.weight.copy_(w)
            bn = follows[k]
            bias = torch.from_numpy(b.copy()) if b is not None else torch.zeros(w.shape[0])
            if bn is None:
                m.bias.copy_(bias)
                continue
            bn.running_mean.zero_(); bn.running_var.fill_(1 - bn.eps); bn.weight.fill_(1); bn.bias.copy_(bias)
        # inference mode now computes the folded network; measure each BatchNorm's input on the sample
        stats = {}
        hooks = [bn.register_forward_hook(lambda mod, inp, out, key=id(bn): stats.__setitem__(key, (inp[0].mean((0, 2, 3, 4)), inp[0].var((0, 2, 3, 4), unbiased=False))))
                 for bn in follows.values() if bn is not None]
        model.eval()
        model(sample)
        for h in hooks:
            h.remove()
        for bn in follows.values():
            if bn is None:
                continue
            mean, var = stats[id(bn)]
            bias = bn.bias.clone()
            bn.weight.copy_(torch.sqrt(var + bn.eps)); bn.bias.copy_(mean + bias)
            bn.running_mean.copy_(mean); bn.running_var.copy_(var)
    model.train()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--arch', default='efficient', choices=list(models.ARCHITECTURES))
    ap.add_argument('--checkpoint', default=None, help='default ~/.cache/brainstrip/training/<arch>/last.pt')
    ap.add_argument('--out', required=True)
    ap.add_argument('--grid', help="the network's grid (models trained on the label maps): input shape, BatchNorm samples, and the grid in <model>.json")
    ap.add_argument('--maps', help='label maps for BatchNorm samples on --grid (default: the SynthSeg folder)')
    ap.add_argument('--bn-recalibrate', type=int, default=12, help='whole-grid samples to re-estimate BatchNorm statistics on (0: as saved)')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--layout', choices=onnx_layout.LAYOUTS, help='default: sliced for the efficient nets, 3d otherwise')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ck = torch.load(args.checkpoint or os.path.expanduser(f'~/.cache/brainstrip/training/{args.arch}/last.pt'), map_location='cpu', weights_only=False)
    model = models.build(args.arch)
    model.load_state_dict(ck['model'])
    shape = (1, 1, 128, 128, 128)
    extra = {'arch': args.arch}
    if args.grid:
        import heads
        grid = heads.load_grid(args.grid)
        shape = (1, 1, *reversed(grid.dims))
        with open(args.grid) as f:
            extra['grid'] = json.load(f)
        extra['data'] = 'heads'
        if args.bn_recalibrate:
            gen = heads.HeadGenerator(grid, maps_dir=args.maps or heads.DEFAULT_MAPS, seed=4243)
            recalibrate_batchnorm(model, lambda: gen.sample()[:2], args.bn_recalibrate)
    elif args.bn_recalibrate:
        import synth
        gen = synth.Generator(synth.Atlas(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'models', 'atlas')), seed=4242)
        recalibrate_batchnorm(model, gen.sample, args.bn_recalibrate)
    st = ck['state']
    extra.update({'steps': st['step'], 'samples': st['samples'], 'training_minutes': round(st['elapsed'] / 60, 1)})
    print(json.dumps(export(model, args.out, extra, shape=shape, layout=args.layout)))


if __name__ == '__main__':
    main()
