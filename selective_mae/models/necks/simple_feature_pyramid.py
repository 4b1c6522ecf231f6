"""Simple feature pyramid: single-stride ViT maps to strides 4/8/16/32.

ViTDet / MTP style: each input map (all at stride 16) is rescaled by its own
factor, 4 by two 2x transposed convolutions with a norm and GELU between,
2 by one, 1 by identity and 0.5 by 2x2 max pooling. The result feeds mmdet's
FPN or an UPerHead. Registered in mmengine's root ``MODELS`` registry, so
mmdet/mmrotate and mmseg configs build it by ``type='SimpleFeaturePyramid'``.
"""
from typing import Sequence, Tuple

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmengine.registry import MODELS as ROOT_MODELS
from torch import nn

from ..utils.layer_norm_2d import LayerNorm2d  # noqa: F401 (registers LN2d)


@ROOT_MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """Rescale same-resolution feature maps into a pyramid.

    Args:
        in_channels (int): Channels of every input map (the ViT width).
        scale_factors (Sequence[float]): One factor per input, each of
            4, 2, 1 or 0.5. Defaults to (4, 2, 1, 0.5).
        norm_cfg (dict): Norm between the two transposed convolutions of the
            4x branch. Defaults to ``dict(type='LN2d')``, LayerNorm over
            channels as ViTDet's simple pyramid: independent of the batch,
            which is 1 to 2 images per GPU in these recipes. The
            segmentation configs keep it (tied with BN, docs/segmentation.md);
            the detection configs set ``SyncBN``, as mmseg's
            ``Feature2Pyramid`` (LN2d diverged there, docs/detection.md).
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 scale_factors: Sequence[float] = (4, 2, 1, 0.5),
                 norm_cfg: dict = dict(type='LN2d'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.scale_factors = tuple(float(s) for s in scale_factors)
        self.branches = nn.ModuleList()
        for scale in self.scale_factors:
            if scale == 4:
                branch = nn.Sequential(
                    nn.ConvTranspose2d(in_channels, in_channels, 2, 2),
                    build_norm_layer(norm_cfg, in_channels)[1], nn.GELU(),
                    nn.ConvTranspose2d(in_channels, in_channels, 2, 2))
            elif scale == 2:
                branch = nn.ConvTranspose2d(in_channels, in_channels, 2, 2)
            elif scale == 1:
                branch = nn.Identity()
            elif scale == 0.5:
                branch = nn.MaxPool2d(2, 2)
            else:
                raise ValueError(
                    f'SimpleFeaturePyramid: scale factor {scale} is not one '
                    'of 4, 2, 1, 0.5')
            self.branches.append(branch)

    def forward(self, inputs: Sequence[torch.Tensor]
                ) -> Tuple[torch.Tensor, ...]:
        """Args:
            inputs (Sequence[Tensor]): ``len(scale_factors)`` maps, each
                [B, C, H, W].

        Returns:
            tuple[Tensor]: Maps [B, C, H*s, W*s], one per scale factor ``s``.
        """
        if len(inputs) != len(self.branches):
            raise ValueError(
                f'SimpleFeaturePyramid got {len(inputs)} inputs for '
                f'{len(self.branches)} scale factors {self.scale_factors}')
        return tuple(b(x) for b, x in zip(self.branches, inputs))
