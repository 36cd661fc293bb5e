"""SynthStrip-style training data from many heads: the whole-head label maps of SynthSeg
(../shared/data/train/synthseg-label-maps, Apache-2.0), generated directly on the model grid.

Each sample takes one label map, places its brain where registration would put it (brain centroid on the atlas
brain centroid, then a random rigid + scaling + non-linear deformation at several scales: the residual of a
rigid registration and head shapes well beyond the 20 maps), optionally paints a tumour (necrotic core,
enhancing rim, oedema) or a resection cavity into the brain, gives every label a random intensity (fully random,
or T1 / T2 / FLAIR / PD-like for the brain labels), blurs, applies thick slices along any axis, a bias field,
Rician noise and a gamma change, and cuts the field of view by oblique planes (slabs that stop in the posterior
fossa, a vertex cut, a lateral cut). Voxels outside the field of view hold 0 (as the node fills them) and are
left out of the loss: the network is told nothing about anatomy it cannot see.

Mask convention (models/MODEL_CARD.md): every label below 500 is intracranial — cerebral and cerebellar grey
and white matter, deep nuclei, brain stem, ventricles, the CSF around the brain (24), vessels and the optic
chiasm — tumours and cavities included, holes filled, and nothing below the lowest cerebellar slice (the brain
stem label continues down the cervical canal). Labels 500 and above (skull, scalp, fat, eyes, muscle, neck)
are not.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi

from synth import _gaussian_blur, _rotation, _smooth_field, normalise

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MAPS = os.path.join(HERE, '..', '..', 'shared', 'data', 'train', 'synthseg-label-maps')

# Label maps held out of training (validation of the synthetic task); the rest train.
VALIDATION_MAPS = (18, 19, 20)
TRAINING_MAPS = tuple(range(1, 18))

BRAIN_MAX_LABEL = 499
# Cerebellar grey and white matter, both sides: the mask ends below their lowest slice.
CEREBELLUM_LABELS = (7, 8, 46, 47)

# Intensity groups of the brain labels (FreeSurfer numbering); homologous structures share a mean.
GROUPS = {
    'wm': [2, 41], 'ctx': [3, 42], 'ventricle': [4, 5, 43, 44, 14, 15, 72], 'cbwm': [7, 46], 'cbctx': [8, 47],
    'deep': [10, 11, 12, 13, 17, 18, 26, 28, 49, 50, 51, 52, 53, 54, 58, 60], 'stem': [16], 'csf': [24],
}
PRESETS = {
    't1': {'wm': 0.8, 'ctx': 0.5, 'ventricle': 0.12, 'cbwm': 0.75, 'cbctx': 0.5, 'deep': 0.62, 'stem': 0.7, 'csf': 0.12},
    't2': {'wm': 0.35, 'ctx': 0.55, 'ventricle': 1.0, 'cbwm': 0.35, 'cbctx': 0.55, 'deep': 0.45, 'stem': 0.4, 'csf': 1.0},
    'flair': {'wm': 0.45, 'ctx': 0.62, 'ventricle': 0.06, 'cbwm': 0.45, 'cbctx': 0.6, 'deep': 0.55, 'stem': 0.5, 'csf': 0.08},
    'pd': {'wm': 0.6, 'ctx': 0.78, 'ventricle': 0.9, 'cbwm': 0.6, 'cbctx': 0.75, 'deep': 0.7, 'stem': 0.62, 'csf': 0.9},
}
LESION = ('necrosis', 'rim', 'oedema')


class ModelGrid:
    """The network's grid (RAS voxel → mm affine, dims i, j, k), from the model's grid description."""

    def __init__(self, spec):
        self.dims = tuple(int(d) for d in spec['dims'])
        lps_to_ras = np.diag([-1.0, -1.0, 1.0])
        direction = np.asarray(spec['direction'], float)  # columns: i, j, k axes in LPS
        m = np.eye(4)
        m[:3, :3] = lps_to_ras @ direction @ np.diag(spec['spacing'])
        m[:3, 3] = lps_to_ras @ np.asarray(spec['origin'], float)
        self.affine = m  # voxel (i, j, k) → RAS mm
        self.spacing = float(spec['spacing'][0])


def load_label_map(maps_dir, index):
    """(labels [i, j, k] int32, voxel → RAS affine) of one label map, from the SynthSeg NIfTI or from a folder that
    `heads.py pack` wrote (for machines without nibabel)."""
    packed = os.path.join(maps_dir, f'training_seg_{index:02d}.npz')
    if os.path.exists(packed):
        with np.load(packed) as z:
            return z['labels'].astype(np.int32), z['affine']
    import nibabel as nib
    img = nib.load(os.path.join(maps_dir, f'training_seg_{index:02d}.nii.gz'))
    return np.rint(np.asarray(img.dataobj)).astype(np.int32), img.affine


def atlas_brain_centroid(atlas_dir=None, maps_dir=None):
    """RAS centroid (mm) of the atlas brain mask: where registration puts a head's brain."""
    packed = os.path.join(maps_dir or '', 'atlas.json')
    if maps_dir and os.path.exists(packed):
        with open(packed) as f:
            return np.asarray(json.load(f)['brain_centroid_ras'], float)
    import nibabel as nib
    am = nib.load(os.path.join(atlas_dir or os.path.join(HERE, '..', 'models', 'atlas'), 'brain-mask.nii.gz'))
    idx = np.argwhere(np.asarray(am.dataobj) > 0)
    return (am.affine @ np.r_[idx.mean(0), 1.0])[:3]


def pack(maps_dir, out_dir):
    """Writes the label maps cropped to their labelled box (affine shifted to match) and the atlas centroid as
    NumPy archives: what a training machine without nibabel reads."""
    os.makedirs(out_dir, exist_ok=True)
    for i in TRAINING_MAPS + VALIDATION_MAPS:
        lab, aff = load_label_map(maps_dir, i)
        nz = np.argwhere(lab > 0)
        lo, hi = nz.min(0), nz.max(0) + 1
        shifted = aff.copy()
        shifted[:3, 3] = (aff @ np.r_[lo, 1.0])[:3]
        np.savez_compressed(os.path.join(out_dir, f'training_seg_{i:02d}.npz'),
                            labels=lab[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].astype(np.uint16), affine=shifted)
    with open(os.path.join(out_dir, 'atlas.json'), 'w') as f:
        json.dump({'brain_centroid_ras': atlas_brain_centroid().tolist()}, f)


def load_grid(path):
    with open(path) as f:
        return ModelGrid(json.load(f))


class HeadGenerator:
    COARSE = 25

    def __init__(self, grid, maps_dir=DEFAULT_MAPS, indices=TRAINING_MAPS, atlas_dir=None, seed=0, strength=1.0, device='cpu'):
        self.grid = grid
        self.dev = torch.device(device)
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator(device=self.dev).manual_seed(seed)
        self.strength = strength
        self.atlas_centroid = atlas_brain_centroid(atlas_dir, maps_dir)
        self.maps = []
        labels = set()
        for i in indices:
            lab, affine = load_label_map(maps_dir, i)
            labels.update(np.unique(lab).tolist())
            self.maps.append((lab, affine))
        self.labels = sorted(labels)
        lut = np.zeros(max(self.labels) + 1, np.int64)
        for n, l in enumerate(self.labels):
            lut[l] = n
        # after the labels: the synthetic lesion classes, then the unlabelled voxels enclosed by the brain (the
        # node fills its masks' holes, so the target holds them; they take the CSF's intensity)
        self.n_lab = len(self.labels) + len(LESION) + 1
        self.lesion_index = {name: len(self.labels) + n for n, name in enumerate(LESION)}
        self.hole_index = self.n_lab - 1
        dev = self.dev
        self.brain = torch.tensor([0 < l <= BRAIN_MAX_LABEL for l in self.labels] + [True] * len(LESION) + [True], device=dev)
        self.parenchyma = torch.tensor([l in GROUPS['wm'] + GROUPS['ctx'] + GROUPS['deep'] for l in self.labels] + [False] * (len(LESION) + 1), device=dev)
        self.csf_index = self.labels.index(24)
        self.cerebellum = torch.tensor([l in CEREBELLUM_LABELS for l in self.labels] + [False] * (len(LESION) + 1), device=dev)
        self.group_of = {}
        for g, ls in GROUPS.items():
            for l in ls:
                if l in self.labels:
                    self.group_of[self.labels.index(l)] = g
        volumes = []
        for lab, aff in self.maps:
            brain = (lab > 0) & (lab <= BRAIN_MAX_LABEL)
            brain_idx = np.argwhere(brain)
            centroid = (aff @ np.r_[brain_idx.mean(0), 1.0])[:3]
            indexed = lut[lab]
            indexed[ndi.binary_fill_holes(brain) & ~brain] = self.hole_index
            # [1, 1, k, j, i] float (grid_sample needs float); nearest sampling keeps the label indices exact
            t = torch.from_numpy(indexed.transpose(2, 1, 0).astype(np.float32).copy())[None, None].to(dev)
            volumes.append((t, aff, centroid, np.array(lab.shape)))
        self.maps = volumes
        di, dj, dk = grid.dims
        c = self.COARSE
        kk, jj, ii = np.meshgrid(np.linspace(0, dk - 1, c), np.linspace(0, dj - 1, c), np.linspace(0, di - 1, c), indexing='ij')
        vox = np.stack([ii, jj, kk, np.ones_like(ii)], -1)  # [c, c, c, 4], layout k, j, i
        self.coarse_ras = torch.from_numpy((vox @ grid.affine.T)[..., :3].astype(np.float32)).to(dev)
        self.shape = (dk, dj, di)

    def u(self, lo, hi):
        return float(self.rng.uniform(lo, hi))

    # -- spatial -----------------------------------------------------------------------------------------
    def _labels_on_grid(self):
        vol, aff, centroid, shape = self.maps[int(self.rng.integers(len(self.maps)))]
        s = self.strength
        deg = math.pi / 180
        dev = self.dev
        rot = _rotation(self.u(-18, 18) * s * deg, self.u(-12, 12) * s * deg, self.u(-12, 12) * s * deg).to(dev)
        scale = torch.tensor([self.u(0.92, 1.08) for _ in range(3)], device=dev) * self.u(0.85, 1.15)
        trans = torch.tensor([self.u(-12, 12) * s for _ in range(3)], device=dev)
        p = self.coarse_ras - torch.tensor(self.atlas_centroid, dtype=torch.float32, device=dev)
        q = (p / scale) @ rot.T + trans + torch.tensor(centroid, dtype=torch.float32, device=dev)
        c = self.COARSE
        for ctrl, amp in ((int(self.rng.integers(3, 5)), self.u(0, 6)), (int(self.rng.integers(6, 10)), self.u(0, 2.5))):
            if self.rng.random() < 0.8:
                q = q + _smooth_field((c, c, c), ctrl, amp * s, 3, self.gen).permute(1, 2, 3, 0)
        inv = torch.tensor(np.linalg.inv(aff), dtype=torch.float32, device=dev)
        vox = q @ inv[:3, :3].T + inv[:3, 3]  # map voxel (i, j, k)
        norm = 2 * vox / torch.tensor((shape - 1).astype(np.float32), device=dev) - 1
        norm = F.interpolate(norm.permute(3, 0, 1, 2)[None], size=self.shape, mode='trilinear', align_corners=True)
        g = norm[0].permute(1, 2, 3, 0)[None]
        return F.grid_sample(vol, g, mode='nearest', padding_mode='zeros', align_corners=True)[0, 0].long()

    # -- lesions -----------------------------------------------------------------------------------------
    def _add_lesion(self, lab):
        inside = self.brain[lab]
        parenchyma = self.parenchyma[lab]
        idx = torch.nonzero(parenchyma)
        if len(idx) == 0:
            return lab
        centre = idx[int(self.rng.integers(len(idx)))].float()
        radius = self.u(5, 30) / self.grid.spacing
        dev = self.dev
        radii = torch.tensor([self.u(0.7, 1.3) for _ in range(3)], device=dev) * radius
        reach = (radii * 2.3 + 2).ceil().long()
        lo = [max(0, int(centre[a]) - int(reach[a])) for a in range(3)]
        hi = [min(lab.shape[a], int(centre[a]) + int(reach[a]) + 1) for a in range(3)]
        zz, yy, xx = torch.meshgrid(torch.arange(lo[0], hi[0], device=dev), torch.arange(lo[1], hi[1], device=dev),
                                    torch.arange(lo[2], hi[2], device=dev), indexing='ij')
        r = torch.sqrt(((zz - centre[0]) / radii[0]) ** 2 + ((yy - centre[1]) / radii[1]) ** 2 + ((xx - centre[2]) / radii[2]) ** 2)
        r = r + _smooth_field(tuple(r.shape), 5, 0.25, 1, self.gen)[0]
        box = (slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(lo[2], hi[2]))
        out = lab.clone()
        sub, ins, par = out[box], inside[box], parenchyma[box]
        if self.rng.random() < 0.2:
            sub[(r < 1.0) & ins] = self.csf_index  # resection cavity
            return out
        sub[(r < self.u(1.0, 2.0)) & par] = self.lesion_index['oedema']
        sub[(r < 1.0) & ins] = self.lesion_index['rim']
        if self.rng.random() < 0.75:
            sub[(r < self.u(0.4, 0.85)) & ins] = self.lesion_index['necrosis']
        return out

    # -- intensities -------------------------------------------------------------------------------------
    def _means(self):
        means = torch.tensor(self.rng.uniform(0, 1, self.n_lab), dtype=torch.float32)  # built here, moved once
        if self.rng.random() < 0.55:
            preset = PRESETS[list(PRESETS)[int(self.rng.integers(len(PRESETS)))]]
            jitter = {g: float(self.rng.normal(0, 0.07)) for g in GROUPS}
            for n, g in self.group_of.items():
                means[n] = preset[g] + jitter[g] + float(self.rng.normal(0, 0.02))
        else:
            # homologous structures alike even in random contrasts
            group_mean = {g: self.u(0, 1) for g in GROUPS}
            for n, g in self.group_of.items():
                means[n] = group_mean[g] + float(self.rng.normal(0, 0.03))
        if self.rng.random() < 0.2:
            # the tissue just outside the brain as dark as the CSF inside: the edge must come from shape
            for n, l in enumerate(self.labels):
                if l >= 500 and self.rng.random() < 0.5:
                    means[n] = means[self.csf_index] + self.u(-0.04, 0.04)
        means[0] = self.u(0, 0.06) if self.rng.random() < 0.3 else 0.0
        means[self.hole_index] = means[self.csf_index]
        return means.clamp(0, 1.2).to(self.dev)

    def sample(self):
        """(x [k, j, i] normalised, brain [k, j, i] long, valid [k, j, i] float)."""
        lab = self._labels_on_grid()
        if self.rng.random() < 0.4:
            lab = self._add_lesion(lab)
        brain = self.brain[lab]
        # the brain stem label runs on down the cervical canal: the mask stops at the foramen magnum, taken as the
        # lowest slice (k: inferior → superior) that still holds cerebellum
        cb = torch.nonzero(self.cerebellum[lab].any(dim=2).any(dim=1))
        if len(cb):
            brain[: int(cb[0])] = False
        means = self._means()
        stds = torch.tensor(self.rng.uniform(0, 0.08, self.n_lab), dtype=torch.float32, device=self.dev)
        v = means[lab] + stds[lab] * torch.randn(lab.shape, generator=self.gen, device=self.dev)
        v = v.clamp(min=0)[None, None]
        v = _gaussian_blur(v, [self.u(0.2, 1.2) for _ in range(3)])
        if self.rng.random() < 0.6:
            axis = 2 + (0 if self.rng.random() < 0.6 else int(self.rng.integers(3)))  # mostly k: axial 2D series
            factor = self.u(1.5, 4.5)
            size = list(v.shape[2:])
            low = size.copy()
            low[axis - 2] = max(8, int(size[axis - 2] / factor))
            v = F.interpolate(F.interpolate(v, size=low, mode='area'), size=size, mode='trilinear', align_corners=False)
        v = v[0, 0]
        if self.rng.random() < 0.85:
            v = v * torch.exp(_smooth_field(self.shape, 4, self.u(0.05, 0.45), 1, self.gen)[0])
        sigma = self.u(0, 0.07)
        if sigma > 0.005:
            n1 = torch.randn(v.shape, generator=self.gen, device=self.dev) * sigma
            n2 = torch.randn(v.shape, generator=self.gen, device=self.dev) * sigma
            v = torch.sqrt((v + n1) ** 2 + n2 ** 2)
        v = v.clamp(min=0) ** math.exp(self.rng.normal(0, 0.3))
        valid = self._field_of_view(brain)
        v = v * valid
        v = v * self.u(0.2, 5.0) * 1000
        return normalise(v), brain.long(), valid

    def _field_of_view(self, brain):
        """1 inside the scanned field of view, 0 beyond: oblique slab planes (inferior edge in the posterior
        fossa or lower, vertex cut), sometimes a lateral or anterior/posterior cut."""
        dev = self.dev
        valid = torch.ones(self.shape, device=dev)
        idx = torch.nonzero(brain)
        if len(idx) == 0:
            return valid
        dk, dj, di = self.shape
        kk = torch.arange(dk, dtype=torch.float32, device=dev)[:, None, None]
        jj = torch.arange(dj, dtype=torch.float32, device=dev)[None, :, None]
        ii = torch.arange(di, dtype=torch.float32, device=dev)[None, None, :]
        pts = idx.float()

        def cut(axis, lo_q, hi_q, side):
            tilt = [self.u(-0.5, 0.5), self.u(-0.5, 0.5)]  # up to ~27 degrees
            n = [0.0, 0.0, 0.0]
            n[axis] = 1.0
            others = [a for a in range(3) if a != axis]
            n[others[0]], n[others[1]] = tilt
            d = n[0] * kk + n[1] * jj + n[2] * ii
            proj = pts @ torch.tensor(n, device=dev)
            level = float(torch.quantile(proj[torch.randint(len(proj), (20000,), generator=self.gen, device=dev)], self.u(lo_q, hi_q)))
            return (d >= level).float() if side > 0 else (d <= level).float()

        if self.rng.random() < 0.45:
            valid = valid * cut(0, 0.0, 0.3, +1)  # inferior edge: the slab stops above the neck or in the fossa
        if self.rng.random() < 0.2:
            valid = valid * cut(0, 0.8, 1.0, -1)  # vertex cut
        if self.rng.random() < 0.1:
            axis = 1 + int(self.rng.integers(2))
            valid = valid * (cut(axis, 0.0, 0.15, +1) if self.rng.random() < 0.5 else cut(axis, 0.85, 1.0, -1))
        return valid


if __name__ == '__main__':
    import argparse
    ap = argparse.ArgumentParser(description='heads.py pack OUT: the label maps as NumPy archives')
    ap.add_argument('command', choices=['pack'])
    ap.add_argument('out')
    ap.add_argument('--maps', default=DEFAULT_MAPS)
    a = ap.parse_args()
    pack(a.maps, a.out)
