"""Reconstruction loss of SelectiveMAE, on the target patches only."""
import torch

from mmpretrain.models import MAEPretrainHead
from mmpretrain.registry import MODELS
from ..utils.patchify import gather_tokens, patchify


@MODELS.register_module()
class SelectiveMAEPretrainHead(MAEPretrainHead):
    """``MAEPretrainHead`` restricted to the chosen targets, per sample.

    The target of a patch is its pixels, normalised by the patch's own mean
    and (unbiased) variance when ``norm_pix=True``; the loss of an image is
    the mean criterion (``PixelReconstructionLoss``'s L2 or L1) over its
    target patches and pixels.

    Args:
        loss (dict): Config of ``PixelReconstructionLoss``.
            Defaults to ``dict(type='PixelReconstructionLoss',
            criterion='L2')``.
        norm_pix (bool): Normalise targets per patch. Defaults to True.
        patch_size (int): Patch side. Defaults to 16.
        in_channels (int): Image channels. Defaults to 3.
    """

    def __init__(self,
                 loss: dict = dict(
                     type='PixelReconstructionLoss', criterion='L2'),
                 norm_pix: bool = True,
                 patch_size: int = 16,
                 in_channels: int = 3) -> None:
        super().__init__(
            loss=loss,
            norm_pix=norm_pix,
            patch_size=patch_size,
            in_channels=in_channels)

    def patchify(self, imgs: torch.Tensor) -> torch.Tensor:
        """[B, C, H, W] -> [B, L, p * p * C]; H, W need not be equal."""
        return patchify(imgs, self.patch_size)

    def per_sample_loss(self, pred: torch.Tensor, imgs: torch.Tensor,
                        ids_rec: torch.Tensor) -> torch.Tensor:
        """Reconstruction loss of every image.

        Args:
            pred (torch.Tensor): Predicted pixels [B, n_rec, p * p * C].
            imgs (torch.Tensor): Input images [B, C, H, W].
            ids_rec (torch.Tensor): Long target indices [B, n_rec].

        Returns:
            torch.Tensor: Float32 losses [B].
        """
        target = gather_tokens(self.patchify(imgs), ids_rec).float()
        if self.norm_pix:
            var, mean = torch.var_mean(target, dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.e-6)**.5
        err = self.loss_module.penalty(pred.float(), target)
        return err.mean(dim=(1, 2)) / self.loss_module.channel

    def loss(self, pred: torch.Tensor, imgs: torch.Tensor,
             ids_rec: torch.Tensor) -> torch.Tensor:
        """Mean of :meth:`per_sample_loss` over the batch."""
        return self.per_sample_loss(pred, imgs, ids_rec).mean()
