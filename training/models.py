"""The two brain extraction networks: the seed paper's 3D ResU-Net (reference) and brainstrip's efficient
variant designed for INT8 CPU inference. Both map [N, 1, 128, 128, 128] (the model grid, i fastest) to
[N, 2, 128, 128, 128] logits (class 1 = brain)."""
import os

import numpy as np
import torch
from scipy import ndimage as ndi
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------------------
# Reference: 3D ResU-Net as in BrainMaGe / GaNDLF (seed paper, Fig. 2): 1 input channel, 2 classes, 16
# initial filters doubling over 4 downsamplings to 256, residual encoding/decoding blocks with instance norm and
# LeakyReLU, transposed-convolution upsampling, concatenated skips.
# ---------------------------------------------------------------------------------------------------------
class _INConv(nn.Module):
    def __init__(self, cin, cout, k=3, stride=1):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, k, stride=stride, padding=k // 2 if stride == 1 else 0)
        self.norm = nn.InstanceNorm3d(cout, affine=True)
        self.act = nn.LeakyReLU(0.01, inplace=True)

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class _ResEncode(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = _INConv(c, c)
        self.b = _INConv(c, c)

    def forward(self, x):
        return x + self.b(self.a(x))


class ResUNetReference(nn.Module):
    name = 'resunet-reference'

    def __init__(self, base=16, classes=2):
        super().__init__()
        c = [base * 2 ** i for i in range(5)]  # 16 32 64 128 256
        self.inc = _INConv(1, c[0])
        self.enc = nn.ModuleList([_ResEncode(c[0])])
        self.down = nn.ModuleList()
        for i in range(1, 5):
            self.down.append(_INConv(c[i - 1], c[i], k=2, stride=2))
            self.enc.append(_ResEncode(c[i]))
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in range(4, 0, -1):
            self.up.append(nn.ConvTranspose3d(c[i], c[i - 1], 2, stride=2))
            self.dec.append(nn.Sequential(_INConv(2 * c[i - 1], c[i - 1]), _ResEncode(c[i - 1])))
        self.out = nn.Conv3d(c[0], classes, 1)

    def forward(self, x):
        x = self.enc[0](self.inc(x))
        skips = [x]
        for i in range(4):
            x = self.enc[i + 1](self.down[i](x))
            skips.append(x)
        for n, (up, dec) in enumerate(zip(self.up, self.dec)):
            x = up(x)
            x = dec(torch.cat([x, skips[3 - n]], 1))
        return self.out(x)


# ---------------------------------------------------------------------------------------------------------
# Efficient variant: everything that is expensive runs at 64^3 or below. A 2x2x2 stride-2 stem turns each
# 2x2x2 block of the 128^3 input into 16 channels; the head predicts 2 classes x 8 sub-voxels at 64^3 and a
# depth-to-space reshape puts them back at 128^3 (no ConvTranspose, no resize at full resolution). Conv +
# BatchNorm + ReLU everywhere, so the norms fold into the convolutions and quantization absorbs the ReLU.
# Skips are added, not concatenated, to keep the decoder as cheap as the encoder.
# ---------------------------------------------------------------------------------------------------------
def _cbr(cin, cout, k=3, stride=1):
    return nn.Sequential(
        nn.Conv3d(cin, cout, k, stride=stride, padding=(k // 2) if stride == 1 else 0, bias=False),
        nn.BatchNorm3d(cout),
        nn.ReLU(inplace=True),
    )


class _ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = _cbr(c, c)
        self.b = nn.Sequential(nn.Conv3d(c, c, 3, padding=1, bias=False), nn.BatchNorm3d(c))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(x + self.b(self.a(x)))


def atlas_prior(atlas_dir=None, sigma_mm=3.0):
    """The atlas brain mask, smoothed (sigma 3 mm), as a [1, 1, k, j, i] float tensor on the model grid."""
    atlas_dir = atlas_dir or os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'models', 'atlas')
    import nibabel as nib
    mask = np.asarray(nib.load(os.path.join(atlas_dir, 'brain-mask.nii.gz')).dataobj).astype(np.float32)
    prior = ndi.gaussian_filter(mask, sigma_mm / 1.5).transpose(2, 1, 0).copy()
    return torch.from_numpy(prior)[None, None]


class EfficientUNet(nn.Module):
    """Every input has been registered to the atlas, so the network also sees, as a second channel built into
    the model (a constant of the ONNX graph, not an input), the atlas brain mask smoothed by 3 mm: it learns where
    and how a head departs from the atlas rather than where a brain is from nothing."""
    name = 'efficient'

    def __init__(self, channels=(16, 32, 64, 128), classes=2, prior=True):
        super().__init__()
        c = channels
        self.classes = classes
        if prior is True:
            prior = atlas_prior()
        if prior is not None and prior is not False:
            self.register_buffer('prior', prior)
        else:
            self.prior = None
        self.stem = _cbr(1 if self.prior is None else 2, c[0], k=2, stride=2)
        self.enc = nn.ModuleList([_ResBlock(c[0])])
        self.down = nn.ModuleList()
        for i in range(1, len(c)):
            self.down.append(_cbr(c[i - 1], c[i], k=2, stride=2))
            self.enc.append(_ResBlock(c[i]))
        # Upsampling: a 1x1x1 conv to the finer level's width at the coarse resolution, then nearest x2.
        self.reduce = nn.ModuleList([_cbr(c[i], c[i - 1], k=1) for i in range(len(c) - 1, 0, -1)])
        self.dec = nn.ModuleList([_ResBlock(c[i - 1]) for i in range(len(c) - 1, 0, -1)])
        self.head = nn.Conv3d(c[0], classes * 8, 1)

    def forward(self, x, prior=None):
        """prior: the matching crop of self.prior when x is a crop (training); None for the whole grid."""
        if self.prior is not None:
            p = self.prior if prior is None else prior
            x = torch.cat([x, p.expand(x.shape[0], 1, *x.shape[2:])], 1)
        x = self.enc[0](self.stem(x))
        skips = [x]
        for i in range(len(self.down)):
            x = self.enc[i + 1](self.down[i](x))
            skips.append(x)
        for n in range(len(self.reduce)):
            x = self.dec[n](_nearest_up2(self.reduce[n](x)) + skips[-2 - n])
        return _depth_to_space3d(self.head(x), self.classes)  # head: [N, classes*8, D, H, W] at half resolution


# The two reshuffles below compute exactly nearest x2 upsampling and a 3-D depth-to-space, written with the ONNX
# operators ONNX Runtime's CPU kernels run fast: its 5-D Resize and its generic 8-D Transpose handle one element
# at a time, where a MatMul against a 0/1 matrix, a broadcast Expand over whole rows, and the 4-D DepthToSpace
# move contiguous blocks.

def _nearest_up2(x):
    n, c, d, h, w = x.shape
    cols = torch.arange(w, device=x.device)
    widen = torch.zeros(w, 2 * w, dtype=x.dtype, device=x.device)
    widen[cols, 2 * cols] = 1
    widen[cols, 2 * cols + 1] = 1
    y = torch.matmul(x, widen)  # [n, c, d, h, 2w]: each column twice
    y = y.reshape(n, c, d, 1, h, 1, 2 * w).expand(n, c, d, 2, h, 2, 2 * w)
    return y.reshape(n, c, 2 * d, 2 * h, 2 * w)


def _depth_to_space3d(y, classes):
    """channel (c, dz, dy, dx) at voxel (z, y, x) -> class c at voxel (2z+dz, 2y+dy, 2x+dx)."""
    n, ch, d, h, w = y.shape
    y = y.permute(0, 2, 1, 3, 4).reshape(n * d, ch, h, w)
    y = F.pixel_shuffle(y, 2)  # channel (c, dz, dy, dx) -> (c, dz) at (2y+dy, 2x+dx)
    y = y.reshape(n, d, classes, 2, 2 * h, 2 * w).permute(0, 2, 1, 3, 4, 5)
    return y.reshape(n, classes, 2 * d, 2 * h, 2 * w)


class EfficientImageUNet(EfficientUNet):
    """The efficient net without the atlas prior: it reads the image alone, so a registration that is off by
    degrees or centimetres moves the input but not what the network concludes from it."""
    name = 'efficient-image'

    def __init__(self):
        super().__init__(prior=False)


class EfficientImageUNet32(EfficientUNet):
    """The image-only efficient net with 32 channels at its first level. ONNX Runtime's INT8 convolutions only
    outrun its FP32 ones where they have channels to multiply: at 16 channels the half-resolution level, where most of
    the time goes, gains almost nothing from INT8; at 32 it gains about as much as the coarser levels. Trained from
    the 16-channel net's weights widened without changing its function (training/widen.py)."""
    name = 'efficient-image-32'

    def __init__(self):
        super().__init__(channels=(32, 32, 64, 128), prior=False)


ARCHITECTURES = {'efficient-image': EfficientImageUNet, 'efficient-image-32': EfficientImageUNet32, 'efficient': EfficientUNet, 'resunet-reference': ResUNetReference}


def build(arch):
    return ARCHITECTURES[arch]()


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def count_flops(model, shape=(1, 1, 128, 128, 128)):
    """Multiply-adds x 2 of the convolutions (what dominates), by forward hooks on a meta-free dry run."""
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv3d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.kernel_size[2]
            total[0] += 2 * out.numel() * (mod.in_channels // mod.groups) * k
        elif isinstance(mod, nn.ConvTranspose3d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.kernel_size[2]
            total[0] += 2 * inp[0].numel() * mod.out_channels * k

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv3d, nn.ConvTranspose3d))]
    with torch.no_grad():
        model.eval()(torch.zeros(shape))
    for h in hs:
        h.remove()
    return total[0]
