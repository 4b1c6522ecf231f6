"""Load a pretrained ViT encoder of either layout into a backbone."""
from typing import Dict, Union

import torch
from torch import nn

from .file_io import load_checkpoint_file, unwrap_checkpoint
from .layouts import encoder_state_dict, is_encoder_key


def _fit_pos_embed(state_dict: Dict, backbone: nn.Module) -> None:
    """Resize ``pos_embed`` in place to the backbone's patch grid.

    Handles a checkpoint with or without a cls-token slot and a backbone with
    or without a cls token; the source grid must be square (how every
    released file stores it), the target grid may be anything.
    """
    from mmpretrain.models.utils import resize_pos_embed
    target = getattr(backbone, 'pos_embed', None)
    src = state_dict.get('pos_embed')
    if src is None or not isinstance(target, torch.Tensor):
        return
    num_extra = getattr(backbone, 'num_extra_tokens', 1)
    dst_grid = tuple(
        getattr(backbone, 'patch_resolution', None)
        or backbone.patch_embed.init_out_size)
    if src.ndim == 2:
        src = src.unsqueeze(0)
    length = src.shape[1]
    side = int(round((length - 1)**0.5))
    if side * side == length - 1:
        src_extra = 1
    else:
        side = int(round(length**0.5))
        if side * side != length:
            raise ValueError(
                f'pos_embed of the checkpoint has {length} tokens, which is '
                'neither a square grid nor a square grid plus a cls token')
        src_extra = 0
    if src_extra > num_extra:
        src = src[:, src_extra - num_extra:]
    elif src_extra < num_extra:
        src = torch.cat(
            [src.new_zeros(1, num_extra - src_extra, src.shape[2]), src], 1)
    state_dict['pos_embed'] = resize_pos_embed(
        src, (side, side),
        dst_grid,
        mode='bicubic',
        num_extra_tokens=num_extra).to(target.dtype)


def load_vit_backbone_weights(backbone: nn.Module,
                              filename_or_state_dict: Union[str, Dict],
                              prefix: str = 'backbone.',
                              logger=None,
                              strict: bool = False) -> None:
    """Load a pretrained ViT encoder of either layout into a backbone.

    The backbone is mmpretrain's ``VisionTransformer`` or a subclass (our
    pretraining encoder, the detection/segmentation backbones). Accepted:
    a released/timm file (optionally under ``'model'``), an mmengine
    checkpoint of a whole model (``'state_dict'``, encoder under ``prefix``),
    or an encoder-only file of either layout. The position embedding is
    resized (bicubic) to the backbone's patch grid, square or not; a cls
    token the backbone does not have is dropped.

    Args:
        backbone (nn.Module): The model to load into.
        filename_or_state_dict (str | dict): A path/URL (loaded with
            ``weights_only=True``) or an already loaded checkpoint.
        prefix (str): Prefix of the encoder keys in whole-model files.
            Defaults to ``'backbone.'``.
        logger (logging.Logger | str, optional): Where to report missing and
            unexpected keys. Defaults to mmengine's current logger.
        strict (bool): Raise if any encoder key of the backbone is missing
            from the file. Defaults to False (the keys are only logged).

    Raises:
        ValueError: If the file is of neither layout (the message lists the
            backbone's missing and the file's unexpected keys), or, when
            ``strict``, if encoder keys are missing.
    """
    from mmengine.logging import print_log
    logger = logger or 'current'
    source = filename_or_state_dict
    if source is None or source == '':
        raise ValueError(
            f'No checkpoint to load into {type(backbone).__name__}: set '
            "model.backbone.init_cfg.checkpoint (e.g. --cfg-options "
            "model.backbone.init_cfg.checkpoint=PATH)")
    if isinstance(source, str):
        checkpoint = load_checkpoint_file(source)
        name = source
    else:
        checkpoint, name = source, 'the given state dict'
    state_dict, layout = encoder_state_dict(
        unwrap_checkpoint(checkpoint), prefix=prefix)
    expected = set(backbone.state_dict())
    if layout is None:
        missing = sorted(expected - set(state_dict))
        unexpected = sorted(set(state_dict) - expected)
        raise ValueError(
            f'{name} is neither a timm/released ViT checkpoint nor an '
            'mmpretrain one.\n'
            f'missing keys ({len(missing)}): {missing}\n'
            f'unexpected keys ({len(unexpected)}): {unexpected}')
    state_dict = dict(state_dict)
    if getattr(backbone, 'cls_token', None) is None:
        state_dict.pop('cls_token', None)
    _fit_pos_embed(state_dict, backbone)

    missing = sorted(expected - set(state_dict))
    missing_encoder = [k for k in missing if is_encoder_key(k)]
    if strict and missing_encoder:
        raise ValueError(f'{name} ({layout} layout) lacks encoder keys of '
                         f'the backbone: {missing_encoder}')
    result = backbone.load_state_dict(state_dict, strict=False)
    print_log(
        f'Loaded {len(state_dict) - len(result.unexpected_keys)} encoder '
        f'tensors ({layout} layout) from {name} into '
        f'{type(backbone).__name__}',
        logger=logger)
    if result.missing_keys:
        print_log(
            f'missing keys: {result.missing_keys}', logger=logger, level=30)
    if result.unexpected_keys:
        print_log(
            f'unexpected keys: {result.unexpected_keys}',
            logger=logger,
            level=30)
