#!/usr/bin/env python3
"""Exports a trained network to ONNX (opset 13, fixed input [1, 1, 128, 128, 128] named 'image', output
[1, 2, 128, 128, 128] named 'logits'), with BatchNorm in inference mode, and writes <model>.json beside it.

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


def export(model, path, extra=None):
    model = model.eval()
    dummy = torch.zeros(1, 1, 128, 128, 128)
    tmp = path + '.tmp'
    with torch.no_grad():
        torch.onnx.export(model, dummy, tmp, opset_version=13, input_names=['image'], output_names=['logits'],
                          do_constant_folding=True)
    os.replace(tmp, path)
    with open(path, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    meta = {'file': os.path.basename(path), 'sha256': digest, 'parameters': models.count_parameters(model),
            'flops': models.count_flops(model), 'input': [1, 1, 128, 128, 128], 'output': [1, 2, 128, 128, 128],
            'opset': 13, **(extra or {})}
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


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--arch', default='efficient', choices=list(models.ARCHITECTURES))
    ap.add_argument('--checkpoint', default=None, help='default ~/.cache/brainstrip/training/<arch>/last.pt')
    ap.add_argument('--out', required=True)
    ap.add_argument('--bn-recalibrate', type=int, default=12, help='whole-grid samples to re-estimate BatchNorm statistics on (0: as saved)')
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ck = torch.load(args.checkpoint or os.path.expanduser(f'~/.cache/brainstrip/training/{args.arch}/last.pt'), map_location='cpu')
    model = models.build(args.arch)
    model.load_state_dict(ck['model'])
    if args.bn_recalibrate:
        import synth
        gen = synth.Generator(synth.Atlas(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'models', 'atlas')), seed=4242)
        recalibrate_batchnorm(model, gen.sample, args.bn_recalibrate)
    st = ck['state']
    print(json.dumps(export(model, args.out, {'arch': args.arch, 'steps': st['step'], 'samples': st['samples'],
                                              'training_minutes': round(st['elapsed'] / 60, 1)})))


if __name__ == '__main__':
    main()
