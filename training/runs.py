#!/usr/bin/env python3
"""Prints the training runs a checkpoint records (train.py writes one record per segment: the first start and each
resume) as the model card's table: machine (CPU model, instruction sets, threads, precision, device), steps,
samples and minutes.

  /usr/bin/python3 training/runs.py training/checkpoints/efficient-image.pt
"""
import sys

import torch


def table(state):
    rows = ['| started | machine | instruction sets | threads | precision | batch | steps | samples | minutes |',
            '|---|---|---|---|---|---|---|---|---|']
    # Runs before the records were kept: what the checkpoint's lineage says of them.
    for run in state.get('lineage', []):
        rows.append(f"| (before records) | {run['run']} | not recorded | | | | {run['steps']:,} | {run['samples']:,} | {run['minutes']:.1f} |")
    for run in state.get('runs', []):
        machine = run.get('gpu') or run['cpu']
        steps = run.get('to_step', run['from_step']) - run['from_step']
        samples = run.get('to_samples', run['from_samples']) - run['from_samples']
        minutes = run.get('to_min', run['from_min']) - run['from_min']
        rows.append(f"| {run['started']} | {machine} ({run['cores']} cores, {run['device']}) | {' '.join(run['cpu_features']) or '–'} | "
                    f"{run['torch_threads']} | {run['precision']} | {run['batch']} | {steps:,} | {samples:,} | {minutes:.1f} |")
    rows.append(f"\ntotal: step {state['step']:,}, {state['samples']:,} samples, {state['elapsed'] / 60:.1f} minutes of training")
    return '\n'.join(rows)


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(table(torch.load(sys.argv[1], map_location='cpu', weights_only=False)['state']))
