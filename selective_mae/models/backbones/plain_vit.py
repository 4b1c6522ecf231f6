"""Plain ViT for dense downstream tasks (detection, segmentation).

mmpretrain's ``VisionTransformer`` with what dense prediction at 512 to 1024
px needs: feature maps after chosen blocks, window attention with a few
global blocks (ViTDet), activation checkpointing, and loading of our and the
released checkpoints. Window attention only regroups tokens around the
unchanged ``attn`` module, so the state dict keeps mmpretrain's naming and a
SelectiveMAE checkpoint's ``backbone.*`` keys load as they are.

The class is registered in mmengine's root ``MODELS`` registry, so mmpretrain,
mmdet/mmrotate and mmseg configs all build it by ``type='PlainViT'``.
"""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks.drop import build_dropout
from mmengine.model import ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmengine.registry import MODELS as ROOT_MODELS
from mmpretrain.models.backbones.vision_transformer import (
    TransformerEncoderLayer, VisionTransformer)
from mmpretrain.models.utils import resize_pos_embed
from torch import nn


def window_partition(x: torch.Tensor, hw: Tuple[int, int],
                     window_size: int) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Split a token map into non-overlapping windows, padding as needed.

    Args:
        x (Tensor): Tokens, shape [B, H*W, C].
        hw (tuple[int, int]): Token grid (H, W).
        window_size (int): Window side ``ws``.

    Returns:
        tuple: Windows of shape [B*nW, ws*ws, C] and the padded grid (Hp, Wp).
    """
    B, _, C = x.shape
    H, W = hw
    x = x.view(B, H, W, C)
    pad_h = (window_size - H % window_size) % window_size
    pad_w = (window_size - W % window_size) % window_size
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    Hp, Wp = H + pad_h, W + pad_w
    x = x.view(B, Hp // window_size, window_size, Wp // window_size,
               window_size, C)
    windows = x.permute(0, 1, 3, 2, 4, 5).reshape(-1,
                                                  window_size * window_size, C)
    return windows, (Hp, Wp)


def window_unpartition(windows: torch.Tensor, window_size: int,
                       padded_hw: Tuple[int, int],
                       hw: Tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`window_partition`.

    Args:
        windows (Tensor): Shape [B*nW, ws*ws, C].
        window_size (int): Window side ``ws``.
        padded_hw (tuple[int, int]): Padded grid (Hp, Wp).
        hw (tuple[int, int]): Original grid (H, W).

    Returns:
        Tensor: Tokens, shape [B, H*W, C].
    """
    Hp, Wp = padded_hw
    H, W = hw
    C = windows.shape[-1]
    B = windows.shape[0] // ((Hp // window_size) * (Wp // window_size))
    x = windows.view(B, Hp // window_size, Wp // window_size, window_size,
                     window_size, C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(B, Hp, Wp, C)
    return x[:, :H, :W].reshape(B, H * W, C)


class WindowTransformerEncoderLayer(TransformerEncoderLayer):
    """Encoder layer whose attention can run inside windows.

    Parameters are those of mmpretrain's ``TransformerEncoderLayer``. The
    attention's stochastic depth is moved out of ``attn`` and applied after
    the windows are merged, so it still drops whole samples.

    Args:
        window_size (int): Window side in tokens; 0 means global attention.
        drop_path_rate (float): Stochastic depth rate.
        **kwargs: ``TransformerEncoderLayer`` arguments.
    """

    def __init__(self, window_size: int = 0, drop_path_rate: float = 0.,
                 **kwargs):
        super().__init__(drop_path_rate=drop_path_rate, **kwargs)
        self.window_size = window_size
        self.attn.out_drop = nn.Identity()
        self.drop_path = build_dropout(
            dict(type='DropPath', drop_prob=drop_path_rate))

    def forward(self, x: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
        """Args:
            x (Tensor): Tokens, shape [B, H*W, C].
            hw (tuple[int, int]): Token grid (H, W).

        Returns:
            Tensor: Shape [B, H*W, C].
        """
        y = self.ln1(x)
        if self.window_size > 0:
            y, padded_hw = window_partition(y, hw, self.window_size)
            y = self.attn(y)
            y = window_unpartition(y, self.window_size, padded_hw, hw)
        else:
            y = self.attn(y)
        x = x + self.drop_path(y)
        return self.ffn(self.ln2(x), identity=x)


@ROOT_MODELS.register_module()
class PlainViT(VisionTransformer):
    """ViT backbone giving feature maps after chosen blocks.

    Args:
        arch (str | dict): As for ``VisionTransformer``. Defaults to 'base'.
        img_size (int): Training image size; the position embedding is stored
            for this grid and resized when loading. Defaults to 1024.
        patch_size (int): Defaults to 16.
        out_indices (Sequence[int]): Blocks whose outputs are returned.
            Defaults to (3, 5, 7, 11).
        drop_path_rate (float): Stochastic depth of the last block (linear
            from 0). Defaults to 0.1.
        window_size (int): Window side in tokens for windowed blocks; 0 gives
            global attention everywhere. Defaults to 0.
        global_attn_indexes (Sequence[int]): Blocks that keep global
            attention when ``window_size > 0``. Defaults to (2, 5, 8, 11).
        with_cp (bool): Activation checkpointing of each block while
            training. Defaults to False.
        final_norm (bool): Apply the final norm ``ln1`` after the last block.
            Defaults to False (the pyramid has its own norms).
        with_cls_token (bool): Defaults to False (dense tasks drop it; a
            checkpoint's cls token in ``pos_embed`` is removed on loading).
        out_type (str): Defaults to ``'featmap'`` ([B, C, H/16, W/16]).
        init_cfg (dict, optional): ``dict(type='Pretrained',
            checkpoint=PATH)`` loads our, mmpretrain or released (timm)
            checkpoints through
            ``load_vit_backbone_weights`` of
            :mod:`selective_mae.checkpoint`.
        **kwargs: Other ``VisionTransformer`` arguments.
    """

    def __init__(self,
                 arch='base',
                 img_size=1024,
                 patch_size=16,
                 out_indices: Sequence[int] = (3, 5, 7, 11),
                 drop_path_rate: float = 0.1,
                 window_size: int = 0,
                 global_attn_indexes: Sequence[int] = (2, 5, 8, 11),
                 with_cp: bool = False,
                 final_norm: bool = False,
                 with_cls_token: bool = False,
                 out_type: str = 'featmap',
                 layer_cfgs=dict(),
                 init_cfg: Optional[dict] = None,
                 **kwargs):
        super().__init__(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            out_indices=list(out_indices),
            drop_path_rate=drop_path_rate,
            final_norm=final_norm,
            with_cls_token=with_cls_token,
            out_type=out_type,
            init_cfg=init_cfg,
            **kwargs)
        if window_size < 0:
            raise ValueError(f'window_size must be >= 0, got {window_size}')
        if window_size > 0 and with_cls_token:
            raise ValueError('window attention needs with_cls_token=False')
        for idx in global_attn_indexes if window_size > 0 else ():
            if not 0 <= idx < self.num_layers:
                raise ValueError(
                    f'global_attn_indexes has {idx}, outside the '
                    f'{self.num_layers} layers')
        self.window_size = window_size
        self.global_attn_indexes = tuple(global_attn_indexes)
        self.with_cp = with_cp

        # The parent built plain encoder layers; rebuild them as windowed
        # ones with the same settings (same parameter names and shapes). An
        # mmengine ModuleList: ``BaseModule.init_weights`` only descends into
        # children that have an ``init_weights`` (torch's ModuleList has
        # none, so the blocks kept PyTorch's default init).
        if isinstance(layer_cfgs, dict):
            layer_cfgs = [layer_cfgs] * self.num_layers
        dpr = np.linspace(0, drop_path_rate, self.num_layers)
        self.layers = ModuleList()
        for i in range(self.num_layers):
            layer_cfg = dict(
                embed_dims=self.embed_dims,
                num_heads=self.arch_settings['num_heads'],
                feedforward_channels=self.arch_settings[
                    'feedforward_channels'],
                layer_scale_init_value=kwargs.get('layer_scale_init_value',
                                                  0.),
                drop_rate=kwargs.get('drop_rate', 0.),
                drop_path_rate=float(dpr[i]),
                qkv_bias=kwargs.get('qkv_bias', True),
                norm_cfg=kwargs.get('norm_cfg', dict(type='LN', eps=1e-6)),
                window_size=(0 if i in self.global_attn_indexes else
                             window_size))
            layer_cfg.update(layer_cfgs[i])
            self.layers.append(WindowTransformerEncoderLayer(**layer_cfg))
        if self.frozen_stages > 0:
            self._freeze_stages()

    def train(self, mode: bool = True) -> 'PlainViT':
        """Set the training mode (keeping frozen stages frozen); returns
        ``self`` as ``nn.Module.train`` does."""
        super().train(mode)
        return self

    def init_weights(self):
        """Load ``init_cfg.checkpoint`` in any known layout, or initialise
        at random.

        Random init without an ``init_cfg`` is the ViT standard of ViTDet,
        timm and mmseg's ``VisionTransformer``: every ``Linear`` of every
        block truncated normal (std 0.02) with zero bias, norms 1 / 0,
        position embedding and cls token truncated normal (std 0.02), patch
        projection as mmpretrain's parent. Another ``init_cfg`` (for
        example ``dict(type='Kaiming', layer='Linear', ...)``) is applied
        instead, by mmengine, after the parent's own init.
        """
        if (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            from mmengine.logging import MMLogger

            from ...checkpoint import load_vit_backbone_weights
            load_vit_backbone_weights(
                self,
                self.init_cfg['checkpoint'],
                prefix=self.init_cfg.get('prefix', 'backbone.'),
                logger=MMLogger.get_current_instance())
            self._is_init = True
            return
        super().init_weights()
        if self.init_cfg is not None:
            return
        for m in self.layers.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.cls_token is not None:
            trunc_normal_(self.cls_token, std=0.02)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Args:
            x (Tensor): Images, shape [B, 3, H, W].

        Returns:
            tuple[Tensor]: One [B, C, H/p, W/p] map per ``out_indices`` entry
            (for ``out_type='featmap'``).
        """
        B = x.shape[0]
        x, hw = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            hw,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
        x = self.pre_norm(self.drop_after_pos(x))

        outs = []
        for i, layer in enumerate(self.layers):
            if self.with_cp and self.training and x.requires_grad:
                x = cp.checkpoint(layer, x, hw, use_reentrant=False)
            else:
                x = layer(x, hw)
            if i == len(self.layers) - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, hw))
        return tuple(outs)
