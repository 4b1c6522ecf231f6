"""Semantic richness of image patches, from histograms of oriented gradients.

SelectiveMAE samples the tokens it encodes and reconstructs in proportion to
how much structure a patch holds: edges, buildings and roads score high, sea
and bare fields low.
"""
import math
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmpretrain.registry import MODELS
from ..utils.patchify import patch_grid


@MODELS.register_module()
class HOGRichness(nn.Module):
    """Per-patch richness logits from a vectorised HOG.

    For every colour channel, Sobel gradients give a magnitude and an
    unsigned orientation per pixel; magnitudes are accumulated into
    ``nbins`` orientation bins over ``cell_size`` x ``cell_size`` cells. A
    patch's raw score is the mean L2 norm of its cells' histograms (high for
    strong, coherent edges; zero for a flat patch). Raw scores are
    standardised over the patches of each image, so ``temperature`` has the
    same meaning on every image, and divided by the temperature: the result
    is the logit of the sampling distribution ``p = softmax(logits)``.

    The released SelectiveMAE standardises each patch's HOG vector and then
    averages it, which is identically zero: its sampling is uniform.
    ``score='uniform'`` reproduces that (all logits zero) for comparison.

    Args:
        score (str): ``'hog'`` (content-dependent) or ``'uniform'``.
            Defaults to ``'hog'``.
        temperature (float): Softmax temperature over standardised scores;
            lower is greedier. Defaults to 1.0.
        cell_size (int): HOG cell side in pixels; must divide the patch
            size. Defaults to 8.
        nbins (int): Number of orientation bins over [0, pi). Defaults to 9.
        in_channels (int): Image channels. Defaults to 3.
    """

    SCORES = ('hog', 'uniform')

    def __init__(self,
                 score: str = 'hog',
                 temperature: float = 1.0,
                 cell_size: int = 8,
                 nbins: int = 9,
                 in_channels: int = 3) -> None:
        super().__init__()
        if score not in self.SCORES:
            raise ValueError(f'score={score!r} is not one of {self.SCORES}')
        if not temperature > 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.score = score
        self.temperature = float(temperature)
        self.cell_size = int(cell_size)
        self.nbins = int(nbins)
        self.in_channels = int(in_channels)

    def extra_repr(self) -> str:
        return (f'score={self.score!r}, temperature={self.temperature}, '
                f'cell_size={self.cell_size}, nbins={self.nbins}')

    def cell_histograms(self, imgs: torch.Tensor) -> torch.Tensor:
        """Magnitude-weighted orientation histograms of every HOG cell.

        Every pixel and channel adds its gradient magnitude to bin
        ``cell * nbins + bin`` of one flat [B * cells * nbins] accumulator
        (a single ``index_add_`` with int32 indices where they fit), so no
        full-resolution histogram or int64 bin map is materialised. A NaN
        or infinite gradient falls into bin 0 (its magnitude propagates to
        the score) instead of indexing out of range.

        Args:
            imgs (torch.Tensor): Images of shape [B, C, H, W], H and W
                multiples of ``cell_size``.

        Returns:
            torch.Tensor: Histograms of shape
            [B, nbins, H / cell_size, W / cell_size], float32.
        """
        B, C, H, W = imgs.shape
        c, nb = self.cell_size, self.nbins
        hc, wc = H // c, W // c
        gx, gy = self.sobel(imgs)  # [B, C, H, W] each
        magnitude = torch.hypot(gx, gy)
        # unsigned orientation in [0, pi) -> bin in [0, nbins)
        angle = torch.atan2(gy, gx).remainder_(math.pi)
        fbin = angle.mul_(nb / math.pi).nan_to_num_(0., 0., 0.)
        numel = B * hc * wc * nb
        itype = torch.int32 if numel < 2**31 else torch.int64
        bins = fbin.to(itype).clamp_(0, nb - 1)
        # flat accumulator index of (image, cell) for every pixel: [B, 1, H, W]
        base = self._cell_index(B, H, W, itype, imgs.device)
        index = bins.add_(base)  # [B, C, H, W], channels share their cell
        hist = magnitude.new_zeros(numel)
        hist.index_add_(0, index.view(-1), magnitude.view(-1))
        return hist.view(B, hc, wc, nb).permute(0, 3, 1, 2)

    @staticmethod
    def sobel(imgs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Sobel gradients with replicated borders, per channel.

        The 3x3 kernels ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]`` (x) and its
        transpose (y), applied as cross-correlation, computed separably
        (a difference along one axis, ``(1, 2, 1)`` smoothing along the
        other): a few element-wise passes instead of a grouped convolution,
        and no kernel buffer (nothing for DDP to broadcast).

        Args:
            imgs (torch.Tensor): [B, C, H, W].

        Returns:
            tuple[torch.Tensor, torch.Tensor]: ``gx, gy``, float32
            [B, C, H, W].
        """
        xp = F.pad(imgs.float(), (1, 1, 1, 1), mode='replicate')
        dx = xp[..., 2:] - xp[..., :-2]  # [B, C, H + 2, W]
        gx = (dx[..., :-2, :] + dx[..., 2:, :]).add_(dx[..., 1:-1, :], alpha=2)
        sy = (xp[..., :-2] + xp[..., 2:]).add_(xp[..., 1:-1], alpha=2)
        gy = sy[..., 2:, :] - sy[..., :-2, :]
        return gx, gy

    def _cell_index(self, B: int, H: int, W: int, dtype: torch.dtype,
                    device: torch.device) -> torch.Tensor:
        """``(b * cells + cell(y, x)) * nbins`` for every pixel,
        [B, 1, H, W]."""
        c, nb = self.cell_size, self.nbins
        hc, wc = H // c, W // c
        rows = torch.arange(H, device=device, dtype=dtype) // c
        cols = torch.arange(W, device=device, dtype=dtype) // c
        cell = (rows[:, None] * wc + cols[None, :]) * nb  # [H, W]
        img = torch.arange(B, device=device, dtype=dtype) * (hc * wc * nb)
        return (img[:, None, None] + cell)[:, None]

    def raw_scores(self, imgs: torch.Tensor, patch_size: int) -> torch.Tensor:
        """Unnormalised richness of every patch.

        Args:
            imgs (torch.Tensor): Images of shape [B, C, H, W].
            patch_size (int): Patch side p; a multiple of ``cell_size``.

        Returns:
            torch.Tensor: Scores of shape [B, L], L = (H / p) * (W / p),
            row-major over the patch grid.
        """
        patch_grid(imgs, patch_size)
        if patch_size % self.cell_size:
            raise ValueError(f'HOG cell_size={self.cell_size} must divide '
                             f'the patch size {patch_size}')
        if imgs.shape[1] != self.in_channels:
            raise ValueError(f'HOGRichness(in_channels={self.in_channels}) '
                             f'got images with {imgs.shape[1]} channels')
        with torch.autocast(device_type=imgs.device.type, enabled=False):
            cell_norm = self.cell_histograms(imgs).norm(dim=1, keepdim=True)
            per_patch = F.avg_pool2d(cell_norm, patch_size // self.cell_size)
        return per_patch.flatten(1)

    @torch.no_grad()
    def forward(self, imgs: torch.Tensor, patch_size: int) -> torch.Tensor:
        """Sampling logits over the patches of each image.

        Args:
            imgs (torch.Tensor): Images of shape [B, C, H, W].
            patch_size (int): Patch side in pixels.

        Returns:
            torch.Tensor: Logits of shape [B, L] (float32);
            ``softmax(logits, -1)`` is the per-image sampling distribution.
        """
        h, w = patch_grid(imgs, patch_size)
        if self.score == 'uniform':
            return imgs.new_zeros(imgs.shape[0], h * w, dtype=torch.float32)
        scores = self.raw_scores(imgs, patch_size)
        std, mean = torch.std_mean(scores, dim=1, correction=0, keepdim=True)
        z = (scores - mean) / (std + 1e-6)
        return z / self.temperature
