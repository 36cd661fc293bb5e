#!/usr/bin/env python3
"""Evaluates a trained network on Colin27 under rigid transforms and contrast changes that the training
generator never produced, against the reference mask (models/atlas/brain-mask.nii.gz moved the same way).

Test cases are built from the 1 mm Colin27 (not the 1.5 mm template the generator uses), moved by fixed rigid
transforms (as left over after registration, and beyond the training range), resampled onto the model grid, and
given contrasts defined here only: PD-like, T2-like, FLAIR-like with a lesion, inverted T1, a non-monotonic
mapping, a heavy bias field, 5 mm slices. Prints a table (Dice and 95th-percentile Hausdorff distance, as in the
seed paper) and writes JSON.

  /usr/bin/python3 training/evaluate.py --arch efficient [--checkpoint ...] [--json out.json]
"""
import argparse
import json
import math
import os
import sys
import time

import nibabel as nib
import numpy as np
import torch
from scipy import ndimage as ndi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_atlas  # noqa: E402
import models  # noqa: E402
import synth  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# (name, rotation degrees about x/y/z, translation mm): none of these exact motions is drawn in training;
# the last ones are beyond its range (12 degrees, 8 mm).
MOTIONS = [
    ('identity', (0, 0, 0), (0, 0, 0)),
    ('pitch 7, shift 4', (7, 0, 0), (0, 4, -3)),
    ('roll -9, yaw 5', (0, -9, 5), (3, 0, 2)),
    ('mixed 10', (10, -6, 8), (-6, 5, 4)),
    ('beyond: pitch 18', (18, 0, 0), (0, 0, 0)),
    ('beyond: shift 14 mm', (0, 0, 0), (10, -8, 6)),
]


def rotation(deg):
    ax, ay, az = (math.radians(d) for d in deg)
    rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    rz = np.array([[math.cos(az), -math.sin(az), 0], [math.sin(az), math.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def contrasts(t1, labels, rng):
    """Contrasts defined only here. t1 in [0, 1] on the model grid, labels from the 1 mm classes."""
    csf, gm, wm = labels == 1, labels == 2, labels == 3
    head = labels > 0
    out = {}
    out['T1 (as acquired)'] = t1.copy()
    pd = np.where(csf, 0.85, np.where(gm, 0.75, np.where(wm, 0.62, 0.5 * t1 + 0.1))) * head
    out['PD-like'] = pd + 0.03 * ndi.gaussian_filter(rng.standard_normal(t1.shape), 1.0) * head
    t2 = np.where(csf, 1.0, np.where(gm, 0.45, np.where(wm, 0.3, 0.6 - 0.4 * t1))) * head
    out['T2-like'] = ndi.gaussian_filter(t2, 0.6)
    # FLAIR with a hyperintense lesion (oedema-like) in the right frontal white matter
    fl = np.where(csf, 0.05, np.where(gm, 0.5, np.where(wm, 0.38, 0.3 * t1))) * head
    zz, yy, xx = np.indices(t1.shape)
    lesion = ((zz - 80) ** 2 + (yy - 90) ** 2 + (xx - 45) ** 2) < 14 ** 2
    fl = np.where(lesion & (gm | wm), 0.95, fl)
    out['FLAIR-like with lesion'] = fl
    out['inverted T1'] = (1.0 - t1) * head
    out['non-monotonic'] = np.abs(np.sin(3.5 * t1)) * head
    zb, yb, xb = np.indices(t1.shape) / 128.0
    out['T1, strong bias'] = t1 * np.exp(0.9 * (xb - 0.5) + 0.6 * (zb - 0.5) ** 2)
    thick = ndi.zoom(ndi.zoom(t1, (1 / 3.3, 1, 1), order=1), (t1.shape[0] / round(t1.shape[0] / 3.3), 1, 1), order=1)
    out['T1, 5 mm slices'] = thick[: t1.shape[0]] if thick.shape[0] >= t1.shape[0] else np.pad(thick, ((0, t1.shape[0] - thick.shape[0]), (0, 0), (0, 0)))
    return out


def dice(a, b):
    a, b = a.astype(bool), b.astype(bool)
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else 2.0 * (a & b).sum() / s


def hd95(a, b, spacing_mm):
    """95th-percentile Hausdorff distance (mm) between the surfaces of two masks, as in BraTS and the seed paper:
    the larger of the two directed 95th percentiles."""
    if not a.any() or not b.any():
        return float('inf')
    sa = a & ~ndi.binary_erosion(a)
    sb = b & ~ndi.binary_erosion(b)
    to_b = ndi.distance_transform_edt(~sb, sampling=spacing_mm)
    to_a = ndi.distance_transform_edt(~sa, sampling=spacing_mm)
    return float(max(np.percentile(to_b[sa], 95), np.percentile(to_a[sb], 95)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--arch', default='efficient', choices=list(models.ARCHITECTURES))
    ap.add_argument('--checkpoint', default=None)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--json', default=None)
    ap.add_argument('--quick', action='store_true', help='two motions and three contrasts only (a progress check)')
    ap.add_argument('--templates', default='/usr/share/mricron/templates')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ck = torch.load(args.checkpoint or os.path.expanduser(f'~/.cache/brainstrip/training/{args.arch}/last.pt'), map_location='cpu')
    model = models.build(args.arch)
    model.load_state_dict(ck['model'])
    model.eval()

    img = nib.load(os.path.join(args.templates, 'ch2.nii.gz'))
    t1mm = np.asarray(img.dataobj, dtype=np.float32) / 255.0
    grid = json.load(open(os.path.join(HERE, '..', 'models', 'atlas', 'grid.json')))
    gaff = build_atlas.grid_affine_ras(grid)
    mask_grid = np.asarray(nib.load(os.path.join(HERE, '..', 'models', 'atlas', 'brain-mask.nii.gz')).dataobj).astype(np.float32)
    labels1 = build_atlas.tissue_labels(np.asarray(img.dataobj, dtype=np.float32), build_atlas.convention_mask(np.asarray(img.dataobj, dtype=np.float32), np.asarray(nib.load(os.path.join(args.templates, 'ch2bet.nii.gz')).dataobj, dtype=np.float32), img.affine))
    centre = gaff @ np.array([63.5, 63.5, 63.5, 1.0])
    rng = np.random.default_rng(7)
    rows = []
    for mname, deg, shift in (MOTIONS[2:4] if args.quick else MOTIONS):
        # motion in RAS mm about the grid centre: the moved head is sampled at M^-1(p)
        m = np.eye(4)
        m[:3, :3] = rotation(deg)
        m[:3, 3] = centre[:3] - m[:3, :3] @ centre[:3] + np.array(shift)
        minv = np.linalg.inv(m)
        t1 = build_atlas.resample_to_grid(ndi.gaussian_filter(t1mm, 0.47), img.affine, minv @ gaff, grid['dims'], order=1)
        lab = build_atlas.resample_to_grid(labels1, img.affine, minv @ gaff, grid['dims'], order=0)
        ref = build_atlas.resample_to_grid(mask_grid, gaff, minv @ gaff, grid['dims'], order=1) >= 0.5
        for cname, vol in contrasts(t1, lab, rng).items():
            if args.quick and cname not in ('T1 (as acquired)', 'T2-like', 'FLAIR-like with lesion'):
                continue
            x = torch.from_numpy(np.ascontiguousarray(vol.transpose(2, 1, 0), dtype=np.float32))
            x = synth.normalise(x * 1000)
            t0 = time.time()
            with torch.no_grad():
                logits = model(x[None, None])
            ms = (time.time() - t0) * 1000
            pred = (logits[0, 1] > logits[0, 0]).numpy().transpose(2, 1, 0)
            pred = ndi.binary_fill_holes(build_atlas.largest_component(pred))
            d = dice(pred, ref)
            h = hd95(pred, ref, grid['spacing'])
            rows.append({'motion': mname, 'contrast': cname, 'dice': round(float(d), 4), 'hd95_mm': round(h, 2), 'ms': round(ms)})
            print(f'{mname:24s} {cname:24s} Dice {d:.4f}  HD95 {h:5.2f} mm', flush=True)
    within = [r['dice'] for r in rows if not r['motion'].startswith('beyond')]
    beyond = [r['dice'] for r in rows if r['motion'].startswith('beyond')] or [float('nan')]
    summary = {'arch': args.arch, 'steps': ck['state']['step'], 'training_minutes': round(ck['state']['elapsed'] / 60, 1),
               'mean_dice_within_range': round(float(np.mean(within)), 4), 'min_dice_within_range': round(float(np.min(within)), 4),
               'mean_dice_beyond_range': round(float(np.mean(beyond)), 4), 'min_dice_beyond_range': round(float(np.min(beyond)), 4),
               'mean_hd95_mm_within_range': round(float(np.mean([r['hd95_mm'] for r in rows if not r['motion'].startswith('beyond')])), 2),
               'max_hd95_mm_within_range': round(float(np.max([r['hd95_mm'] for r in rows if not r['motion'].startswith('beyond')])), 2),
               'cases': rows}
    print(json.dumps({k: v for k, v in summary.items() if k != 'cases'}))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
