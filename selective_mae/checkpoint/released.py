"""The released SelectiveMAE pretraining model, whole, into ours.

The released files (``models_selectivemae.py`` of the authors' code) hold a
timm-layout encoder (:data:`~selective_mae.checkpoint.layouts.ENCODER_KEYS`)
and a cross-attention decoder, mapped here onto our ``SelectiveMAEViT`` and
``CrossAttentionDecoder(memory_proj='per_block')`` (the ``-released``
pretraining configs).
"""
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

from .layouts import (ENCODER_KEYS, compile_template, find_layout,
                      map_keys)

#: The decoder of the released SelectiveMAE model (``models_selectivemae.py``
#: with ``transformer_utils.CrossAttentionBlock``) and our
#: ``CrossAttentionDecoder(memory_proj='per_block')``, whole-model keys.
RELEASED_DECODER_KEYS: Tuple[Tuple[str, str], ...] = (
    ('mask_token', 'neck.mask_token'),
    ('decoder_pos_embed', 'neck.decoder_pos_embed'),
    ('decoder_blocks.{i}.norm0.{p}', 'neck.decoder_blocks.{i}.ln_self.{p}'),
    ('decoder_blocks.{i}.self_attn.qkv.{p}',
     'neck.decoder_blocks.{i}.self_attn.qkv.{p}'),
    ('decoder_blocks.{i}.self_attn.proj.{p}',
     'neck.decoder_blocks.{i}.self_attn.proj.{p}'),
    ('decoder_blocks.{i}.norm1.{p}', 'neck.decoder_blocks.{i}.ln_q.{p}'),
    ('decoder_blocks.{i}.cross_attn.q.{p}',
     'neck.decoder_blocks.{i}.cross_attn.q.{p}'),
    ('decoder_blocks.{i}.cross_attn.kv.{p}',
     'neck.decoder_blocks.{i}.cross_attn.kv.{p}'),
    ('decoder_blocks.{i}.cross_attn.proj.{p}',
     'neck.decoder_blocks.{i}.cross_attn.proj.{p}'),
    ('decoder_blocks.{i}.norm2.{p}', 'neck.decoder_blocks.{i}.ln2.{p}'),
    ('decoder_blocks.{i}.mlp.fc1.{p}',
     'neck.decoder_blocks.{i}.ffn.layers.0.0.{p}'),
    ('decoder_blocks.{i}.mlp.fc2.{p}',
     'neck.decoder_blocks.{i}.ffn.layers.1.{p}'),
    ('decoder_norm.{p}', 'neck.decoder_norm.{p}'),
    ('decoder_pred.{p}', 'neck.decoder_pred.{p}'),
)

#: Keys of the released SelectiveMAE model that its forward pass never reads
#: (``MaskedAutoencoderViT.forward``), each with the reason it is dropped.
RELEASED_UNUSED_KEYS: Tuple[Tuple[str, str], ...] = (
    ('decoder_embed1.{p}',
     'linear layer never called: each decoder block projects the encoder '
     'output itself (cross_attn.kv)'),
    ('get_token_probs.{r}',
     'token-probability network (a transformer block and a linear layer) '
     'never called in the forward pass; never gets a gradient'),
    ('get_token_probs_linear.{p}',
     'linear layer of the token-probability network, never called'),
    ('pos_embed_probs',
     'position embedding of the token-probability network, never read'),
    ('hog.{r}',
     'fixed Sobel / Gaussian buffers of the released HOG layer (whose score '
     'is identically zero); HOGRichness builds its own kernels and stores '
     'none'),
)

def is_released_selectivemae(state_dict: Dict[str, torch.Tensor]) -> bool:
    """Whether a (unwrapped) state dict is the released SelectiveMAE model:
    a timm-layout encoder and cross-attention decoder blocks whose
    ``cross_attn.kv`` reads the encoder output."""
    return (find_layout(state_dict) == 'timm'
            and 'decoder_blocks.0.cross_attn.kv.weight' in state_dict)


def convert_released_selectivemae(
        state_dict: Dict[str, torch.Tensor]
) -> Tuple[Dict[str, torch.Tensor], Dict[str, str], List[str]]:
    """Map a released SelectiveMAE model whole into our SelectiveMAE.

    The target is a model with ``SelectiveMAEViT`` and
    ``CrossAttentionDecoder(memory_proj='per_block')`` (the ``-released``
    pretraining configs): encoder -> ``backbone.*`` (:data:`ENCODER_KEYS`),
    decoder, mask token and decoder position embedding -> ``neck.*``
    (:data:`RELEASED_DECODER_KEYS`). The keys the released forward never
    reads (:data:`RELEASED_UNUSED_KEYS`) are dropped, each with its reason.

    One value is adjusted so that both models compute the same function:
    the released encoder prepends its cls token without a position
    embedding, ours adds ``pos_embed[:, 0]`` to it, so a non-zero cls slot
    of ``pos_embed`` is set to zero (the released files hold a fixed sin-cos
    table whose cls slot is zero already; then nothing changes).

    Args:
        state_dict (dict): The released model (the ``'model'`` entry of the
            file, :func:`unwrap_checkpoint`).

    Returns:
        tuple: The converted tensors (OrderedDict), the dropped keys
        (``{key: reason}``) and notes on adjusted values (list of str).

    Raises:
        ValueError: If the state dict is not a released SelectiveMAE model,
            holds keys that are neither mapped nor known to be unused (all
            named), or lacks the mask token / decoder position embedding /
            prediction layer.
    """
    if not is_released_selectivemae(state_dict):
        raise ValueError(
            'not a released SelectiveMAE model: expected timm encoder keys '
            "('blocks.N.attn.qkv.weight') and cross-attention decoder keys "
            "('decoder_blocks.0.cross_attn.kv.weight'); first keys: "
            f'{list(state_dict)[:8]}')
    out, rest = map_keys(state_dict, ENCODER_KEYS, dst_prefix='backbone.')
    decoder, rest = map_keys({k: state_dict[k]
                              for k in rest}, RELEASED_DECODER_KEYS)
    out.update(decoder)
    dropped, unknown = OrderedDict(), []
    unused = [(compile_template(t), why)
              for t, why in RELEASED_UNUSED_KEYS]
    for key in rest:
        why = next((w for pattern, w in unused if pattern.match(key)), None)
        if why is None:
            unknown.append(key)
        else:
            dropped[key] = why
    if unknown:
        raise ValueError(
            f'{len(unknown)} keys of the released SelectiveMAE model are '
            f'neither mapped nor known to be unused: {unknown}')
    required = ('backbone.pos_embed', 'backbone.cls_token',
                'neck.mask_token', 'neck.decoder_pos_embed',
                'neck.decoder_norm.weight', 'neck.decoder_pred.weight')
    missing = [k for k in required if k not in out]
    if missing:
        raise ValueError(f'the released SelectiveMAE model lacks {missing} '
                         '(after conversion)')

    notes = []
    pos = out['backbone.pos_embed']
    if pos[:, 0].abs().max() > 0:
        notes.append(
            'pos_embed[:, 0] (cls slot, max |x| '
            f'{pos[:, 0].abs().max().item():.3g}) set to zero: the released '
            'encoder does not add it to the cls token, ours does')
        pos = pos.clone()
        pos[:, 0] = 0
        out['backbone.pos_embed'] = pos
    return out, dropped, notes
