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


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--arch', default='efficient', choices=list(models.ARCHITECTURES))
    ap.add_argument('--checkpoint', default=None, help='default ~/.cache/brainstrip/training/<arch>/last.pt')
    ap.add_argument('--out', required=True)
    args = ap.parse_args()
    ck = torch.load(args.checkpoint or os.path.expanduser(f'~/.cache/brainstrip/training/{args.arch}/last.pt'), map_location='cpu')
    model = models.build(args.arch)
    model.load_state_dict(ck['model'])
    st = ck['state']
    print(json.dumps(export(model, args.out, {'arch': args.arch, 'steps': st['step'], 'samples': st['samples'],
                                              'training_minutes': round(st['elapsed'] / 60, 1)})))


if __name__ == '__main__':
    main()
