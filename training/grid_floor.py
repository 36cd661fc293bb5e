#!/usr/bin/env python3
"""How close a perfect network could come to the held-out label maps' reference masks on a model grid of a given
spacing: each reference (the node's convention: brain labels, holes filled, nothing below the lowest cerebellar
slice) averaged onto a grid of that spacing, interpolated back linearly onto the 1 mm map and thresholded at 0.5,
as the node brings P(brain) back to a series' grid. Dice and HD95 (evaluate.py) against the reference: the part of
the error that the grid alone sets, below which no training can go.

  /usr/bin/python3 training/grid_floor.py [--spacing 1.6 --spacing 3.2]
"""
import argparse
import os
import sys

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heads  # noqa: E402
from evaluate import dice, hd95  # noqa: E402


def reference_mask(labels, affine):
    mask = ndi.binary_fill_holes((labels > 0) & (labels <= heads.BRAIN_MAX_LABEL))
    axis = int(np.argmax(np.abs(affine[2, :3])))  # the voxel axis nearest to superior
    rows = np.where(np.isin(labels, heads.CEREBELLUM_LABELS).any(axis=tuple(a for a in range(3) if a != axis)))[0]
    below = [slice(None)] * 3
    below[axis] = slice(0, rows.min()) if affine[2, axis] > 0 else slice(rows.max() + 1, None)
    mask[tuple(below)] = False
    return mask


def through_grid(mask, spacing):
    """The mask averaged over cells of `spacing` voxels, brought back by linear interpolation, thresholded."""
    # a Gaussian of the cell's variance: a box of a non-integer width, centred
    averaged = ndi.gaussian_filter(mask.astype(np.float32), sigma=spacing / np.sqrt(12))
    dims = [int(np.ceil(n / spacing)) for n in mask.shape]
    centres = [(np.arange(d) + 0.5) * spacing - 0.5 for d in dims]
    coarse = ndi.map_coordinates(averaged, np.meshgrid(*centres, indexing='ij'), order=1, mode='nearest')
    back = [(np.arange(n) + 0.5) / spacing - 0.5 for n in mask.shape]
    return ndi.map_coordinates(coarse, np.meshgrid(*back, indexing='ij'), order=1, mode='nearest') >= 0.5


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--maps', default=heads.DEFAULT_MAPS)
    ap.add_argument('--spacing', type=float, action='append', help='model grid spacing in mm (repeatable)')
    args = ap.parse_args()
    spacings = args.spacing or [1.6, 3.2]
    print('| label map | ' + ' | '.join(f'{s} mm grid: Dice / HD95 mm' for s in spacings) + ' |')
    print('|---|' + '---|' * len(spacings))
    for index in heads.VALIDATION_MAPS:
        labels, affine = heads.load_label_map(args.maps, index)
        mask = reference_mask(labels, affine)
        cells = []
        for s in spacings:
            coarse = through_grid(mask, s)
            cells.append(f'{dice(coarse, mask):.4f} / {hd95(coarse, mask, (1.0, 1.0, 1.0)):.2f}')
        print(f'| {index} | ' + ' | '.join(cells) + ' |', flush=True)


if __name__ == '__main__':
    main()
