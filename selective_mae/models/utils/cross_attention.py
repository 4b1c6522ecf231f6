"""Cross-attention blocks for the SelectiveMAE decoder (CrossMAE style)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule

from mmpretrain.models.utils import MultiheadAttention, build_norm_layer


class CrossAttention(BaseModule):
    """Multi-head attention of queries over a separate key/value sequence.

    Uses fused ``F.scaled_dot_product_attention``.

    Args:
        embed_dims (int): Width of queries, keys and values (and output).
        num_heads (int): Attention heads; must divide ``embed_dims``.
        qkv_bias (bool): Bias in the q and kv projections. Defaults to True.
        attn_drop (float): Attention dropout. Defaults to 0.
        proj_drop (float): Dropout after the output projection.
            Defaults to 0.
        kv_dims (int, optional): Width of the memory that ``kv`` projects
            to ``2 * embed_dims``. Defaults to ``embed_dims``.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 kv_dims: Optional[int] = None) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        self.q = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.kv = nn.Linear(
            kv_dims or embed_dims, embed_dims * 2, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """Attend from ``x`` to ``memory``.

        Args:
            x (torch.Tensor): Queries [B, N, C].
            memory (torch.Tensor): Keys/values [B, M, kv_dims].

        Returns:
            torch.Tensor: [B, N, C].
        """
        B, N, C = x.shape
        h = self.num_heads
        q = self.q(x).view(B, N, h, C // h).transpose(1, 2)  # [B, h, N, c]
        k, v = self.kv(memory).view(B, -1, 2, h, C // h).permute(
            2, 0, 3, 1, 4)  # [B, h, M, c] each
        attn_drop = self.attn_drop if self.training else 0.
        x = F.scaled_dot_product_attention(q, k, v, dropout_p=attn_drop)
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(x))


class CrossAttentionBlock(BaseModule):
    """Pre-norm decoder block: [self-attention], cross-attention, MLP.

    Args:
        embed_dims (int): Width.
        num_heads (int): Attention heads.
        feedforward_channels (int): MLP hidden width.
        self_attn (bool): Self-attention among the queries before the
            cross-attention. Defaults to False.
        qkv_bias (bool): Bias in attention projections. Defaults to True.
        norm_cfg (dict): Normalisation layer.
            Defaults to ``dict(type='LN', eps=1e-6)``.
        kv_dims (int, optional): Width of the memory; ``cross_attn.kv``
            projects it to ``2 * embed_dims``. Defaults to ``embed_dims``
            (memory already at the decoder width).
        memory_norm (bool): Normalise the memory (``ln_kv``) before the
            key/value projection. Defaults to True. The released
            SelectiveMAE blocks (``kv_dims`` = encoder width,
            ``memory_norm=False``) read the encoder output as it is.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 self_attn: bool = False,
                 qkv_bias: bool = True,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 kv_dims: Optional[int] = None,
                 memory_norm: bool = True) -> None:
        super().__init__()
        self.with_self_attn = self_attn
        if self_attn:
            self.ln_self = build_norm_layer(norm_cfg, embed_dims)
            self.self_attn = MultiheadAttention(
                embed_dims=embed_dims, num_heads=num_heads, qkv_bias=qkv_bias)
        self.ln_q = build_norm_layer(norm_cfg, embed_dims)
        self.ln_kv = (
            build_norm_layer(norm_cfg, kv_dims or embed_dims)
            if memory_norm else nn.Identity())
        self.cross_attn = CrossAttention(
            embed_dims, num_heads, qkv_bias=qkv_bias, kv_dims=kv_dims)
        self.ln2 = build_norm_layer(norm_cfg, embed_dims)
        self.ffn = FFN(
            embed_dims=embed_dims,
            feedforward_channels=feedforward_channels,
            act_cfg=dict(type='GELU'))

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """Update the queries.

        Args:
            x (torch.Tensor): Queries [B, N, C].
            memory (torch.Tensor): Encoder features [B, M, kv_dims].

        Returns:
            torch.Tensor: [B, N, C].
        """
        if self.with_self_attn:
            x = x + self.self_attn(self.ln_self(x))
        x = x + self.cross_attn(self.ln_q(x), self.ln_kv(memory))
        return self.ffn(self.ln2(x), identity=x)
