"""LayerNorm over the channels of [B, C, H, W] maps (``LN2d``).

The norm of ViTDet's simple feature pyramid: each pixel's channel vector is
normalised on its own, so the statistics do not depend on the batch (unlike
BatchNorm, which at the 1 to 2 images per GPU of detection and segmentation
recipes normalises with noisy, train/eval-inconsistent statistics).
Registered in mmengine's root ``MODELS`` registry as ``'LN2d'``, so
``build_norm_layer(dict(type='LN2d'), C)`` works in every scope.
"""
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS as ROOT_MODELS
from torch import nn


@ROOT_MODELS.register_module('LN2d')
class LayerNorm2d(nn.LayerNorm):
    """``nn.LayerNorm`` applied over dim 1 of [B, C, H, W] input.

    Args:
        num_channels (int): C.
        eps (float): Defaults to 1e-6 (as ViTDet).
        **kwargs: Other ``nn.LayerNorm`` arguments.
    """
    _abbr_ = 'ln'

    def __init__(self, num_channels: int, eps: float = 1e-6, **kwargs):
        super().__init__(num_channels, eps=eps, **kwargs)
        self.num_channels = num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args:
            x (Tensor): Shape [B, C, H, W].

        Returns:
            Tensor: Same shape, each [B, :, h, w] vector normalised.
        """
        if x.dim() != 4 or x.shape[1] != self.num_channels:
            raise ValueError(
                f'LN2d({self.num_channels}) expects [B, {self.num_channels}, '
                f'H, W] input, got {tuple(x.shape)}')
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias,
                         self.eps)
        return x.permute(0, 3, 1, 2)
