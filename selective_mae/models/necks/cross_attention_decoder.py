"""Light decoder that reconstructs only the chosen target patches."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule, ModuleList

from mmpretrain.models.utils import (build_2d_sincos_position_embedding,
                                     build_norm_layer, resize_pos_embed,
                                     to_2tuple)
from mmpretrain.registry import MODELS
from ..utils.cross_attention import CrossAttentionBlock
from ..utils.patchify import gather_tokens


@MODELS.register_module()
class CrossAttentionDecoder(BaseModule):
    """CrossMAE-style decoder of SelectiveMAE.

    Queries are a learned mask token plus the decoder's fixed 2-D sin-cos
    position embedding at the target positions; keys and values come from
    the encoder output ([cls] + visible tokens). Queries do not attend to
    each other unless ``self_attn=True``. A final LayerNorm and a linear
    layer predict ``patch_size**2 * in_chans`` pixels per target.

    How the encoder output reaches the blocks (``memory_proj``):

    - ``'shared'`` (default, CrossMAE): one linear layer ``decoder_embed``
      maps it to the decoder width for all blocks, and every block applies a
      LayerNorm (``ln_kv``) to it before its key/value projection.
    - ``'per_block'``: the decoder of the released SelectiveMAE code
      (``CrossAttentionBlock(encoder_dim, decoder_dim, ...)`` of its
      ``transformer_utils.py``), exactly: no ``decoder_embed``, no
      LayerNorm on the memory; each block's ``cross_attn.kv`` projects the
      normalised encoder output from ``embed_dim`` straight to
      ``2 * decoder_embed_dim``. The fixed position embedding is then kept
      in the state dict as the released checkpoints store it,
      ``[1, 1 + L, C]`` with an (unused) cls slot first, so that a
      converted released checkpoint (``convert_released_selectivemae`` in
      :mod:`selective_mae.checkpoint.released`) loads whole.
      It is initialised with mmpretrain's sin-cos table, which orders the
      (row, column) halves the other way round from the released numpy
      one; a loaded checkpoint brings its own values.

    Args:
        img_size (int | tuple): Default image size; other sizes divisible
            by the patch size work (the position embedding is rebuilt).
            Defaults to 224.
        patch_size (int): Patch side. Defaults to 16.
        in_chans (int): Image channels. Defaults to 3.
        embed_dim (int): Encoder width. Defaults to 768.
        decoder_embed_dim (int): Decoder width. Defaults to 512.
        decoder_depth (int): Number of blocks. Defaults to 8.
        decoder_num_heads (int): Attention heads. Defaults to 16.
        mlp_ratio (float): MLP hidden width / decoder width. Defaults to 4.
        self_attn (bool): Self-attention among queries. Defaults to False.
        memory_proj (str): ``'shared'`` or ``'per_block'`` (the released
            architecture), see above. Defaults to ``'shared'``.
        norm_cfg (dict): Normalisation layer.
            Defaults to ``dict(type='LN', eps=1e-6)``.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    MEMORY_PROJ = ('shared', 'per_block')

    def __init__(self,
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 16,
                 in_chans: int = 3,
                 embed_dim: int = 768,
                 decoder_embed_dim: int = 512,
                 decoder_depth: int = 8,
                 decoder_num_heads: int = 16,
                 mlp_ratio: float = 4.,
                 self_attn: bool = False,
                 memory_proj: str = 'shared',
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if memory_proj not in self.MEMORY_PROJ:
            raise ValueError(f'CrossAttentionDecoder memory_proj='
                             f'{memory_proj!r} is not one of '
                             f'{self.MEMORY_PROJ}')
        img_size = to_2tuple(img_size)
        self.patch_size = patch_size
        self.patch_resolution = (img_size[0] // patch_size,
                                 img_size[1] // patch_size)
        self.memory_proj = memory_proj
        per_block = memory_proj == 'per_block'
        self.decoder_embed = (None if per_block else nn.Linear(
            embed_dim, decoder_embed_dim))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))
        # the released layout stores the table with its cls slot
        self.num_extra_tokens = 1 if per_block else 0
        self.register_buffer(
            'decoder_pos_embed',
            build_2d_sincos_position_embedding(
                self.patch_resolution,
                decoder_embed_dim,
                cls_token=per_block),
            persistent=per_block)
        self.decoder_blocks = ModuleList([
            CrossAttentionBlock(
                decoder_embed_dim,
                decoder_num_heads,
                int(mlp_ratio * decoder_embed_dim),
                self_attn=self_attn,
                norm_cfg=norm_cfg,
                kv_dims=embed_dim if per_block else None,
                memory_norm=not per_block) for _ in range(decoder_depth)
        ])
        self.decoder_norm = build_norm_layer(norm_cfg, decoder_embed_dim)
        self.decoder_pred = nn.Linear(decoder_embed_dim,
                                      patch_size**2 * in_chans)

    def init_weights(self) -> None:
        """Initialise the mask token (other layers follow ``init_cfg``)."""
        super().init_weights()
        nn.init.normal_(self.mask_token, std=.02)

    def pos_embed(self, patch_resolution: Tuple[int, int]) -> torch.Tensor:
        """Position embedding [1, L, C] of a patch grid (no cls slot).

        The stored table is used at its own grid; other grids get a fresh
        sin-cos table (``'shared'``) or the stored one resized bicubically,
        as the encoder does (``'per_block'``, whose table is loaded).
        """
        n = self.num_extra_tokens
        if tuple(patch_resolution) == self.patch_resolution:
            return self.decoder_pos_embed[:, n:]
        if n:
            return resize_pos_embed(
                self.decoder_pos_embed,
                self.patch_resolution,
                tuple(patch_resolution),
                mode='bicubic',
                num_extra_tokens=n)[:, n:]
        return build_2d_sincos_position_embedding(
            tuple(patch_resolution), self.decoder_pos_embed.shape[-1]).to(
                self.decoder_pos_embed.device)

    def forward(self, latent: torch.Tensor, ids_rec: torch.Tensor,
                patch_resolution: Tuple[int, int]) -> torch.Tensor:
        """Predict the pixels of the target patches.

        Args:
            latent (torch.Tensor): Encoder output [B, 1 + n_vis, D].
            ids_rec (torch.Tensor): Long target indices [B, n_rec].
            patch_resolution (tuple[int, int]): Patch grid (h, w) of the
                input images.

        Returns:
            torch.Tensor: Predicted pixels [B, n_rec, patch_size**2 * C].
        """
        memory = (latent if self.decoder_embed is None else
                  self.decoder_embed(latent))  # [B, 1 + n_vis, C or D]
        # the queries' residual stream stays float32 under autocast (as in
        # MAE, CrossMAE and the released code); the blocks' matmuls run in
        # the autocast dtype
        pos = self.pos_embed(patch_resolution).to(self.mask_token.dtype)
        pos = gather_tokens(pos.expand(latent.shape[0], -1, -1), ids_rec)
        x = self.mask_token + pos  # [B, n_rec, C]
        for block in self.decoder_blocks:
            x = block(x, memory)
        return self.decoder_pred(self.decoder_norm(x))
