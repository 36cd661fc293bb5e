#!/usr/bin/env python3
"""PyTorch FP32 inference latency of the architectures on one volume (128^3 unless --shape; the baseline of
bench/model.bench.ts, which calls this script in the same run), and an ONNX export of each with random weights
so that ONNX Runtime can be timed on the same graphs (latency does not depend on the weights).

  /usr/bin/python3 training/bench_reference.py --threads 2 --runs 3 [--export-dir /tmp/x] [--shape 128,144,128]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
from export_onnx import export  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--arch', action='append', default=None)
    ap.add_argument('--export-dir', default=None)
    ap.add_argument('--shape', default='128,128,128', help='input size k,j,i (the model grid reversed)')
    ap.add_argument('--layout', default=None, help="ONNX layout of the exports (export_onnx.py: 'sliced' or '3d'; default per architecture)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = {'torch': torch.__version__, 'threads': args.threads, 'runs': args.runs, 'models': {}}
    for arch in args.arch or list(models.ARCHITECTURES):
        torch.manual_seed(0)
        model = models.build(arch).eval()
        shape = (1, 1, *(int(n) for n in args.shape.split(',')))
        x = torch.rand(*shape)
        with torch.no_grad():
            model(x)  # warm-up
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - t0) * 1000)
        entry = {'median_ms': round(statistics.median(times), 1) if times else None, 'runs_ms': [round(t, 1) for t in times],
                 'parameters': models.count_parameters(model), 'flops': models.count_flops(model, shape)}
        if args.export_dir:
            os.makedirs(args.export_dir, exist_ok=True)
            path = os.path.join(args.export_dir, f'{arch}{"-" + args.layout if args.layout else ""}-random-fp32.onnx')
            export(model, path, {'arch': arch, 'weights': 'random (latency only)'}, shape=shape, layout=args.layout)
            entry['onnx'] = path
        out['models'][arch] = entry
        print(f'{arch}: {entry["median_ms"]} ms', file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
