"""The efficient net as exported for ONNX Runtime: the same function, with its first level written as 2-D
convolutions.

Why: ONNX Runtime's INT8 convolution (QLinearConv) is fast in 2-D and slow in 3-D, where it takes a generic
gathering path; at the first level (half the model grid, where most of the time goes) the 3-D INT8 convolutions
gain almost nothing over FP32. Written as 2-D convolutions they run several times faster in INT8, and a little
faster in FP32 too.

How: the first level's tensors [1, C, D, H, W] are viewed as a 2-D image [1, C, D * (H + 1), W]: the D slices one
above the other, a zero row after each (the tensor padded by one row, then reshaped). A 3x3x3 convolution C -> O
(BatchNorm folded in) then becomes
  1. a 2-D 3x3 convolution C -> 3 O over the view: one block of O outputs per depth tap, each the in-slice 3x3
     part of that tap (the zero rows keep slices from reading each other);
  2. a fixed 2-D convolution 3 O -> O with kernel (3, 1) and dilation H + 1 (one slice down the view), weights
     0 or 1: output o at slice d sums block 0 at slice d - 1, block 1 at d and block 2 at d + 1.
The zero rows are restored by a constant mask wherever a 3x3x3 convolution reads them next (a 2-D convolution
writes into them); the last block's output goes to the 1x1x1 head, whose values in the zero rows are dropped.
Everything else (the coarser levels, the stem, the depth-to-space head) is the 3-D net as trained.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

import models


def _tap_convolution(conv3d, bn):
    """Conv3d(C, O, 3, padding 1) + BatchNorm3d -> Conv2d(C, 3 O, 3, padding 1): block k holds depth tap k, the
    BatchNorm scale in every block, its shift as the bias of the centre block only (the taps are summed)."""
    o, c = conv3d.out_channels, conv3d.in_channels
    scale = bn.weight.data / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias.data - bn.running_mean * scale
    w = conv3d.weight.data * scale.view(o, 1, 1, 1, 1)
    if conv3d.bias is not None:
        shift = shift + conv3d.bias.data * scale
    conv = nn.Conv2d(c, 3 * o, 3, padding=1, bias=True)
    conv.weight.data = torch.cat([w[:, :, k] for k in range(3)], 0).clone()
    conv.bias.data = torch.cat([torch.zeros(o), shift, torch.zeros(o)])
    return conv


def _depth_sum(o, rows):
    """Conv2d(3 O, O, (3, 1), dilation rows): output o = block 0 one slice up + block 1 + block 2 one slice down."""
    conv = nn.Conv2d(3 * o, o, (3, 1), padding=(rows, 0), dilation=(rows, 1), bias=False)
    w = torch.zeros(o, 3 * o, 3, 1)
    for k in range(3):
        w[torch.arange(o), k * o + torch.arange(o), k, 0] = 1
    conv.weight.data = w
    conv.weight.requires_grad_(False)
    return conv


class _Conv3x3x3(nn.Module):
    def __init__(self, conv3d, bn, rows):
        super().__init__()
        self.taps = _tap_convolution(conv3d, bn)
        self.depth = _depth_sum(conv3d.out_channels, rows)

    def forward(self, x):
        return self.depth(self.taps(x))


class _ResBlock2d(nn.Module):
    """models._ResBlock over the view: relu(x + b(relu(a(x)))), zero rows restored after the first convolution and,
    unless only the head reads the block, after the second."""

    def __init__(self, block, rows, mask_output=True):
        super().__init__()
        self.a = _Conv3x3x3(block.a[0], block.a[1], rows)
        self.b = _Conv3x3x3(block.b[0], block.b[1], rows)
        self.mask_output = mask_output

    def forward(self, x, mask):
        t = F.relu(self.a(x)) * mask
        y = F.relu(x + self.b(t))
        return y * mask if self.mask_output else y


class SlicedFirstLevel(nn.Module):
    """An EfficientUNet (trained, in inference mode) for a fixed input size [1, 1, 2D, 2H, 2W], computing what it
    computes with the first level as 2-D convolutions."""

    def __init__(self, net, shape):
        super().__init__()
        if not isinstance(net, models.EfficientUNet):
            raise TypeError(f'{type(net).__name__}: only the efficient nets have a sliced layout')
        net = net.eval()
        self.net = net
        self.d, self.h, self.w = (s // 2 for s in shape[2:])
        rows = self.h + 1
        self.enc = _ResBlock2d(net.enc[0], rows)
        self.dec = _ResBlock2d(net.dec[-1], rows, mask_output=False)
        mask = torch.zeros(1, 1, self.d, rows, self.w)
        mask[:, :, :, :self.h] = 1
        self.register_buffer('mask', mask.reshape(1, 1, self.d * rows, self.w))
        head = net.head
        self.head = nn.Conv2d(head.in_channels, head.out_channels, 1)
        self.head.weight.data = head.weight.data[:, :, 0].clone()
        self.head.bias.data = head.bias.data.clone()

    def to_view(self, x):
        return F.pad(x, (0, 0, 0, 1)).reshape(1, x.shape[1], self.d * (self.h + 1), self.w)

    def from_view(self, v):
        return v.reshape(1, v.shape[1], self.d, self.h + 1, self.w)[:, :, :, :self.h]

    def forward(self, x):
        n = self.net
        if n.prior is not None:
            x = torch.cat([x, n.prior.expand(x.shape[0], 1, *x.shape[2:])], 1)
        skip = self.enc(self.to_view(n.stem(x)), self.mask)
        x = n.enc[1](n.down[0](self.from_view(skip)))
        skips = [x]
        for i in range(1, len(n.down)):
            x = n.enc[i + 1](n.down[i](x))
            skips.append(x)
        last = len(n.reduce) - 1
        for k in range(last):
            x = n.dec[k](models._nearest_up2(n.reduce[k](x)) + skips[-2 - k])
        up = self.to_view(models._nearest_up2(n.reduce[last](x)))
        logits = self.from_view(self.head(self.dec(up + skip, self.mask)))
        return models._depth_to_space3d(logits, n.classes)


LAYOUTS = ('sliced', '3d')


def for_export(model, shape, layout):
    """The module to export: the net itself ('3d') or its sliced form ('sliced'; efficient nets only)."""
    if layout == '3d':
        return model
    if layout == 'sliced':
        return SlicedFirstLevel(model, shape)
    raise ValueError(f'layout {layout}: one of {", ".join(LAYOUTS)}')
