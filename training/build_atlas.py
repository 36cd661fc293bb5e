#!/usr/bin/env python3
"""Builds the atlas that brainstrip registers to and trains on, from Debian's mricron-data Colin27.

Outputs (on the model grid of models/atlas/grid.json: 128^3 voxels of 1.5 mm, RAS+ axes):
  models/atlas/template.nii.gz    Colin27 T1 head (uint8, intensities as in ch2.nii.gz)
  models/atlas/brain-mask.nii.gz  the brain mask in the BraTS / HD-BET convention (uint8 0/1)
  models/atlas/labels.nii.gz      coarse tissue classes used by the synthetic-contrast training generator

The mask convention (see issue 5): brain plus the CSF around it, inside the inner table of the skull,
ventricles included, nothing of skull, scalp, eyes or neck. Colin27's ch2bet follows the brain surface, so it
is brought to the convention by a fixed morphological recipe, done at 1 mm before resampling:

  1. ch2bet > 0, largest connected component, holes filled                    (the BET brain)
  2. morphological closing with a ball of CLOSE_MM                             (sulci and the fissure filled)
  3. geodesic dilation by up to GROW_MM, only into CSF-like voxels of the T1   (subarachnoid CSF up to the
     inner table: T1 in [CSF_LO, CSF_HI] - darker is cortical bone, brighter is diploe, fat and scalp)
  4. opening with a ball of OPEN_MM, largest component, holes filled           (no thin leaks)
  5. cut below the foramen magnum (MNI z < FORAMEN_Z_MM)                       (no cervical cord)

Usage: /usr/bin/python3 training/build_atlas.py [--templates /usr/share/mricron/templates] [--out models/atlas]
"""
import argparse
import json
import os

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

CLOSE_MM = 4
GROW_MM = 3
CSF_LO, CSF_HI = 28, 78
OPEN_MM = 2
FORAMEN_Z_MM = -62.0  # MNI z of the foramen magnum (basion) in Colin27, checked on sagittal slices


def ball(radius):
    r = int(np.ceil(radius))
    z, y, x = np.mgrid[-r:r + 1, -r:r + 1, -r:r + 1]
    return (x * x + y * y + z * z) <= radius * radius + 1e-6


def largest_component(mask):
    lab, n = ndi.label(mask)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == sizes.argmax()


def convention_mask(t1, bet, affine):
    """Steps 1-5 of the module docstring on the 1 mm Colin27 grid (voxel size 1 mm, so mm == voxels)."""
    m = largest_component(bet > 0)
    m = ndi.binary_fill_holes(m)
    # Pad so that the closing does not see the volume edge as background.
    pad = CLOSE_MM + 2
    mp = np.pad(m, pad)
    mp = ndi.binary_closing(mp, structure=ball(CLOSE_MM))
    m = mp[pad:-pad, pad:-pad, pad:-pad] | m
    csf_like = (t1 >= CSF_LO) & (t1 <= CSF_HI)
    step = ndi.generate_binary_structure(3, 1)
    for _ in range(GROW_MM):
        m = m | (ndi.binary_dilation(m, structure=step) & csf_like)
    m = ndi.binary_opening(m, structure=ball(OPEN_MM))
    m = ndi.binary_fill_holes(largest_component(m))
    # Foramen magnum: the mask stops where the medulla leaves the skull.
    zs = (affine @ np.stack([np.zeros(t1.shape[2]), np.zeros(t1.shape[2]), np.arange(t1.shape[2]), np.ones(t1.shape[2])]))[2]
    m[:, :, zs < FORAMEN_Z_MM] = False
    return largest_component(m)


def tissue_labels(t1, mask):
    """Coarse classes for the synthetic-contrast generator, by intensity clustering of the T1 (1 mm).

    Inside the mask: 1 CSF, 2 grey matter, 3 white matter. Outside: 4 dark (bone, air), 5 intermediate (muscle,
    dura, eyes), 6 bright (fat, marrow, scalp). 0 is background (air outside the head)."""
    lab = np.zeros(t1.shape, np.uint8)
    inside = mask
    # Thresholds from the histogram of ch2 inside the mask (CSF ~30-60, GM ~75-95, WM ~105-120).
    lab[inside & (t1 < 62)] = 1
    lab[inside & (t1 >= 62) & (t1 < 98)] = 2
    lab[inside & (t1 >= 98)] = 3
    head = ndi.binary_fill_holes(ndi.binary_closing(t1 > 8, structure=ball(3))) | mask
    out = head & ~inside
    lab[out & (t1 < 40)] = 4
    lab[out & (t1 >= 40) & (t1 < 110)] = 5
    lab[out & (t1 >= 110)] = 6
    return lab


def grid_affine_ras(grid):
    """The RAS affine (NIfTI convention) of the LPS grid in grid.json."""
    lps = np.eye(4)
    for a in range(3):
        lps[:3, a] = np.asarray(grid['direction'][a], float) * grid['spacing'][a]
    lps[:3, 3] = grid['origin']
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def resample_to_grid(data, src_affine, grid_affine, dims, order):
    """Samples data (on src_affine) at the voxel centres of the model grid."""
    m = np.linalg.inv(src_affine) @ grid_affine
    return ndi.affine_transform(data, m[:3, :3], offset=m[:3, 3], output_shape=tuple(dims), order=order, mode='constant', cval=0.0)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--templates', default='/usr/share/mricron/templates')
    p.add_argument('--out', default=os.path.join(here, '..', 'models', 'atlas'))
    args = p.parse_args()

    head_img = nib.load(os.path.join(args.templates, 'ch2.nii.gz'))
    bet_img = nib.load(os.path.join(args.templates, 'ch2bet.nii.gz'))
    t1 = np.asarray(head_img.dataobj, dtype=np.float32)
    bet = np.asarray(bet_img.dataobj, dtype=np.float32)
    if not np.allclose(head_img.affine, bet_img.affine):
        raise SystemExit('ch2 and ch2bet are not on the same grid')
    if not np.allclose(np.abs(np.diag(head_img.affine)[:3]), 1.0):
        raise SystemExit('expected Colin27 at 1 mm')

    mask1 = convention_mask(t1, bet, head_img.affine)
    labels1 = tissue_labels(t1, mask1)
    bet_ml = float((bet > 0).sum()) / 1000.0
    mask_ml = float(mask1.sum()) / 1000.0

    with open(os.path.join(args.out, 'grid.json')) as f:
        grid = json.load(f)
    gaff = grid_affine_ras(grid)
    dims = grid['dims']
    # 1 mm -> 1.5 mm: a light Gaussian against aliasing (sigma of the extra blur a 1.5 mm voxel implies).
    sigma = np.sqrt(1.5 ** 2 - 1.0) / 2.355
    template = resample_to_grid(ndi.gaussian_filter(t1, sigma), head_img.affine, gaff, dims, order=1)
    template = np.clip(np.round(template), 0, 255).astype(np.uint8)
    prob = resample_to_grid(mask1.astype(np.float32), head_img.affine, gaff, dims, order=1)
    mask = (prob >= 0.5).astype(np.uint8)
    labels = resample_to_grid(labels1, head_img.affine, gaff, dims, order=0).astype(np.uint8)
    labels[(mask == 1) & ((labels == 0) | (labels >= 4))] = 1
    labels[(mask == 0) & (labels >= 1) & (labels <= 3)] = 5

    def save(arr, name, descrip):
        img = nib.Nifti1Image(arr, gaff)
        img.set_sform(gaff, code=4)
        img.set_qform(gaff, code=4)
        img.header['descrip'] = descrip
        nib.save(img, os.path.join(args.out, name))

    save(template, 'template.nii.gz', b'Colin27 T1 head, brainstrip model grid')
    save(mask, 'brain-mask.nii.gz', b'Colin27 brain mask, BraTS/HD-BET convention')
    save(labels, 'labels.nii.gz', b'Colin27 tissue classes for training')
    grid_ml = float(mask.sum()) * 1.5 ** 3 / 1000.0
    print(json.dumps({'ch2bet_ml': round(bet_ml, 1), 'mask_1mm_ml': round(mask_ml, 1), 'mask_grid_ml': round(grid_ml, 1),
                      'labels_ml': {int(c): round(float((labels == c).sum()) * 3.375 / 1000, 1) for c in range(1, 7)}}))


if __name__ == '__main__':
    main()
