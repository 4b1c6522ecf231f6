"""Layer-wise learning-rate decay for any model built on our ViT backbone.

The stock constructors each fit one code base only: mmpretrain's needs a
``get_layer_depth`` on the top-level model (detectors and segmentors have
none), mmseg's accepts only BEiT/MAE/ConvNeXt class names, ViTDet's expects
``.blocks.``. This one keys on the parameter names of mmpretrain's
``VisionTransformer`` (``backbone.layers.N.``), which our pretraining encoder
and downstream backbone share, so the same config block works for
classifiers, detectors and segmentors. It is registered in mmengine's root
registry and is therefore visible from the mmpretrain, mmdet/mmrotate and
mmseg scopes.

Depths, with ``L`` transformer layers:

* ``0``: ``cls_token``, ``pos_embed``, ``patch_embed.*``, ``pre_norm.*``;
* ``N + 1``: ``layers.N.*``;
* ``L + 1``: every other parameter (final norm, neck, heads).

The lr multiplier of depth ``d`` is ``layer_decay_rate ** (L + 1 - d)``.
"""
from collections import OrderedDict
from typing import List, Tuple

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS

EMBED_PARAM_NAMES = ('cls_token', 'pos_embed', 'mask_token', 'register_tokens')
EMBED_MODULE_PREFIXES = ('patch_embed.', 'pre_norm.')
NO_DECAY_NAMES = ('pos_embed', 'cls_token', 'mask_token', 'rel_pos')


def get_vit_layer_depth(param_name: str,
                        num_layers: int,
                        prefix: str = 'backbone.') -> int:
    """Depth of a parameter in a ViT with mmpretrain naming.

    Args:
        param_name (str): Full parameter name, e.g.
            ``'backbone.layers.3.attn.qkv.weight'``.
        num_layers (int): Number of transformer layers ``L``.
        prefix (str): Name prefix of the backbone inside the model.
            Defaults to ``'backbone.'``.

    Returns:
        int: Depth in ``[0, L + 1]``.
    """
    if not param_name.startswith(prefix):
        return num_layers + 1
    name = param_name[len(prefix):]
    if name in EMBED_PARAM_NAMES or name.startswith(EMBED_MODULE_PREFIXES):
        return 0
    if name.startswith('layers.'):
        layer_id = int(name.split('.')[1])
        if not 0 <= layer_id < num_layers:
            raise ValueError(f'parameter {param_name!r} names layer '
                             f'{layer_id}, but the backbone has {num_layers}')
        return layer_id + 1
    return num_layers + 1


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ViTLayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Layer-wise lr decay and no-decay rules for our ViT in any model.

    ``paramwise_cfg`` keys:

    - ``layer_decay_rate`` (float): decay per layer, e.g. 0.75. Required.
    - ``num_layers`` (int, optional): transformer depth ``L``; read from
      ``<backbone>.num_layers`` when omitted.
    - ``backbone_prefix`` (str): name prefix of the ViT inside the model.
      Defaults to ``'backbone.'``.
    - ``no_decay_names`` (Sequence[str]): substrings of parameter names that
      get no weight decay. Defaults to ``('pos_embed', 'cls_token',
      'mask_token', 'rel_pos')``. Biases and all 1-D parameters never get
      weight decay either.
    - ``custom_keys`` (dict): ``{substring: dict(lr_mult=...,
      decay_mult=...)}`` applied on top of the rules above (longest matching key wins).

    Parameters with the same (lr multiplier, weight decay) share one group.
    Each group also carries ``lr_scale``, ``layer_id`` (depth) and
    ``param_names`` for inspection.

    Example:
        >>> optim_wrapper = dict(
        ...     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
        ...     constructor='ViTLayerDecayOptimWrapperConstructor',
        ...     paramwise_cfg=dict(layer_decay_rate=0.75))
    """

    def _num_layers(self, model: nn.Module, prefix: str) -> int:
        num_layers = self.paramwise_cfg.get('num_layers')
        if num_layers is not None:
            return int(num_layers)
        module = model
        for attr in prefix.strip('.').split('.') if prefix else []:
            module = getattr(module, attr, None)
            if module is None:
                raise ValueError(
                    f'paramwise_cfg.backbone_prefix={prefix!r}: '
                    f'{type(model).__name__} has no such submodule; set '
                    'backbone_prefix or num_layers')
        num_layers = getattr(module, 'num_layers', None)
        if num_layers is None:
            raise ValueError(
                f'{type(module).__name__} at {prefix!r} has no `num_layers`; '
                'set paramwise_cfg.num_layers')
        return int(num_layers)

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   **kwargs) -> None:
        """Fill ``params`` with one group per (lr multiplier, weight decay).

        Args:
            params (list[dict]): Parameter groups, extended in place.
            module (nn.Module): The whole model (wrappers are unwrapped).
            prefix (str): Unused; kept for the parent's signature.
        """
        if is_model_wrapper(module):
            module = module.module
        cfg = self.paramwise_cfg
        if 'layer_decay_rate' not in cfg:
            raise ValueError('ViTLayerDecayOptimWrapperConstructor needs '
                             'paramwise_cfg.layer_decay_rate')
        decay_rate = float(cfg['layer_decay_rate'])
        backbone_prefix = cfg.get('backbone_prefix', 'backbone.')
        no_decay_names = tuple(cfg.get('no_decay_names', NO_DECAY_NAMES))
        custom_keys = cfg.get('custom_keys', {})
        sorted_keys = sorted(sorted(custom_keys), key=len, reverse=True)
        num_layers = self._num_layers(module, backbone_prefix)
        base_wd = self.base_wd or 0.

        groups: 'OrderedDict[Tuple[float, float, int], dict]' = OrderedDict()
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            depth = get_vit_layer_depth(name, num_layers, backbone_prefix)
            lr_scale = decay_rate**(num_layers + 1 - depth)
            no_decay = (
                param.ndim <= 1 or name.endswith('.bias')
                or any(key in name for key in no_decay_names))
            weight_decay = 0. if no_decay else base_wd
            key = next((k for k in sorted_keys if k in name), None)
            if key is not None:
                lr_scale *= custom_keys[key].get('lr_mult', 1.)
                weight_decay = base_wd * custom_keys[key].get(
                    'decay_mult', 0. if no_decay else 1.)
            group = groups.setdefault(
                (lr_scale, weight_decay, depth),
                dict(
                    params=[],
                    param_names=[],
                    lr=self.base_lr * lr_scale,
                    lr_scale=lr_scale,
                    weight_decay=weight_decay,
                    layer_id=depth))
            group['params'].append(param)
            group['param_names'].append(name)
        params.extend(groups.values())
        self._log_table(list(groups.values()), num_layers, decay_rate)

    @staticmethod
    def _log_table(groups: List[dict], num_layers: int,
                   decay_rate: float) -> None:
        logger = MMLogger.get_current_instance()
        lines = [
            f'layer-wise lr decay {decay_rate} over {num_layers} layers: '
            f'{len(groups)} parameter groups'
        ]
        for g in groups:
            lines.append(f'  depth {g["layer_id"]:>3} lr_scale '
                         f'{g["lr_scale"]:.4g} wd {g["weight_decay"]:.3g} '
                         f'{len(g["params"])} tensors')
        logger.debug('\n'.join(lines))


def build_layer_decay_groups(model: nn.Module,
                             paramwise_cfg: dict,
                             lr: float = 1.,
                             weight_decay: float = 0.05,
                             optimizer: str = 'AdamW'
                             ) -> List[dict]:
    """Parameter groups the constructor would give ``model`` (for tools).

    Args:
        model (nn.Module): The model.
        paramwise_cfg (dict): As for the constructor.
        lr (float): Base learning rate. Defaults to 1.
        weight_decay (float): Base weight decay. Defaults to 0.05.
        optimizer (str): Optimizer type. Defaults to ``'AdamW'``.

    Returns:
        list[dict]: The parameter groups.
    """
    constructor = ViTLayerDecayOptimWrapperConstructor(
        dict(optimizer=dict(type=optimizer, lr=lr,
                            weight_decay=weight_decay)),
        paramwise_cfg)
    params: List[dict] = []
    constructor.add_params(params, model)
    return params
