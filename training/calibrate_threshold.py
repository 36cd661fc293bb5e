#!/usr/bin/env python3
"""Dice of a trained network's mask against the label-map convention at several thresholds of P(brain), and its
HD95 on the model grid at 0.5, on heads
rendered from the TRAINING label maps (1-17) by the training generator: the data on which a decision threshold
may be chosen. `--set held-out` renders maps 18-20 instead, to report on, never to choose from.

Also compares checkpoints on the same fixed renders (several --weights), so that a training run can be judged
without looking at the held-out evaluation.

  /usr/bin/python3 training/calibrate_threshold.py --weights training/checkpoints/efficient-image.pt [--renders 17]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heads  # noqa: E402
import models  # noqa: E402
from evaluate import hd95  # noqa: E402
from export_onnx import recalibrate_batchnorm  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--weights', action='append', required=True, help='checkpoint or weights file (repeatable)')
    ap.add_argument('--arch', default='efficient-image', choices=list(models.ARCHITECTURES))
    ap.add_argument('--grid', default=os.path.join(HERE, 'grids', 'head-1.6mm.json'))
    ap.add_argument('--maps', default=heads.DEFAULT_MAPS)
    ap.add_argument('--set', choices=['training', 'held-out'], default='training')
    ap.add_argument('--renders', type=int, default=17)
    ap.add_argument('--seed', type=int, default=9001)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--bn-recalibrate', type=int, default=0,
                    help='re-estimate BatchNorm statistics on this many training-map samples first (as export_onnx.py does)')
    ap.add_argument('--json')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    indices = heads.TRAINING_MAPS if args.set == 'training' else heads.VALIDATION_MAPS
    gen = heads.HeadGenerator(heads.load_grid(args.grid), maps_dir=args.maps, indices=indices, seed=args.seed)
    renders = [gen.sample() for _ in range(args.renders)]
    report = {'set': args.set, 'renders': args.renders, 'seed': args.seed, 'weights': {}}
    for path in args.weights:
        model = models.build(args.arch)
        model.load_state_dict(torch.load(path, map_location='cpu', weights_only=False)['model'])
        if args.bn_recalibrate > 0:
            bn_gen = heads.HeadGenerator(heads.load_grid(args.grid), maps_dir=args.maps, seed=4243)
            recalibrate_batchnorm(model, lambda: bn_gen.sample()[:2], args.bn_recalibrate)
        model.eval()
        per_threshold = {t: [] for t in THRESHOLDS}
        surface = []
        with torch.no_grad():
            for x, m, valid in renders:
                p = torch.softmax(model(x[None, None]), 1)[0, 1]
                v = valid > 0 if valid is not None else torch.ones_like(m, dtype=torch.bool)
                truth = (m == 1) & v
                for t in THRESHOLDS:
                    pred = (p >= t) & v
                    per_threshold[t].append(float(2 * (pred & truth).sum() / max(1, int(pred.sum() + truth.sum()))))
                surface.append(hd95(((p >= 0.5) & v).numpy(), truth.numpy(), (gen.grid.spacing,) * 3))
        means = {t: sum(d) / len(d) for t, d in per_threshold.items()}
        best = max(means, key=means.get)
        report['weights'][path] = {'meanDice': {str(t): round(d, 4) for t, d in means.items()},
                                   'worstDiceAt0.5': round(min(per_threshold[0.5]), 4), 'best': best,
                                   'diceAt0.5': [round(d, 4) for d in per_threshold[0.5]],
                                   'meanHd95MmAt0.5': round(sum(surface) / len(surface), 3),
                                   'hd95MmAt0.5': [round(h, 2) for h in surface]}
        print(f"{path} ({args.set} maps, {args.renders} renders): " +
              ', '.join(f"{t}: {d:.4f}" for t, d in means.items()) +
              f"; worst at 0.5 {min(per_threshold[0.5]):.4f}; best threshold {best}; mean HD95 at 0.5 "
              f"{sum(surface) / len(surface):.2f} mm (model grid)\n  at 0.5 per render: " +
              ' '.join(f'{d:.3f}' for d in per_threshold[0.5]) + '\n  HD95 per render: ' +
              ' '.join(f'{h:.1f}' for h in surface), flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)


if __name__ == '__main__':
    main()
