"""SynthStrip-style training data from Colin27 alone, generated directly on the 128^3 model grid.

Each sample: the atlas (T1, tissue classes, brain mask) put through a random rigid + scaling + elastic
deformation (residual misalignment after registration, head-size and shape variation), with a synthetic
tumour (necrotic core, enhancing rim, oedema) or resection cavity inside the brain, then every tissue class gets
a random intensity (random contrasts, with T1 / T1+contrast / T2 / FLAIR-like presets mixed in, a third of
those fat-suppressed; a quarter of
the samples keep the atlas T1's own intensities; some hide the mask's edge by making the dark tissue outside it
as dark as the CSF inside), texture from the T1, a bias field, blur and thick slices, noise, a gamma change and sometimes a partial field of view.
The target is the atlas mask deformed the same way (tumours stay inside it; a cut field of view cuts it).

Normalisation (identical in src/pipeline/model-input.ts, documented in models/MODEL_CARD.md):
  x = clip((v - p0.5) / (p99.5 - p0.5), 0, 1.5), percentiles over all voxels of the 128^3 grid.
"""
import math
import os


import numpy as np
import torch
import torch.nn.functional as F

# Tissue classes of models/atlas/labels.nii.gz, plus the synthetic lesion classes added here.
BG, CSF, GM, WM, DARK, MID, BRIGHT, NECROSIS, RIM, OEDEMA = range(10)
N_CLASSES = 10

# Contrast presets (mean intensity per class, before texture); None = fully random.
PRESETS = {
    't1': {BG: 0.0, CSF: 0.15, GM: 0.5, WM: 0.75, DARK: 0.05, MID: 0.35, BRIGHT: 0.95, NECROSIS: 0.15, RIM: 0.45, OEDEMA: 0.4},
    't1c': {BG: 0.0, CSF: 0.15, GM: 0.5, WM: 0.72, DARK: 0.05, MID: 0.45, BRIGHT: 0.95, NECROSIS: 0.15, RIM: 1.0, OEDEMA: 0.4},
    't2': {BG: 0.0, CSF: 1.0, GM: 0.55, WM: 0.35, DARK: 0.05, MID: 0.3, BRIGHT: 0.7, NECROSIS: 0.95, RIM: 0.6, OEDEMA: 0.8},
    'flair': {BG: 0.0, CSF: 0.08, GM: 0.55, WM: 0.4, DARK: 0.05, MID: 0.3, BRIGHT: 0.6, NECROSIS: 0.3, RIM: 0.7, OEDEMA: 0.9},
}


def normalise(v):
    """The network's input normalisation (see module docstring). v: float tensor [..., D, H, W]."""
    flat = v.reshape(-1)
    # kthvalue is exact and cheap enough on 2 M voxels
    n = flat.numel()
    lo = flat.kthvalue(max(1, int(round(0.005 * n)))).values
    hi = flat.kthvalue(max(1, int(round(0.995 * n)))).values
    scale = torch.clamp(hi - lo, min=1e-6)
    return torch.clamp((v - lo) / scale, 0.0, 1.5)


class Atlas:
    def __init__(self, folder):
        import nibabel as nib
        def load(name):
            return np.asarray(nib.load(os.path.join(folder, name)).dataobj)

        # NIfTI arrays are [i, j, k]; the network layout is [k, j, i].
        self.t1 = torch.from_numpy(load('template.nii.gz').astype(np.float32).transpose(2, 1, 0).copy()) / 255.0
        self.labels = torch.from_numpy(load('labels.nii.gz').astype(np.int64).transpose(2, 1, 0).copy())
        self.mask = torch.from_numpy(load('brain-mask.nii.gz').astype(np.float32).transpose(2, 1, 0).copy())
        self.shape = tuple(self.t1.shape)
        self.class_mean = torch.zeros(N_CLASSES)
        for c in range(7):
            sel = self.labels == c
            if sel.any():
                self.class_mean[c] = self.t1[sel].mean()


def _rotation(ax, ay, az):
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    rx = torch.tensor([[1, 0, 0], [0, cx, -sx], [0, sx, cx]], dtype=torch.float32)
    ry = torch.tensor([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]], dtype=torch.float32)
    rz = torch.tensor([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]], dtype=torch.float32)
    return rz @ ry @ rx


def _smooth_field(shape, ctrl, std, channels=1, gen=None):
    """Random smooth field: Gaussian values on a ctrl^3 lattice, upsampled trilinearly."""
    f = torch.randn((1, channels, ctrl, ctrl, ctrl), generator=gen, device=gen.device if gen is not None else None) * std
    return F.interpolate(f, size=shape, mode='trilinear', align_corners=True)[0]


class Generator:
    COARSE = 33

    def __init__(self, atlas, seed=0, spacing_mm=1.5, strength=1.0, p_as_acquired=0.25, p_hidden_edge=0.15):
        self.a = atlas
        self.p_as_acquired = p_as_acquired
        self.p_hidden_edge = p_hidden_edge
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.mm = spacing_mm
        self.t1_mask = torch.stack([atlas.t1, atlas.mask])[None]
        self.strength = strength
        d, h, w = atlas.shape
        # The sampling grid is smooth (affine + low-frequency elastic), so it is built on a coarse lattice of
        # COARSE^3 points spanning the volume (align_corners) and upsampled, which is exact for the affine part.
        c = self.COARSE
        zs, ys, xs = torch.meshgrid(torch.linspace(-1, 1, c), torch.linspace(-1, 1, c), torch.linspace(-1, 1, c), indexing='ij')
        self.base = torch.stack([xs, ys, zs], -1)  # [c, c, c, 3] in grid_sample order (x = i, y = j, z = k)
        self.half_extent_mm = torch.tensor([(w - 1) / 2 * spacing_mm, (h - 1) / 2 * spacing_mm, (d - 1) / 2 * spacing_mm])

    def u(self, lo, hi):
        return float(self.rng.uniform(lo, hi))

    # -- spatial -----------------------------------------------------------------------------------------
    def _sampling_grid(self):
        s = self.strength
        deg = math.pi / 180
        rot = _rotation(*(self.u(-12, 12) * s * deg for _ in range(3)))
        scale = torch.tensor([self.u(0.95, 1.05) for _ in range(3)]) * self.u(0.82, 1.08)
        trans = torch.tensor([self.u(-8, 8) * s for _ in range(3)])
        # output point p (mm, centred) samples the atlas at rot @ (p / scale) + trans (+ elastic)
        p = self.base * self.half_extent_mm
        q = (p / scale) @ rot.T + trans
        if self.rng.random() < 0.9:
            c = self.COARSE
            disp = _smooth_field((c, c, c), int(self.rng.integers(4, 8)), self.u(1.0, 3.5) * s, 3, self.gen)
            q = q + disp.permute(1, 2, 3, 0)
        q = (q / self.half_extent_mm).permute(3, 0, 1, 2)[None]
        return F.interpolate(q, size=self.a.shape, mode='trilinear', align_corners=True)[0].permute(1, 2, 3, 0)[None]

    # -- lesions -----------------------------------------------------------------------------------------
    def _add_lesion(self, labels):
        """A tumour (necrosis, enhancing rim, oedema) or a resection cavity, inside the brain mask."""
        inside = (labels >= CSF) & (labels <= WM)
        parenchyma = (labels == GM) | (labels == WM)
        idx = torch.nonzero(parenchyma)
        if len(idx) == 0:
            return labels
        centre = idx[int(self.rng.integers(len(idx)))].float()
        d, h, w = labels.shape
        radius_mm = self.u(6, 30)
        radii = torch.tensor([self.u(0.7, 1.3) for _ in range(3)]) * radius_mm / self.mm
        # only the lesion's bounding box is computed
        reach = (radii * 2.6 + 2).ceil().long()
        lo = [max(0, int(centre[a]) - int(reach[a])) for a in range(3)]
        hi = [min(labels.shape[a], int(centre[a]) + int(reach[a]) + 1) for a in range(3)]
        zz, yy, xx = torch.meshgrid(torch.arange(lo[0], hi[0]), torch.arange(lo[1], hi[1]), torch.arange(lo[2], hi[2]), indexing='ij')
        r = torch.sqrt(((zz - centre[0]) / radii[0]) ** 2 + ((yy - centre[1]) / radii[1]) ** 2 + ((xx - centre[2]) / radii[2]) ** 2)
        r = r + _smooth_field(tuple(r.shape), 6, 0.25, 1, self.gen)[0]
        box = (slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(lo[2], hi[2]))
        out = labels.clone()
        sub = out[box]
        inside = inside[box]
        parenchyma = parenchyma[box]
        if self.rng.random() < 0.15:
            sub[(r < 1.0) & inside] = CSF  # resection cavity
            return out
        oedema_extent = self.u(1.0, 2.2)
        sub[(r < oedema_extent) & parenchyma] = OEDEMA
        core = r < 1.0
        if self.rng.random() < 0.8:
            sub[core & inside] = RIM
            sub[(r < self.u(0.4, 0.85)) & inside] = NECROSIS
        else:
            sub[core & inside] = RIM if self.rng.random() < 0.5 else NECROSIS
        return out

    # -- intensities -------------------------------------------------------------------------------------
    def _class_means(self):
        p = self.rng.random()
        if p < 0.5:
            name = list(PRESETS)[int(self.rng.integers(len(PRESETS)))]
            means = torch.tensor([PRESETS[name][c] for c in range(N_CLASSES)], dtype=torch.float32)
            means = means + torch.tensor(self.rng.normal(0, 0.08, N_CLASSES), dtype=torch.float32)
            if self.rng.random() < 0.35:
                # fat suppression (common in 3D FLAIR and post-contrast T1): scalp and marrow go dark, so the
                # brightest ring around the brain is no longer the scalp
                means[BRIGHT] = self.u(0.02, 0.3)
                means[MID] = means[MID] * self.u(0.3, 1.0)
        else:
            means = torch.tensor(self.rng.uniform(0, 1, N_CLASSES), dtype=torch.float32)
        means[BG] = self.u(0, 0.08) if self.rng.random() < 0.3 else 0.0
        return torch.clamp(means, 0, 1.2)

    def _as_acquired(self):
        """Class means and texture gains that reproduce the atlas T1 itself (v == t1 outside lesions), with
        lesion classes given T1 or T1+contrast looks on the atlas's intensity scale. Real T1 heads show the
        mask's outer edge only faintly (subarachnoid CSF and the inner table are both dark), so the network must
        see that look, not only synthetic contrasts in which every class edge is sharp."""
        preset = PRESETS['t1c' if self.rng.random() < 0.5 else 't1']
        scale = float(self.a.class_mean[WM]) / preset[WM]
        means = self.a.class_mean.clone()
        for c in (NECROSIS, RIM, OEDEMA):
            means[c] = preset[c] * scale * self.u(0.85, 1.15)
        gain = torch.ones(N_CLASSES)
        gain[NECROSIS:] = torch.tensor(self.rng.uniform(0, 0.5, 3), dtype=torch.float32)
        return means, gain

    def sample(self):
        a = self.a
        labels = a.labels
        if self.rng.random() < 0.5:
            labels = self._add_lesion(labels)
        grid = self._sampling_grid()
        lab = F.grid_sample(labels[None, None].float(), grid, mode='nearest', padding_mode='zeros', align_corners=True)[0, 0].long()
        both = F.grid_sample(self.t1_mask, grid, mode='bilinear', padding_mode='zeros', align_corners=True)[0]
        t1, mask = both[0], both[1] > 0.5

        base_mean = a.class_mean.clone()
        base_mean[NECROSIS:] = t1.mean()
        if self.rng.random() < self.p_as_acquired:
            means, gain = self._as_acquired()
        else:
            means = self._class_means()
            # texture: the T1's deviation from its class mean, with a random per-class gain and sign
            gain = torch.tensor(self.rng.uniform(-3, 3, N_CLASSES), dtype=torch.float32)
            gain[BG] = 0
            if self.rng.random() < self.p_hidden_edge:
                # the tissue just outside the mask as dark as the CSF inside it: the edge must come from shape
                means[DARK] = means[CSF] + self.u(-0.03, 0.03)
        v = means[lab] + gain[lab] * (t1 - base_mean[lab])
        # per-class low-frequency heterogeneity (lesions and tissue are never flat)
        v = v + _smooth_field(a.shape, 8, self.u(0, 0.06), 1, self.gen)[0]
        v = torch.clamp(v, min=0)

        # blur, and thick slices along one axis
        v = v[None, None]
        if self.rng.random() < 0.5:
            v = _gaussian_blur(v, [self.u(0, 1.0) for _ in range(3)])
        if self.rng.random() < 0.35:
            axis = int(self.rng.integers(3))
            factor = self.u(1.5, 4.0)
            size = list(v.shape[2:])
            low = size.copy()
            low[axis] = max(8, int(size[axis] / factor))
            v = F.interpolate(F.interpolate(v, size=low, mode='area'), size=size, mode='trilinear', align_corners=False)
        v = v[0, 0]
        # bias field
        if self.rng.random() < 0.8:
            v = v * torch.exp(_smooth_field(a.shape, 4, self.u(0.05, 0.35), 1, self.gen)[0])
        # noise (Rician-like: magnitude of a complex Gaussian)
        sigma = self.u(0, 0.06)
        if sigma > 0.005:
            n1 = torch.randn(v.shape, generator=self.gen) * sigma
            n2 = torch.randn(v.shape, generator=self.gen) * sigma
            v = torch.sqrt((v + n1) ** 2 + n2 ** 2)
        # gamma
        v = torch.clamp(v, min=0) ** math.exp(self.rng.normal(0, 0.3))
        # partial field of view: the scan stops at a plane; beyond it the grid holds the fill value 0
        if self.rng.random() < 0.25:
            axis = int(self.rng.integers(3)) if self.rng.random() < 0.5 else 0  # mostly k (inferior/superior)
            n = v.shape[axis]
            cut = int(self.u(0.0, 0.3) * n)
            sl = [slice(None)] * 3
            sl[axis] = slice(0, cut) if self.rng.random() < 0.5 else slice(n - cut, n)
            v[tuple(sl)] = 0
            mask[tuple(sl)] = False
        # random global scale: the normalisation must not care
        v = v * self.u(0.2, 5.0) * 1000
        return normalise(v), mask.long()


def _gaussian_blur(v, sigmas):
    """Approximately Gaussian blur by area-downsampling and trilinear upsampling (much cheaper on one core
    than single-channel 3D convolutions); sigma in voxels per axis."""
    size = list(v.shape[2:])
    low = [max(8, int(round(n / (1 + 1.5 * s)))) for n, s in zip(size, sigmas)]
    if low == size:
        return v
    return F.interpolate(F.interpolate(v, size=low, mode='area'), size=size, mode='trilinear', align_corners=False)
