"""ViT encoder for SelectiveMAE pre-training."""
from typing import Tuple

import torch

from mmpretrain.models import MAEViT
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS
from ..utils.patchify import gather_tokens


@MODELS.register_module()
class SelectiveMAEViT(MAEViT):
    """mmpretrain's ``MAEViT`` with the token choice left to the caller.

    Pre-training is split in two steps so that PSTS can look at the patch
    embeddings between them: :meth:`embed` patch-embeds all L patches (plus
    the fixed sin-cos position embedding), :meth:`encode` runs the
    transformer on [cls] + the chosen visible tokens. Without selection,
    ``forward(x)`` is the plain ``VisionTransformer`` forward (feature
    extraction). The state dict is mmpretrain's ``VisionTransformer``
    layout, so ``backbone.*`` keys load into it for downstream tasks.

    Args:
        See :class:`mmpretrain.models.MAEViT`; ``mask_ratio`` is unused
        (PSTS decides the visible tokens).
    """

    def embed(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Patch-embed all patches and add the position embedding.

        Args:
            x (torch.Tensor): Images of shape [B, C, H, W], H and W
                multiples of the patch size.

        Returns:
            tuple: ``tokens`` of shape [B, L, D] (row-major over the patch
            grid, without cls) and the grid ``(H / p, W / p)``.
        """
        tokens, patch_resolution = self.patch_embed(x)
        pos_embed = self.pos_embed
        if tuple(patch_resolution) != tuple(self.patch_resolution):
            pos_embed = resize_pos_embed(
                pos_embed,
                self.patch_resolution,
                patch_resolution,
                mode=self.interpolate_mode,
                num_extra_tokens=self.num_extra_tokens)
        return tokens + pos_embed[:, 1:], tuple(patch_resolution)

    def encode(self, tokens: torch.Tensor,
               ids_vis: torch.Tensor) -> torch.Tensor:
        """Run the transformer on [cls] + the visible tokens.

        Args:
            tokens (torch.Tensor): Output of :meth:`embed`, [B, L, D].
            ids_vis (torch.Tensor): Long indices of the visible tokens,
                [B, n_vis].

        Returns:
            torch.Tensor: Normalised features [B, 1 + n_vis, D], cls first.
        """
        x = gather_tokens(tokens, ids_vis)
        cls_token = (self.cls_token + self.pos_embed[:, :1]).expand(
            x.shape[0], -1, -1)
        x = torch.cat((cls_token, x), dim=1)
        for layer in self.layers:
            x = layer(x)
        return self.norm1(x)

    def forward(self, x: torch.Tensor, mask=None):
        """Features of whole images (no masking).

        Args:
            x (torch.Tensor): Images of shape [B, C, H, W].
            mask: Must be None or False; token selection goes through
                :meth:`embed` and :meth:`encode`.

        Returns:
            tuple[torch.Tensor]: As ``VisionTransformer.forward``.
        """
        if mask:
            raise ValueError(
                'SelectiveMAEViT does not mask by itself: call embed() and '
                'encode() with the ids chosen by PSTS')
        return super(MAEViT, self).forward(x)
