"""Two parameter groups (weight decay / none) and a fused or multi-tensor
AdamW for pretraining.

mmengine's ``DefaultOptimWrapperConstructor`` with a ``paramwise_cfg`` makes
one parameter group per parameter (about 284 for SelectiveMAE ViT-B), and
AdamW runs its update once per group: thousands of small kernels per step.
It also matches ``custom_keys`` as substrings, so e.g. ``decoder_norm.weight``
(no ``ln`` in the name) got weight decay. This constructor builds exactly two
groups, with the membership rule stated once in :func:`no_weight_decay`.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIM_WRAPPERS, OPTIMIZERS

from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS

# Parameters that are embeddings or tokens rather than weights (matched as
# the last component of the name, or as ``<name>`` anywhere in it).
NO_DECAY_NAMES = ('pos_embed', 'cls_token', 'mask_token', 'decoder_pos_embed',
                  'register_tokens', 'rel_pos')
# Optimizers whose torch implementations take ``fused`` / ``foreach``.
MULTI_TENSOR = ('Adam', 'AdamW')


def no_weight_decay(name: str,
                    param: torch.Tensor,
                    names: Sequence[str] = NO_DECAY_NAMES) -> bool:
    """Whether a parameter gets no weight decay: THE rule of the pretraining
    schedules.

    No decay on every parameter with at most one dimension (biases, the
    weights and biases of every normalisation layer, whatever the layer is
    called) and on position embeddings and tokens (``names``: a name
    component equal to one of them, e.g. ``backbone.pos_embed``,
    ``neck.mask_token``). Everything else (linear and convolution weights)
    decays.

    Args:
        name (str): Full parameter name.
        param (torch.Tensor): The parameter.
        names (Sequence[str]): Names of token / embedding parameters.

    Returns:
        bool: True when the parameter gets no weight decay.
    """
    if param.ndim <= 1:
        return True
    return any(part in names for part in name.split('.'))


def split_decay(
    model: nn.Module,
    names: Sequence[str] = NO_DECAY_NAMES
) -> Tuple[List[Tuple[str, nn.Parameter]], List[Tuple[str, nn.Parameter]]]:
    """``(decay, no_decay)`` lists of ``(name, param)``, trainable
    parameters only, in the model's order."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if no_weight_decay(name, param, names) else decay).append(
            (name, param))
    return decay, no_decay


def fused_supported(params: Sequence[torch.Tensor]) -> bool:
    """Whether torch has fused Adam(W) kernels for these parameters
    (floating point, all on one device type that supports them)."""
    try:  # torch >= 2.4 lists the devices (cuda, cpu, xpu, ...)
        from torch.optim.optimizer import _get_fused_kernels_supported_devices
        devices = set(_get_fused_kernels_supported_devices())
    except ImportError:  # pragma: no cover
        devices = {'cuda'}
    kinds = {p.device.type for p in params}
    return (len(kinds) == 1 and kinds <= devices
            and all(p.is_floating_point() for p in params))


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DecayGroupsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Exactly two parameter groups: weight decay and none.

    Membership: :func:`no_weight_decay` (1-D parameters, i.e. biases and
    norms, plus position embeddings and tokens). The no-decay group gets
    ``weight_decay=0``; both share the optimizer's other settings. For
    ``Adam`` / ``AdamW`` without an explicit ``fused`` or ``foreach``,
    the update is fused (one kernel for all tensors) where torch has fused
    kernels for the parameters' device (CUDA; recent torch: CPU too), else
    multi-tensor (``foreach=True``). Built after the runner moved the model
    to its device, so the device is the training one.

    ``paramwise_cfg`` keys:

    - ``no_decay_names`` (Sequence[str]): replaces :data:`NO_DECAY_NAMES`
      (e.g. ``()`` for timm's rule: 1-D parameters only).

    Any other key raises: per-parameter multipliers would need more groups
    (use ``DefaultOptimWrapperConstructor`` for them).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - {'no_decay_names'}
        if unknown:
            raise ValueError(
                'DecayGroupsOptimWrapperConstructor: unsupported '
                f'paramwise_cfg keys {sorted(unknown)}; it takes only '
                "'no_decay_names' (two groups: decay and no decay)")
        self.no_decay_names = tuple(
            paramwise_cfg.get('no_decay_names', NO_DECAY_NAMES))
        super().__init__(optim_wrapper_cfg, None)

    def __call__(self, model: nn.Module):
        if is_model_wrapper(model):
            model = model.module
        wrapper_cfg = self.optim_wrapper_cfg.copy()
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        optimizer_cfg = self.optimizer_cfg.copy()
        decay, no_decay = split_decay(model, self.no_decay_names)
        groups = [dict(params=[p for _, p in decay])]
        if no_decay:
            groups.append(
                dict(params=[p for _, p in no_decay], weight_decay=0.))
        optimizer_cfg['params'] = groups
        kind = optimizer_cfg.get('type')
        kind = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
        if kind.split('.')[-1] in MULTI_TENSOR and not {'fused', 'foreach'
                                                        } & set(optimizer_cfg):
            params = [p for _, p in decay + no_decay]
            if fused_supported(params):
                optimizer_cfg['fused'] = True
            else:
                optimizer_cfg['foreach'] = True
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        MMLogger.get_current_instance().debug(
            f'{type(self).__name__}: {len(decay)} tensors with weight decay, '
            f'{len(no_decay)} without: ' + ', '.join(n for n, _ in no_decay))
        return OPTIM_WRAPPERS.build(
            wrapper_cfg, default_args=dict(optimizer=optimizer))
