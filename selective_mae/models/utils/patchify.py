"""Patch helpers shared by the richness scorer, the decoder and the head."""
from typing import Tuple

import torch


def patch_grid(imgs: torch.Tensor, patch_size: int) -> Tuple[int, int]:
    """Number of patch rows and columns of a batch of images.

    Args:
        imgs (torch.Tensor): Images of shape [B, C, H, W].
        patch_size (int): Patch side in pixels.

    Returns:
        tuple[int, int]: ``(H // patch_size, W // patch_size)``.

    Raises:
        ValueError: If H or W is not a multiple of ``patch_size``.
    """
    if imgs.dim() != 4:
        raise ValueError(
            f'expected images of shape [B, C, H, W], got {tuple(imgs.shape)}')
    H, W = imgs.shape[-2:]
    if H % patch_size or W % patch_size:
        raise ValueError(f'image size {H}x{W} is not divisible by the patch '
                         f'size {patch_size}')
    return H // patch_size, W // patch_size


def patchify(imgs: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Split images into non-overlapping patches, row-major.

    The pixel order inside a patch is (row, column, channel), the layout of
    mmpretrain's ``MAEPretrainHead.patchify`` and of the original MAE.

    Args:
        imgs (torch.Tensor): Images of shape [B, C, H, W].
        patch_size (int): Patch side p in pixels.

    Returns:
        torch.Tensor: Patches of shape [B, L, p * p * C], L = H * W / p^2.
    """
    h, w = patch_grid(imgs, patch_size)
    B, C = imgs.shape[:2]
    p = patch_size
    x = imgs.reshape(B, C, h, p, w, p)
    x = torch.einsum('nchpwq->nhwpqc', x)
    return x.reshape(B, h * w, p * p * C)


def unpatchify(patches: torch.Tensor, patch_size: int,
               grid: Tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`patchify`.

    Args:
        patches (torch.Tensor): Patches of shape [B, h * w, p * p * C].
        patch_size (int): Patch side p in pixels.
        grid (tuple[int, int]): Patch rows and columns ``(h, w)``.

    Returns:
        torch.Tensor: Images of shape [B, C, h * p, w * p].
    """
    B = patches.shape[0]
    h, w = grid
    p = patch_size
    x = patches.reshape(B, h, w, p, p, -1)
    return torch.einsum('nhwpqc->nchpwq', x).reshape(B, -1, h * p, w * p)


def gather_tokens(x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Pick tokens by index along the sequence dimension.

    Args:
        x (torch.Tensor): Tokens of shape [B, L, D].
        ids (torch.Tensor): Long indices of shape [B, N].

    Returns:
        torch.Tensor: The chosen tokens, shape [B, N, D].
    """
    return torch.gather(x, 1, ids.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
