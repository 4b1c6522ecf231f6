"""SelectiveMAE: masked autoencoding on semantically selected tokens."""
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

import torch
import torch.nn as nn

from mmpretrain.models import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

#: The data-sample field that carries an image's loss weight (set by
#: :class:`~selective_mae.engine.hooks.InfoBatchHook`).
LOSS_WEIGHT = 'loss_weight'


def _batch_field(data_samples, name, dtype, like, what):
    """The field ``name`` of every data sample as a [B] tensor on ``like``'s
    device (copied without waiting for the device); None when no sample
    has it. Raises when only some have it."""
    values = [getattr(d, name, None) for d in data_samples or ()]
    missing = sum(v is None for v in values)
    if not values or missing == len(values):
        return None
    if missing:
        raise ValueError(
            f'SelectiveMAE: {missing} of the {len(values)} data samples of '
            f'the batch have no {name!r} ({what})')
    out = torch.tensor(values, dtype=dtype)
    if like.device.type == 'cuda':
        return out.pin_memory().to(like.device, non_blocking=True)
    return out.to(like.device)


def _sample_ids(data_samples, like):
    """The batch's ``sample_idx`` as a long tensor on ``like``'s device, or
    None when unknown."""
    ids = [getattr(d, 'sample_idx', None) for d in data_samples or ()]
    if not ids or None in ids:
        return None
    return _batch_field(data_samples, 'sample_idx', torch.long, like,
                        'the index of the image in the data set')


class PretrainStep(NamedTuple):
    """The intermediates of one SelectiveMAE step
    (:meth:`SelectiveMAE.forward_step`)."""
    #: visible tokens the encoder saw, [B, n_vis] (long)
    ids_vis: torch.Tensor
    #: reconstruction targets, [B, n_rec] (long)
    ids_rec: torch.Tensor
    #: the decoder's prediction of the targets, [B, n_rec, p * p * C]
    pred: torch.Tensor
    #: reconstruction loss of each image, [B], before any weighting
    per_sample_loss: torch.Tensor
    #: patch rows and columns
    patch_resolution: Tuple[int, int]


@MODELS.register_module()
class SelectiveMAE(BaseSelfSupervisor):
    """SelectiveMAE (arXiv 2406.11933) pre-training algorithm.

    One step: patch-embed all patches (``backbone.embed``) -> PSTS
    (``selector``: richness score, visible tokens, targets) -> encoder on
    [cls] + visible tokens (``backbone.encode``) -> cross-attention decoder
    on the targets (``neck``) -> per-image reconstruction loss (``head``).

    :meth:`forward_step` runs that step once and returns its intermediates
    (:class:`PretrainStep`); :meth:`loss` and the PSTS visualiser both use
    it. After every :meth:`loss` call, :attr:`per_sample_loss` holds the
    detached float32 loss of each image, shape [B], before any weighting
    (for data pruning). Per-image loss weights travel with the batch: a data
    sample's ``loss_weight`` field (set by ``InfoBatchHook``) multiplies its
    image's loss before the mean.

    The PSTS curriculum follows training progress, which
    ``PSTSProgressHook`` sets before every iteration: :meth:`train_step`
    refuses to run when nothing ever set it (a run without the hook would
    otherwise stay in the first stage for ever, silently).

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

    def train_step(self, data, optim_wrapper):
        """``BaseModel.train_step``, after checking that the PSTS curriculum
        is driven."""
        if not getattr(self.selector, 'progress_set', True):
            raise RuntimeError(
                'SelectiveMAE: the PSTS curriculum progress was never set, so '
                'token selection would stay in its first stage for the whole '
                "run. Add dict(type='PSTSProgressHook') to custom_hooks (the "
                'SelectiveMAE configs under configs/selectivemae/ have it), '
                'or call model.selector.set_progress(t) yourself.')
        return super().train_step(data, optim_wrapper)

    def extract_feat(self, inputs: torch.Tensor):
        """Backbone features of whole images (no token selection)."""
        return self.backbone(inputs)

    def forward_step(
            self,
            inputs: torch.Tensor,
            data_samples: Optional[List[DataSample]] = None) -> PretrainStep:
        """One step up to the per-image loss: patch embedding -> PSTS ->
        encoder on the visible tokens -> decoder on the targets -> loss.

        Args:
            inputs (torch.Tensor): Normalised images [B, C, H, W].
            data_samples (list[DataSample], optional): Their ``sample_idx``
                keys PSTS's random draws (the same image draws the same
                noise on any number of processes).

        Returns:
            PretrainStep: Visible and target ids, prediction, per-image
            loss, patch grid.
        """
        tokens, patch_resolution = self.backbone.embed(inputs)  # [B, L, D]
        ids_vis, ids_rec = self.selector(inputs, tokens, self.patch_size,
                                         _sample_ids(data_samples, inputs))
        latent = self.backbone.encode(tokens, ids_vis)  # [B, 1+n_vis, D]
        pred = self.neck(latent, ids_rec, patch_resolution)  # [B, n_rec, P]
        per_sample = self.head.per_sample_loss(pred, inputs, ids_rec)  # [B]
        return PretrainStep(ids_vis, ids_rec, pred, per_sample,
                            patch_resolution)

    def loss(self, inputs: torch.Tensor, data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Forward and loss of one training batch.

        Args:
            inputs (torch.Tensor): Normalised images [B, C, H, W].
            data_samples (list[DataSample]): Their ``sample_idx`` (keys the
                random draws) and, when data pruning is on, ``loss_weight``.

        Returns:
            dict[str, torch.Tensor]: ``loss``, the weighted mean
            reconstruction loss (scalar), and ``recon_unweighted``, the
            plain mean before any sample weights (detached, for the logs:
            mmengine's ``parse_losses`` sums only keys containing
            ``'loss'``, so it is logged beside the total, not added to it).
        """
        per_sample = self.forward_step(inputs, data_samples).per_sample_loss
        self.per_sample_loss = per_sample.detach()

        raw = per_sample.mean()
        weights = _batch_field(data_samples, LOSS_WEIGHT, torch.float32,
                               inputs, 'the data-pruning loss weight')
        if weights is None:
            return dict(loss=raw, recon_unweighted=raw.detach())
        loss = (per_sample * weights.to(per_sample)).mean()
        return dict(loss=loss, recon_unweighted=raw.detach())
