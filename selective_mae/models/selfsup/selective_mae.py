"""SelectiveMAE: masked autoencoding on semantically selected tokens."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn

from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


def _sample_ids(data_samples, like):
    """The batch's ``sample_idx`` as a long tensor on ``like``'s device
    (copied without waiting for the device), or None when unknown."""
    ids = [getattr(d, 'sample_idx', None) for d in data_samples or ()]
    if not ids or None in ids:
        return None
    ids = torch.tensor(ids, dtype=torch.long)
    if like.device.type == 'cuda':
        return ids.pin_memory().to(like.device, non_blocking=True)
    return ids.to(like.device)


@MODELS.register_module()
class SelectiveMAE(BaseSelfSupervisor):
    """SelectiveMAE (arXiv 2406.11933) pre-training algorithm.

    One step: patch-embed all patches (``backbone.embed``) -> PSTS
    (``selector``: richness score, visible tokens, targets) -> encoder on
    [cls] + visible tokens (``backbone.encode``) -> cross-attention decoder
    on the targets (``neck``) -> per-image reconstruction loss (``head``).

    After every :meth:`loss` call, :attr:`per_sample_loss` holds the
    detached float32 loss of each image, shape [B], before any weighting
    (for data pruning). :meth:`set_sample_weights` gives per-image weights
    that the next :meth:`loss` multiplies in before the mean, then forgets.

    Args:
        backbone (dict): Config of :class:`SelectiveMAEViT`.
        neck (dict): Config of :class:`CrossAttentionDecoder`.
        head (dict): Config of :class:`SelectiveMAEPretrainHead`.
        selector (dict): Config of :class:`PSTS`.
            Defaults to ``dict(type='PSTS')``.
        pretrained (str, optional): As in ``BaseSelfSupervisor``.
        data_preprocessor (dict | nn.Module, optional): As in
            ``BaseSelfSupervisor``.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 selector: dict = dict(type='PSTS'),
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.selector = MODELS.build(selector)
        self.patch_size = self.head.patch_size
        kernel = tuple(self.backbone.patch_embed.projection.kernel_size)
        if kernel != (self.patch_size, self.patch_size):
            raise ValueError(
                f'SelectiveMAE: backbone patch size {kernel} differs from '
                f'head.patch_size={self.patch_size}')
        self.per_sample_loss: Optional[torch.Tensor] = None
        self._sample_weights: Optional[torch.Tensor] = None

    def set_sample_weights(self, weights: Optional[torch.Tensor]) -> None:
        """Weights for the per-image losses of the next :meth:`loss` call.

        Args:
            weights (torch.Tensor, optional): Float tensor [B], or None for
                ones.
        """
        if weights is not None:
            if not isinstance(weights, torch.Tensor) or weights.dim() != 1:
                raise ValueError('set_sample_weights expects a 1-D float '
                                 f'tensor [B] or None, got {weights!r}')
        self._sample_weights = weights

    def extract_feat(self, inputs: torch.Tensor):
        """Backbone features of whole images (no token selection)."""
        return self.backbone(inputs)

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Forward and loss of one training batch.

        Args:
            inputs (torch.Tensor): Normalised images [B, C, H, W].
            data_samples (list[DataSample]): Unused by the loss.

        Returns:
            dict[str, torch.Tensor]: ``loss``, the weighted mean
            reconstruction loss (scalar), and ``recon_unweighted``, the
            plain mean before any sample weights (detached, for the logs:
            mmengine's ``parse_losses`` sums only keys containing
            ``'loss'``, so it is logged beside the total, not added to it).
        """
        tokens, patch_resolution = self.backbone.embed(inputs)  # [B, L, D]
        ids_vis, ids_rec = self.selector(inputs, tokens, self.patch_size,
                                         _sample_ids(data_samples, inputs))
        latent = self.backbone.encode(tokens, ids_vis)  # [B, 1+n_vis, D]
        pred = self.neck(latent, ids_rec, patch_resolution)  # [B, n_rec, P]
        per_sample = self.head.per_sample_loss(pred, inputs, ids_rec)  # [B]
        self.per_sample_loss = per_sample.detach()

        raw = per_sample.mean()
        weights, self._sample_weights = self._sample_weights, None
        if weights is None:
            return dict(loss=raw, recon_unweighted=raw.detach())
        if weights.shape != per_sample.shape:
            raise ValueError(
                f'sample weights of shape {tuple(weights.shape)} do not '
                f'match the batch of {per_sample.shape[0]} images')
        loss = (per_sample * weights.to(per_sample)).mean()
        return dict(loss=loss, recon_unweighted=raw.detach())
