#!/usr/bin/env python3
"""Draws where a brainstrip mask and an open-ms expert mask differ, for the model card: one row per image, an axial,
coronal and sagittal slice through the expert mask's centre, brainstrip's outline in red, the expert's in green,
shown at 1 mm in the image's closest RAS orientation.

  /usr/bin/python3 training/convention_figure.py --out models/convention-open-ms.png \\
      IMAGE.nii.gz:BRAINSTRIP_MASK.nii.gz:EXPERT_MASK.nii.gz [...]
(BRAINSTRIP_MASK from `brainstrip extract IMAGE --out DIR`, DIR/mask.nii.gz.)
"""
import argparse

import nibabel as nib
import numpy as np
from PIL import Image
from scipy import ndimage as ndi


def load(path):
    img = nib.as_closest_canonical(nib.load(path))
    return np.asarray(img.dataobj, dtype=np.float32), np.asarray(img.header.get_zooms()[:3], float)


def outline(mask):
    return mask & ~ndi.binary_erosion(mask)


def view(image, ours, expert, axis, index, zooms, size=260):
    take = lambda v: np.take(v, index, axis=axis)
    sl, a, b = take(image), take(ours) > 0, take(expert) > 0
    z = [zooms[i] for i in range(3) if i != axis]
    lo, hi = np.percentile(sl, 1), np.percentile(sl, 99.5)
    grey = np.clip((sl - lo) / max(hi - lo, 1e-6), 0, 1)
    rgb = np.repeat((grey * 255).astype(np.uint8)[..., None], 3, -1)
    rgb[outline(b)] = (40, 220, 40)
    rgb[outline(a)] = (230, 30, 30)
    # array [x, y] (RAS): show with superior/anterior up and the patient's left on the right (radiological)
    pic = Image.fromarray(np.flipud(rgb.transpose(1, 0, 2)))
    w, h = pic.size
    scale = min(size / (w * z[0]), size / (h * z[1]))
    return pic.resize((max(1, int(w * z[0] * scale)), max(1, int(h * z[1] * scale))), Image.NEAREST)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', required=True)
    ap.add_argument('cases', nargs='+')
    args = ap.parse_args()
    rows = []
    for case in args.cases:
        image_path, ours_path, expert_path = case.split(':')
        image, zooms = load(image_path)
        ours, _ = load(ours_path)
        expert, _ = load(expert_path)
        centre = np.round(np.argwhere(expert > 0).mean(0)).astype(int)
        views = [view(image, ours, expert, axis, centre[axis] + (int(12 / zooms[2]) if axis == 2 else 0), zooms) for axis in (2, 1, 0)]
        row = Image.new('RGB', (sum(v.size[0] for v in views) + 20, max(v.size[1] for v in views)))
        x = 0
        for v in views:
            row.paste(v, (x, 0))
            x += v.size[0] + 10
        rows.append(row)
    sheet = Image.new('RGB', (max(r.size[0] for r in rows), sum(r.size[1] for r in rows) + 10 * (len(rows) - 1)))
    y = 0
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.size[1] + 10
    sheet.save(args.out)


if __name__ == '__main__':
    main()
