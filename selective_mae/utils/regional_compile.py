"""``torch.compile`` for the encoder and decoder blocks of a pretraining
model.

mmengine's ``compile`` config key compiles the whole ``train_step``
(data preprocessor, token selection, loss, optimizer glue), which breaks
the graph in many places and, through PSTS's curriculum, recompiles as
training progresses. Compiling each transformer block instead (encoder
``backbone.layers``, decoder ``neck.decoder_blocks``) covers nearly all the
FLOPs, compiles one block's code once for all blocks of a kind, and keeps
PSTS, whose top-k sizes follow the curriculum, outside every graph.
``tools/train.py`` routes the ``compile`` key here; the state dict is
unchanged (``nn.Module.compile`` compiles in place).
"""
from typing import List, Optional, Union

import torch.nn as nn
from mmengine.model import is_model_wrapper


def transformer_blocks(model: nn.Module) -> List[tuple]:
    """``(name, block)`` of the encoder layers and decoder blocks of an
    MAE-style model (ours or mmpretrain's MAE)."""
    if is_model_wrapper(model):
        model = model.module
    out = []
    for owner, attr in (('backbone', 'layers'), ('neck', 'decoder_blocks')):
        blocks = getattr(getattr(model, owner, None), attr, None)
        if blocks is None:
            continue
        out += [(f'{owner}.{attr}.{i}', b) for i, b in enumerate(blocks)]
    return out


def compile_encoder_decoder(
        model: nn.Module,
        compile_cfg: Optional[Union[bool, dict]] = True) -> List[str]:
    """Compile every encoder and decoder block of ``model`` in place.

    Args:
        model (nn.Module): E.g. ``SelectiveMAE`` or mmpretrain's ``MAE``
            (or a DDP wrapper of one).
        compile_cfg (bool | dict): As mmengine's ``compile`` key: ``True``
            for torch's defaults, a dict of ``torch.compile`` arguments
            (``backend``, ``mode``, ``dynamic``, ...), ``False``/None for
            nothing.

    Returns:
        list[str]: Names of the compiled blocks.

    Raises:
        ValueError: The model has no such blocks.
    """
    if not compile_cfg:
        return []
    kwargs = {} if compile_cfg is True else dict(compile_cfg)
    blocks = transformer_blocks(model)
    if not blocks:
        raise ValueError(
            f'compile: {type(model).__name__} has no backbone.layers or '
            'neck.decoder_blocks to compile')
    for _, block in blocks:
        block.compile(**kwargs)
    return [name for name, _ in blocks]


def take_compile_key(cfg) -> Optional[Union[bool, dict]]:
    """Pop mmengine's ``compile`` key from a config (so the runner does not
    compile the whole ``train_step``) and return it for
    :func:`compile_encoder_decoder`."""
    value = cfg.pop('compile', None)
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    return value or None
