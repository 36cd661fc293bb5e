#!/usr/bin/env python3
"""Widens a trained efficient-image net (16 channels at its first level) to efficient-image-32 without changing
what it computes (Net2Net): every first-level channel is split into two copies; a layer that reads them gets the
old weight shared between the copies in random proportions, so the wider net starts exactly where the trained one
stands and the copies can still learn to differ. Writes a checkpoint for train.py --init-checkpoint.

  /usr/bin/python3 training/widen.py --weights training/checkpoints/efficient-image.pt \
      --out training/checkpoints/efficient-image-32-init.pt
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heads  # noqa: E402
import models  # noqa: E402

# The first level's layers: what the level's channels are to each (its output 'out', its input 'in', or both).
FIRST_LEVEL = {'stem.0': 'out', 'enc.0.a.0': 'both', 'enc.0.b.0': 'both', 'down.0.0': 'in', 'reduce.2.0': 'out',
               'dec.2.a.0': 'both', 'dec.2.b.0': 'both', 'head': 'in'}
# BatchNorms that follow a widened output: their per-channel values are copied with it.
FIRST_LEVEL_NORMS = ('stem.1', 'enc.0.a.1', 'enc.0.b.1', 'reduce.2.1', 'dec.2.a.1', 'dec.2.b.1')


def widen_state(narrow, factor, generator):
    """The narrow net's state dict with its first-level channels repeated `factor` times."""
    c = narrow['stem.0.weight'].shape[0]
    share = torch.rand(c, factor, generator=generator) * 0.4 + 0.3
    share = share / share.sum(1, keepdim=True)  # how each old channel's outgoing weight is split among its copies
    wide = {}
    for key, value in narrow.items():
        layer, _, what = key.rpartition('.')
        role = FIRST_LEVEL.get(layer)
        v = value
        if role and what == 'weight':
            if role in ('in', 'both'):
                v = torch.cat([v * share[:, f].view(1, c, *([1] * (v.dim() - 2))) for f in range(factor)], 1)
            if role in ('out', 'both'):
                v = torch.cat([v] * factor, 0)
        elif role == 'out' and what == 'bias':
            v = torch.cat([v] * factor, 0)
        elif layer in FIRST_LEVEL_NORMS and what != 'num_batches_tracked':
            v = torch.cat([v] * factor, 0)
        wide[key] = v
    return wide


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--weights', required=True, help='an efficient-image checkpoint')
    ap.add_argument('--out', required=True)
    ap.add_argument('--seed', type=int, default=1)
    args = ap.parse_args()
    ck = torch.load(args.weights, map_location='cpu', weights_only=False)
    narrow = models.build('efficient-image')
    narrow.load_state_dict(ck['model'])
    wide = models.build('efficient-image-32')
    wide.load_state_dict(widen_state(ck['model'], 2, torch.Generator().manual_seed(args.seed)))

    x = heads.HeadGenerator(heads.load_grid(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'grids', 'head-1.6mm.json')),
                            indices=heads.TRAINING_MAPS, seed=5).sample()[0][None, None]
    with torch.no_grad():
        a, b = narrow.eval()(x), wide.eval()(x)
    gap = float((a - b).abs().max())
    print(f'largest logit difference between the narrow and the widened net: {gap:.2e}')
    if gap > 1e-3:
        sys.exit('the widened net does not compute what the narrow one did')
    state = dict(ck['state'])
    state['widened_from'] = os.path.basename(args.weights)
    torch.save({'model': wide.state_dict(), 'state': state, 'arch': 'efficient-image-32'}, args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
