"""Semantic richness of image patches, from histograms of oriented gradients.

SelectiveMAE samples the tokens it encodes and reconstructs in proportion to
how much structure a patch holds: edges, buildings and roads score high, sea
and bare fields low.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmpretrain.registry import MODELS
from .patchify import patch_grid


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
        sobel_x = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]])
        kernel = torch.stack([sobel_x, sobel_x.t()])[:, None]  # [2, 1, 3, 3]
        self.register_buffer(
            'sobel', kernel.repeat(in_channels, 1, 1, 1), persistent=False)

    def extra_repr(self) -> str:
        return (f'score={self.score!r}, temperature={self.temperature}, '
                f'cell_size={self.cell_size}, nbins={self.nbins}')

    def cell_histograms(self, imgs: torch.Tensor) -> torch.Tensor:
        """Magnitude-weighted orientation histograms of every HOG cell.

        Args:
            imgs (torch.Tensor): Images of shape [B, C, H, W], H and W
                multiples of ``cell_size``.

        Returns:
            torch.Tensor: Histograms of shape
            [B, nbins, H / cell_size, W / cell_size], float32.
        """
        B, C, H, W = imgs.shape
        x = F.pad(imgs.float(), (1, 1, 1, 1), mode='replicate')
        grad = F.conv2d(x, self.sobel, groups=C).view(B, C, 2, H, W)
        gx, gy = grad.unbind(2)  # [B, C, H, W] each
        magnitude = torch.hypot(gx, gy)
        angle = torch.atan2(gy, gx).remainder(math.pi)  # [0, pi)
        bins = (angle * (self.nbins / math.pi)).long().clamp_(max=self.nbins -
                                                              1)
        hist = magnitude.new_zeros(B, self.nbins, H, W)
        hist.scatter_add_(1, bins, magnitude)  # per-pixel, channels summed
        return F.avg_pool2d(hist, self.cell_size) * self.cell_size**2

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
