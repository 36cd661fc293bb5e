#!/usr/bin/env python3
"""Trains a brainstrip brain extraction network on synthetic data generated from Colin27 (training/synth.py).

Resumable: checkpoints live outside git (default ~/.cache/brainstrip/training/<arch>/last.pt); rerunning the
same command continues where it stopped. The learning-rate schedule follows the elapsed training time against
--minutes, so a resumed run ends on the same schedule.

  # the shipped model (118 min on both cores of a 2-core machine)
  /usr/bin/python3 training/train.py --arch efficient --minutes 118 --export models/brainstrip-efficient-fp32.onnx
  # the seed paper's architecture, for comparison (105 min on 2 cores; on a CPU a 128^3 step of it takes
  # 75-99 s, so it learns from 64^3 crops; with a GPU, drop --crop to give it whole-grid steps)
  /usr/bin/python3 training/train.py --arch resunet-reference --crop 64 --threads 2 --minutes 105 \
      --export models/brainstrip-resunet-reference-fp32.onnx

A CUDA GPU is used when present (--device auto) and only shortens the run.
"""
import argparse
import json
import math
import os
import signal
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import synth  # noqa: E402
from export_onnx import export  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def loss_fn(logits, target):
    ce = F.cross_entropy(logits, target)
    p = torch.softmax(logits, 1)[:, 1]
    t = target.float()
    dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
    return ce + dice, float(dice)


def crop_box(shape, size, rng):
    """A random size^3 box of the grid (the whole grid when size is 0 or the grid size)."""
    if not size or size >= shape[-1]:
        return (slice(None),) * 3
    o = [int(rng.integers(0, shape[a] - size + 1)) for a in range(3)]
    return (slice(o[0], o[0] + size), slice(o[1], o[1] + size), slice(o[2], o[2] + size))


def prior_crop(model, box, shape, args, rng):
    """The built-in atlas prior for a crop (or the whole grid), deliberately unreliable: shifted against the image
    by up to --prior-jitter voxels per axis (zeros shifted in at the edge) and, with probability --prior-dropout,
    absent (zeros). Registration leaves real heads off the atlas by more than the rigid/scale/elastic
    augmentation alone teaches, and a network that can trust its prior learns to copy it instead of reading the
    image."""
    prior = getattr(model, 'prior', None)
    if prior is None:
        return None
    size = [(b.stop - b.start) if b.start is not None else shape[a] for a, b in enumerate(box)]
    if rng.random() < args.prior_dropout:
        return torch.zeros((1, 1, *size), dtype=prior.dtype, device=prior.device)
    j = args.prior_jitter
    padded = F.pad(prior, (j, j, j, j, j, j))
    shifted = []
    for a, b in enumerate(box):
        start = (b.start or 0) + j + int(rng.integers(-j, j + 1))
        shifted.append(slice(start, start + size[a]))
    return padded[(slice(None), slice(None)) + tuple(shifted)].contiguous()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--arch', default='efficient', choices=list(models.ARCHITECTURES))
    ap.add_argument('--minutes', type=float, default=118.0, help='training-time budget (wall clock, excluding exports)')
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--threads', type=int, default=0, help="torch intra-op threads (0 = torch's default; on the 2-core development machine that is 1, and 1 or 2 threads measured the same step time)")
    ap.add_argument('--device', default='auto')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--reuse', type=int, default=5, help='optimizer steps per generated sample (each a random crop, randomly mirrored left-right)')
    ap.add_argument('--crop', type=int, default=0, help='train on random crops of this size (multiple of 16; 0 or 128 = whole grid, the default: on a CPU a whole-grid step costs half a 96^3 crop step)')
    ap.add_argument('--prior-jitter', type=int, default=6, help='voxels (1.5 mm) by which the atlas prior is shifted against the image in training')
    ap.add_argument('--prior-dropout', type=float, default=0.2, help='probability of training a step without the atlas prior')
    ap.add_argument('--bn-recalibrate', type=int, default=12, help='before export, re-estimate BatchNorm statistics on this many whole-grid samples')
    ap.add_argument('--cache', default=os.path.expanduser('~/.cache/brainstrip/training'))
    ap.add_argument('--atlas', default=os.path.join(HERE, '..', 'models', 'atlas'))
    ap.add_argument('--export', help='ONNX path to write at the end')
    ap.add_argument('--early-export-minutes', type=float, default=0, help='also export after this much training (0: never)')
    args = ap.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device('cuda' if args.device == 'auto' and torch.cuda.is_available() else ('cpu' if args.device == 'auto' else args.device))
    workdir = os.path.join(args.cache, args.arch)
    os.makedirs(workdir, exist_ok=True)
    ckpt_path = os.path.join(workdir, 'last.pt')

    torch.manual_seed(args.seed)
    model = models.build(args.arch).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    state = {'step': 0, 'elapsed': 0.0, 'samples': 0, 'early_exported': False, 'history': []}
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        state = ck['state']
        print(f"resumed at step {state['step']}, {state['elapsed'] / 60:.1f} min", flush=True)

    atlas = synth.Atlas(args.atlas)
    # A different stream after every resume, so a resumed run does not replay the samples it has seen.
    gen = synth.Generator(atlas, seed=args.seed * 100003 + state['samples'])
    budget = args.minutes * 60
    warmup = 60.0

    def save():
        torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'state': state, 'arch': args.arch}, ckpt_path + '.tmp')
        os.replace(ckpt_path + '.tmp', ckpt_path)

    def recalibrate():
        # Crops see less background than the whole grid: BatchNorm's running statistics are re-estimated on whole
        # 128^3 samples (cumulative average) so that inference-mode normalisation matches what the node feeds.
        if args.bn_recalibrate <= 0:
            return
        bns = [mod for mod in model.modules() if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)]
        if not bns:
            return
        saved = [(b.momentum) for b in bns]
        for b in bns:
            b.reset_running_stats()
            b.momentum = None
        model.train()
        with torch.no_grad():
            for _ in range(args.bn_recalibrate):
                xr, _m = gen.sample()
                model(xr[None, None].to(device))
        for b, mom in zip(bns, saved):
            b.momentum = mom

    def do_export(path, tag):
        recalibrate()
        model.eval()
        meta = export(model.cpu(), path, extra={'arch': args.arch, 'steps': state['step'], 'samples': state['samples'],
                                                 'training_minutes': round(state['elapsed'] / 60, 1), 'tag': tag})
        model.to(device).train()
        print(f'exported {path}: {json.dumps(meta)}', flush=True)

    stop = {'now': False}

    def on_signal(signum, frame):
        stop['now'] = True  # finish the step, save, exit: rerunning the command resumes

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    model.train()
    last_save = time.time()
    running = None
    while state['elapsed'] < budget:
        if stop['now']:
            save()
            print(f"stopped at step {state['step']}; rerun the same command to resume", flush=True)
            return
        t0 = time.time()
        x, m = gen.sample()
        state['samples'] += 1
        for r in range(args.reuse):
            if state['elapsed'] >= budget:
                break
            box = crop_box(x.shape, args.crop, gen.rng)
            xb, mb = x[box].contiguous(), m[box].contiguous()
            pb = prior_crop(model, box, x.shape, args, gen.rng)
            if gen.rng.random() < 0.5:
                # left-right mirror (i axis), the built-in atlas prior with it: a consistent mirror-image sample
                xb, mb = xb.flip(-1), mb.flip(-1)
                pb = pb.flip(-1) if pb is not None else None
            if r > 0:
                # a cheap contrast change so that the reuses of one sample are not the same picture
                xb = xb.clamp(min=0) ** float(math.exp(gen.rng.normal(0, 0.2)))
            frac = state['elapsed'] / budget
            lr = args.lr * min(1.0, (state['elapsed'] + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * frac))
            for g in opt.param_groups:
                g['lr'] = lr
            logits = model(xb[None, None].to(device)) if pb is None else model(xb[None, None].to(device), pb)
            loss, dice = loss_fn(logits, mb[None].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            state['step'] += 1
            now = time.time()
            state['elapsed'] += now - t0
            t0 = now
            running = float(loss) if running is None else 0.98 * running + 0.02 * float(loss)
            if state['step'] % 25 == 0:
                state['history'].append({'step': state['step'], 'min': round(state['elapsed'] / 60, 2), 'loss': round(running, 4), 'lr': lr})
                print(f"step {state['step']} {state['elapsed'] / 60:.1f} min loss {running:.4f} (dice loss {dice:.3f}) lr {lr:.2e}", flush=True)
        if time.time() - last_save > 300:
            save()
            last_save = time.time()
        if args.export and args.early_export_minutes and not state['early_exported'] and state['elapsed'] >= args.early_export_minutes * 60:
            save()
            do_export(args.export, 'early')
            state['early_exported'] = True
    save()
    if args.export:
        do_export(args.export, 'final')
    with open(os.path.join(workdir, 'history.json'), 'w') as f:
        json.dump(state, f, indent=1)
    print('done', flush=True)


if __name__ == '__main__':
    main()
