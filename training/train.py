#!/usr/bin/env python3
"""Trains a brainstrip brain extraction network on synthetic heads: by default SynthStrip-style from the SynthSeg
whole-head label maps 1-17 (training/heads.py; maps 18-20 are held out), or from Colin27 alone (--data colin27,
training/synth.py, the recipe of models up to 1.1.0).

Resumable: checkpoints live in --cache (default ~/.cache/brainstrip/training/<arch>/last.pt); rerunning the
same command continues where it stopped, and --checkpoint-copy keeps a copy (weights + optimiser, a few MB) where
the next machine finds it. The learning-rate schedule follows the elapsed training time against --minutes, so a
resumed run ends on the same schedule.

  # the shipped model: the image-only efficient net on the 1.6 mm head grid, fine-tuned from 1.1.0's weights
  /usr/bin/python3 training/train.py --arch efficient-image --grid training/grids/head-1.6mm.json \
      --init-onnx models/brainstrip-efficient-fp32-1.1.0.onnx --minutes 120 --threads 2 \
      --checkpoint-copy training/checkpoints/efficient-image.pt --export models/brainstrip-efficient-fp32.onnx
  # the seed paper's architecture, for comparison (105 min on 2 cores; on a CPU a 128^3 step of it takes
  # 75-99 s, so it learns from 64^3 crops; with a GPU, drop --crop to give it whole-grid steps)
  /usr/bin/python3 training/train.py --arch resunet-reference --crop 64 --threads 2 --minutes 105 \
      --export models/brainstrip-resunet-reference-fp32.onnx

A CUDA GPU is used when present (--device auto) and only shortens the run: there the heads are generated on the
GPU in the training process (--generate inline), several per step (--batch), in bfloat16 autocast (--amp):

  python3 training/train.py --arch efficient-image --batch 8 --reuse 1 --amp --minutes 8 \
      --init-checkpoint training/checkpoints/efficient-image.pt --maps <packed maps> \
      --weights-copy <out>/efficient-image-weights.pt
  # <packed maps>: `python3 training/heads.py pack <dir>` (label maps without nibabel)

On a CPU with AVX-512 BF16 or AMX (lscpu: avx512_bf16, amx_bf16), --amp (bfloat16 autocast) trains about 1.8x
faster than fp32 on the same cores. Every run segment records its machine, precision, steps, samples and minutes
in the checkpoint (training/runs.py prints them).
"""
import argparse
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heads  # noqa: E402
import models  # noqa: E402
import synth  # noqa: E402
from export_onnx import export, init_from_onnx, recalibrate_batchnorm  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# The instruction sets that decide how fast a CPU trains and runs the network (bf16 autocast needs AVX-512 BF16 or
# AMX to pay; INT8 inference VNNI or AMX).
CPU_FEATURES = ('avx2', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_bf16', 'amx_int8')


def machine_record(device, amp):
    """What a run segment ran on, for the model card: CPU model and instruction sets, threads, precision, device."""
    cpu, flags = 'unknown', set()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name') and cpu == 'unknown':
                    cpu = line.split(':', 1)[1].strip()
                elif line.startswith('flags') and not flags:
                    flags = set(line.split(':', 1)[1].split())
    except OSError:
        pass
    record = {'cpu': cpu, 'cpu_features': [f for f in CPU_FEATURES if f in flags], 'cores': os.cpu_count(),
              'torch_threads': torch.get_num_threads(), 'torch': torch.__version__, 'device': device.type,
              'precision': 'bf16 autocast' if amp else 'fp32',
              'started': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}
    if device.type == 'cuda':
        record['gpu'] = torch.cuda.get_device_name(device)
    return record


def boundary_weights(target, gap_weight, far_weight):
    """Per-voxel weights of the cross-entropy that make the errors which set the surface distance count more: the
    narrow clefts of non-brain between brain (the interhemispheric fissure, the tentorium's notch; the target's
    closing by two voxels less the target), which a coarse net bridges and which leave the reference's surface deep
    inside the mask; and voxels farther than three voxels from the target's surface, inside or out."""
    t = target.float()[:, None]

    def dilate(a, r):  # by a cube, one axis at a time
        for k in ((2 * r + 1, 1, 1), (1, 2 * r + 1, 1), (1, 1, 2 * r + 1)):
            a = F.max_pool3d(a, k, stride=1, padding=tuple(n // 2 for n in k))
        return a

    def erode(a, r):
        return -dilate(-a, r)

    w = torch.ones_like(t)
    if gap_weight > 0:
        w = w + gap_weight * (erode(dilate(t, 2), 2) - t).clamp(min=0)
    if far_weight > 0:
        w = w + far_weight * ((1 - dilate(t, 3)) + erode(t, 3))
    return w[:, 0]


def loss_fn(logits, target, valid=None, weights=None):
    """Cross-entropy (weighted per voxel when weights are given) + soft Dice over the voxels inside the field of
    view (valid = 1)."""
    if valid is None:
        valid = torch.ones_like(target, dtype=logits.dtype)
    ce_weights = valid if weights is None else valid * weights
    ce = (F.cross_entropy(logits, target, reduction='none') * ce_weights).sum() / valid.sum().clamp(min=1)
    p = torch.softmax(logits, 1)[:, 1] * valid
    t = target.float() * valid
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


class Sampler(torch.utils.data.IterableDataset):
    """Endless stream of (x, mask, valid) from a generator built inside the loader process."""

    def __init__(self, args, seed):
        self.args, self.seed = args, seed

    def __iter__(self):
        torch.set_num_threads(1)
        gen = make_generator(self.args, self.seed)
        while True:
            yield gen.sample()


def make_generator(args, seed, indices=None, device='cpu'):
    if args.data == 'heads':
        return heads.HeadGenerator(heads.load_grid(args.grid), maps_dir=args.maps, indices=indices or heads.TRAINING_MAPS,
                                   seed=seed, device=device)
    gen = synth.Generator(synth.Atlas(args.atlas), seed=seed)
    plain = gen.sample
    gen.sample = lambda: (*plain(), None)
    return gen


def validate(model, device, samples):
    """Dice on fixed samples of the held-out label maps (inside the field of view), in inference mode."""
    model.eval()
    dices = []
    with torch.no_grad():
        for x, m, valid in samples:
            pred = model(x[None, None].to(device)).argmax(1)[0]
            m = m.to(device)
            v = valid.to(device) > 0 if valid is not None else torch.ones_like(m, dtype=torch.bool)
            p, t = (pred == 1) & v, (m == 1) & v
            dices.append(float(2 * (p & t).sum() / max(1, int(p.sum() + t.sum()))))
    model.train()
    return dices


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--arch', default='efficient-image', choices=list(models.ARCHITECTURES))
    ap.add_argument('--data', default='heads', choices=['heads', 'colin27'])
    ap.add_argument('--grid', default=os.path.join(HERE, 'grids', 'head-1.6mm.json'), help="the network's grid (heads data)")
    ap.add_argument('--maps', default=heads.DEFAULT_MAPS, help='folder of the SynthSeg label maps')
    ap.add_argument('--init-onnx', help='start from the weights of this exported model (BatchNorm re-derived from the folded convolutions)')
    ap.add_argument('--minutes', type=float, default=120.0, help='training-time budget (wall clock, excluding exports)')
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--threads', type=int, default=0, help="torch intra-op threads (0 = torch's default)")
    ap.add_argument('--loader-workers', type=int, default=1, help='processes generating samples beside training')
    ap.add_argument('--device', default='auto')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--batch', type=int, default=1, help='samples per optimizer step')
    ap.add_argument('--generate', default='auto', choices=['auto', 'loader', 'inline'],
                    help='generate heads in a loader process (CPU) or in the training process on its device (auto: inline on a GPU)')
    ap.add_argument('--amp', action='store_true', help='bfloat16 autocast (a GPU, or a CPU with AVX-512 BF16 or AMX)')
    ap.add_argument('--init-checkpoint', help="start from this checkpoint's weights, with a new optimiser and schedule")
    ap.add_argument('--weights-copy', help='also keep the weights alone (no optimiser state) here at every save')
    ap.add_argument('--save-minutes', type=float, default=5)
    ap.add_argument('--reuse', type=int, default=2, help='optimizer steps per generated sample (each randomly mirrored left-right, the later ones with a gamma change)')
    ap.add_argument('--crop', type=int, default=0, help='train on random crops of this size (multiple of 16; 0 = whole grid)')
    ap.add_argument('--prior-jitter', type=int, default=6, help='voxels by which a built-in atlas prior is shifted against the image in training')
    ap.add_argument('--prior-dropout', type=float, default=0.2, help='probability of training a step without a built-in atlas prior')
    ap.add_argument('--freeze-bn', action='store_true',
                    help='keep the BatchNorm statistics as loaded (inference-mode normalisation while training): for '
                         'fine-tuning in batches too small to estimate them, as on a CPU')
    ap.add_argument('--bn-recalibrate', type=int, default=12, help='before export, re-estimate BatchNorm statistics on this many whole-grid samples')
    ap.add_argument('--gap-weight', type=float, default=0.0,
                    help='extra cross-entropy weight of the narrow clefts of non-brain between brain (boundary_weights)')
    ap.add_argument('--far-weight', type=float, default=0.0,
                    help='extra cross-entropy weight of the voxels farther than 3 voxels from the target surface (boundary_weights)')
    ap.add_argument('--validate-minutes', type=float, default=15, help='Dice on held-out label maps every this many minutes')
    ap.add_argument('--cache', default=os.path.expanduser('~/.cache/brainstrip/training'))
    ap.add_argument('--checkpoint-copy', help='also keep the checkpoint here (resumed from when the cache has none)')
    ap.add_argument('--atlas', default=os.path.join(HERE, '..', 'models', 'atlas'))
    ap.add_argument('--export', help='ONNX path to write at the end')
    args = ap.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device('cuda' if args.device == 'auto' and torch.cuda.is_available() else ('cpu' if args.device == 'auto' else args.device))
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest 3D convolutions
    workdir = os.path.join(args.cache, args.arch)
    os.makedirs(workdir, exist_ok=True)
    ckpt_path = os.path.join(workdir, 'last.pt')
    grid = heads.load_grid(args.grid) if args.data == 'heads' else None
    shape = (1, 1, *reversed(grid.dims)) if grid else (1, 1, 128, 128, 128)

    torch.manual_seed(args.seed)
    model = models.build(args.arch).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    state = {'step': 0, 'elapsed': 0.0, 'samples': 0, 'history': [], 'validation': [], 'data': args.data,
             'grid': os.path.basename(args.grid) if grid else 'atlas', 'init': args.init_onnx and os.path.basename(args.init_onnx)}
    resume = ckpt_path if os.path.exists(ckpt_path) else (args.checkpoint_copy if args.checkpoint_copy and os.path.exists(args.checkpoint_copy) else None)
    if resume:
        ck = torch.load(resume, map_location=device, weights_only=False)
        model.load_state_dict(ck['model'])
        if 'opt' in ck:  # a weights-only checkpoint (--weights-copy) resumes with a new optimiser state
            opt.load_state_dict(ck['opt'])
        state = ck['state']
        print(f"resumed from {resume} at step {state['step']}, {state['elapsed'] / 60:.1f} min", flush=True)
    elif args.init_checkpoint:
        ck = torch.load(args.init_checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(ck['model'])
        state['init'] = f"{os.path.basename(args.init_checkpoint)} (step {ck['state']['step']})"
        print(f"initialised from {args.init_checkpoint} (step {ck['state']['step']})", flush=True)
    elif args.init_onnx:
        init_gen = make_generator(args, 777)
        init_from_onnx(model, args.init_onnx, init_gen.sample()[0][None, None])
        print(f'initialised from {args.init_onnx}', flush=True)

    # Every segment of the run (the first, each resume) records its machine and what it did there.
    run = machine_record(device, args.amp)
    run.update({'from_step': state['step'], 'from_samples': state['samples'], 'from_min': round(state['elapsed'] / 60, 2),
                'batch': args.batch, 'reuse': args.reuse, 'lr': args.lr, 'command': ' '.join(sys.argv[1:])})
    state.setdefault('runs', []).append(run)
    print(f"machine: {json.dumps({k: run[k] for k in ('cpu', 'cpu_features', 'cores', 'torch_threads', 'device', 'precision', 'torch')})}", flush=True)

    # A different stream after every resume, so a resumed run does not replay the samples it has seen.
    seed = args.seed * 100003 + state['samples']
    rng = np.random.default_rng(seed)
    inline = args.generate == 'inline' or (args.generate == 'auto' and device.type == 'cuda')
    if inline:
        source = make_generator(args, seed, device=device)
        samples = iter(source.sample, None)
    else:
        samples = iter(torch.utils.data.DataLoader(Sampler(args, seed), batch_size=None, num_workers=args.loader_workers,
                                                   prefetch_factor=2 if args.loader_workers else None, persistent_workers=False))

    def next_batch():
        items = [next(samples) for _ in range(args.batch)]
        x = torch.stack([i[0] for i in items]).to(device)
        m = torch.stack([i[1] for i in items]).to(device)
        valid = torch.stack([i[2] for i in items]).to(device) if items[0][2] is not None else None
        return x, m, valid

    held_out = None
    if args.data == 'heads':
        vgen = make_generator(args, 4242, indices=heads.VALIDATION_MAPS, device=device if inline else 'cpu')
        held_out = [vgen.sample() for _ in range(12 if inline else 6)]
    budget = args.minutes * 60
    warmup = 60.0

    def save():
        run.update({'to_step': state['step'], 'to_samples': state['samples'], 'to_min': round(state['elapsed'] / 60, 2)})
        ck = {'model': model.state_dict(), 'opt': opt.state_dict(), 'state': state, 'arch': args.arch}
        weights = {'model': model.state_dict(), 'state': state, 'arch': args.arch}
        targets = [(ckpt_path, ck)] + ([(args.checkpoint_copy, ck)] if args.checkpoint_copy else []) + \
            ([(args.weights_copy, weights)] if args.weights_copy else [])
        for path, content in targets:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            torch.save(content, path + '.tmp')
            os.replace(path + '.tmp', path)

    def do_export(path, tag):
        if args.bn_recalibrate > 0:
            g = make_generator(args, 4243)
            recalibrate_batchnorm(model, lambda: g.sample()[:2], args.bn_recalibrate)
        model.eval()
        extra = {'arch': args.arch, 'steps': state['step'], 'samples': state['samples'],
                 'training_minutes': round(state['elapsed'] / 60, 1), 'tag': tag, 'data': args.data}
        if grid:
            with open(args.grid) as f:
                extra['grid'] = json.load(f)
        meta = export(model.cpu(), path, extra=extra, shape=shape)
        model.to(device)
        train_mode()
        print(f'exported {path}: {json.dumps(meta)}', flush=True)

    norms = [mod for mod in model.modules() if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)]

    def train_mode():
        model.train()
        if args.freeze_bn:
            for bn in norms:
                bn.eval()

    stop = {'now': False}

    def on_signal(signum, frame):
        stop['now'] = True  # finish the step, save, exit: rerunning the command resumes

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    train_mode()
    last_save = time.time()
    last_validation = state['elapsed']
    running = None
    while state['elapsed'] < budget:
        if stop['now']:
            save()
            print(f"stopped at step {state['step']}; rerun the same command to resume", flush=True)
            return
        t0 = time.time()
        x, m, valid = next_batch()  # [B, k, j, i]
        with torch.no_grad():
            weights = boundary_weights(m, args.gap_weight, args.far_weight) if args.gap_weight or args.far_weight else None
        state['samples'] += args.batch
        for r in range(args.reuse):
            if state['elapsed'] >= budget:
                break
            box = (slice(None),) + crop_box(x.shape[1:], args.crop, rng)
            xb, mb = x[box].contiguous(), m[box].contiguous()
            vb = valid[box].contiguous() if valid is not None else None
            wb = weights[box].contiguous() if weights is not None else None
            pb = prior_crop(model, box[1:], x.shape[1:], args, rng)
            if rng.random() < 0.5:
                # left-right mirror (i axis), the built-in atlas prior with it: a consistent mirror-image sample
                xb, mb = xb.flip(-1), mb.flip(-1)
                vb = vb.flip(-1) if vb is not None else None
                wb = wb.flip(-1) if wb is not None else None
                pb = pb.flip(-1) if pb is not None else None
            if r > 0:
                # a cheap contrast change so that the reuses of one sample are not the same picture
                xb = xb.clamp(min=0) ** float(math.exp(rng.normal(0, 0.2)))
            frac = state['elapsed'] / budget
            lr = args.lr * min(1.0, (state['elapsed'] + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * frac))
            for g in opt.param_groups:
                g['lr'] = lr
            inp = xb[:, None]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp):
                logits = model(inp) if pb is None else model(inp, pb)
            loss, dice = loss_fn(logits.float(), mb, vb, wb)
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
                print(f"step {state['step']} {state['elapsed'] / 60:.1f} min {state['samples']} samples loss {running:.4f} (dice loss {dice:.3f}) lr {lr:.2e}", flush=True)
        if held_out and state['elapsed'] - last_validation >= args.validate_minutes * 60:
            last_validation = state['elapsed']
            d = validate(model, device, held_out)
            train_mode()
            state['validation'].append({'step': state['step'], 'min': round(state['elapsed'] / 60, 1), 'dice': [round(v, 4) for v in d]})
            print(f"validation (held-out maps) step {state['step']}: mean Dice {sum(d) / len(d):.4f}, min {min(d):.4f}", flush=True)
        if time.time() - last_save > args.save_minutes * 60:
            save()
            last_save = time.time()
    save()
    if args.export:
        do_export(args.export, 'final')
    with open(os.path.join(workdir, 'history.json'), 'w') as f:
        json.dump(state, f, indent=1)
    print('done', flush=True)


if __name__ == '__main__':
    main()
