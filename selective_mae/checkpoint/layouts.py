"""ViT checkpoint layouts: detect them and convert between them.

Two layouts of the same ViT encoder circulate:

* ``'timm'``: the released SelectiveMAE / MAE files and timm's ViT weights
  (``patch_embed.proj``, ``blocks.N.norm1``, ``blocks.N.attn.qkv``,
  ``blocks.N.mlp.fc1``, ``norm``), usually under ``'model'``, with the MAE
  decoder (``decoder_*``, ``mask_token``) or a classifier (``head``) beside.
* ``'mmpretrain'``: mmpretrain's ``VisionTransformer`` naming, which our
  pretraining encoder and every downstream backbone use
  (``patch_embed.projection``, ``layers.N.ln1``, ``layers.N.attn.qkv``,
  ``layers.N.ffn.layers.0.0``, ``ln1``), under ``'state_dict'`` with a
  ``backbone.`` prefix in mmengine checkpoints.

The mapping between them is a list of key templates (:data:`ENCODER_KEYS`),
applied in either direction, so a round trip returns the same tensors under
the same names. The released SelectiveMAE model's decoder has its own map
(:mod:`selective_mae.checkpoint.released`).
"""
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch

#: (timm template, mmpretrain template) pairs of the ViT encoder. ``{i}`` is
#: a block index, ``{p}`` a parameter name (weight or bias).
ENCODER_KEYS: Tuple[Tuple[str, str], ...] = (
    ('cls_token', 'cls_token'),
    ('pos_embed', 'pos_embed'),
    ('patch_embed.proj.{p}', 'patch_embed.projection.{p}'),
    ('norm_pre.{p}', 'pre_norm.{p}'),
    ('blocks.{i}.norm1.{p}', 'layers.{i}.ln1.{p}'),
    ('blocks.{i}.attn.qkv.{p}', 'layers.{i}.attn.qkv.{p}'),
    ('blocks.{i}.attn.proj.{p}', 'layers.{i}.attn.proj.{p}'),
    ('blocks.{i}.ls1.gamma', 'layers.{i}.attn.gamma1.weight'),
    ('blocks.{i}.norm2.{p}', 'layers.{i}.ln2.{p}'),
    ('blocks.{i}.mlp.fc1.{p}', 'layers.{i}.ffn.layers.0.0.{p}'),
    ('blocks.{i}.mlp.fc2.{p}', 'layers.{i}.ffn.layers.1.{p}'),
    ('blocks.{i}.ls2.gamma', 'layers.{i}.ffn.gamma2.weight'),
    ('norm.{p}', 'ln1.{p}'),
    ('fc_norm.{p}', 'ln2.{p}'),
)

#: The MAE decoder of the released files (self-attention blocks) and
#: mmpretrain's ``MAEPretrainDecoder`` neck, whole-model keys.
MAE_DECODER_KEYS: Tuple[Tuple[str, str], ...] = (
    ('mask_token', 'neck.mask_token'),
    ('decoder_pos_embed', 'neck.decoder_pos_embed'),
    ('decoder_embed.{p}', 'neck.decoder_embed.{p}'),
    ('decoder_blocks.{i}.norm1.{p}', 'neck.decoder_blocks.{i}.ln1.{p}'),
    ('decoder_blocks.{i}.attn.qkv.{p}',
     'neck.decoder_blocks.{i}.attn.qkv.{p}'),
    ('decoder_blocks.{i}.attn.proj.{p}',
     'neck.decoder_blocks.{i}.attn.proj.{p}'),
    ('decoder_blocks.{i}.norm2.{p}', 'neck.decoder_blocks.{i}.ln2.{p}'),
    ('decoder_blocks.{i}.mlp.fc1.{p}',
     'neck.decoder_blocks.{i}.ffn.layers.0.0.{p}'),
    ('decoder_blocks.{i}.mlp.fc2.{p}',
     'neck.decoder_blocks.{i}.ffn.layers.1.{p}'),
    ('decoder_norm.{p}', 'neck.ln1.{p}'),
    ('decoder_pred.{p}', 'neck.decoder_pred.{p}'),
)

#: A timm classifier and mmpretrain's ``VisionTransformerClsHead``.
CLS_HEAD_KEYS: Tuple[Tuple[str, str], ...] = (
    ('head.{p}', 'head.layers.head.{p}'), )

_FIELDS = {
    'i': r'(?P<i>\d+)',
    'p': r'(?P<p>weight|bias)',
    'r': r'(?P<r>.+)'
}


def compile_template(template: str) -> 're.Pattern':
    """A key template (``'blocks.{i}.norm1.{p}'``) as a full-match regex."""
    parts = re.split(r'\{(\w)\}', template)
    regex = ''.join(_FIELDS[part] if k % 2 else re.escape(part)
                    for k, part in enumerate(parts))
    return re.compile(regex + '$')


def _rules(pairs, reverse=False):
    return [(compile_template(dst if reverse else src),
             src if reverse else dst) for src, dst in pairs]


_MMPRETRAIN_ENCODER_PATTERNS = [p for p, _ in _rules(ENCODER_KEYS, True)]


def map_keys(state_dict: Dict[str, torch.Tensor],
             pairs: Sequence[Tuple[str, str]],
             reverse: bool = False,
             dst_prefix: str = '') -> Tuple[Dict, List[str]]:
    """Rename the keys of a state dict by key templates.

    Args:
        state_dict (dict): Source tensors by name.
        pairs (Sequence[tuple]): ``(source, target)`` templates such as
            :data:`ENCODER_KEYS`.
        reverse (bool): Map target names back to source names.
            Defaults to False.
        dst_prefix (str): Prefix of every renamed key. Defaults to ''.

    Returns:
        tuple[OrderedDict, list[str]]: The renamed tensors (the same tensor
        objects, in the source order) and the source keys that no template
        matched.
    """
    rules = _rules(pairs, reverse=reverse)
    out, unmatched = OrderedDict(), []
    for key, value in state_dict.items():
        for pattern, target in rules:
            m = pattern.match(key)
            if m is not None:
                out[dst_prefix + target.format(**m.groupdict())] = value
                break
        else:
            unmatched.append(key)
    return out, unmatched


def detect_layout(state_dict: Dict[str, torch.Tensor]) -> str:
    """Tell which ViT encoder layout a state dict uses.

    Prefixes before the encoder names (``module.``, ``backbone.``,
    ``encoder.``) are allowed; the test looks for the attention projection of
    a transformer block.

    Args:
        state_dict (dict): Tensors by name.

    Returns:
        str: ``'timm'`` or ``'mmpretrain'``.

    Raises:
        ValueError: If the keys match neither layout.
    """
    layout = find_layout(state_dict)
    if layout is None:
        keys = list(state_dict)
        raise ValueError(
            'The checkpoint matches neither the timm ViT layout '
            "('blocks.N.attn.qkv.weight') nor the mmpretrain one "
            f"('layers.N.attn.qkv.weight'); its first keys are {keys[:8]}")
    return layout


def find_layout(state_dict) -> Optional[str]:
    """``'timm'``, ``'mmpretrain'`` or None (:func:`detect_layout` raises
    instead of returning None)."""
    timm = re.compile(r'(^|\.)blocks\.\d+\.attn\.qkv\.weight$')
    mmpre = re.compile(r'(^|\.)layers\.\d+\.attn\.qkv\.weight$')
    if any(timm.search(k) for k in state_dict):
        return 'timm'
    if any(mmpre.search(k) for k in state_dict):
        return 'mmpretrain'
    return None


def timm_to_mmpretrain(state_dict: Dict[str, torch.Tensor]) -> Dict:
    """Rename a timm-layout ViT encoder into mmpretrain's naming.

    Keys outside the encoder (MAE decoder, classifier head, ...) are left
    out; use :func:`map_keys` to see them.

    Args:
        state_dict (dict): timm-layout tensors (``blocks.N.*``), without any
            ``model``/``module.`` wrapping.

    Returns:
        OrderedDict: Encoder tensors in ``VisionTransformer`` naming
        (``layers.N.*``), no prefix. The tensors are shared, not copied.
    """
    return map_keys(state_dict, ENCODER_KEYS)[0]


def mmpretrain_to_timm(state_dict: Dict[str, torch.Tensor]) -> Dict:
    """Rename an mmpretrain ``VisionTransformer`` encoder into timm's naming.

    The inverse of :func:`timm_to_mmpretrain`: a round trip returns the same
    names and tensors.

    Args:
        state_dict (dict): Encoder tensors without the ``backbone.`` prefix.

    Returns:
        OrderedDict: Tensors in timm naming (``blocks.N.*``).
    """
    return map_keys(state_dict, ENCODER_KEYS, reverse=True)[0]

def encoder_state_dict(state_dict: Dict[str, torch.Tensor],
                       prefix: str = 'backbone.') -> Tuple[Dict, str]:
    """Pick the encoder tensors of any supported file, in mmpretrain naming.

    Args:
        state_dict (dict): An unwrapped state dict (:func:`unwrap_checkpoint`)
            of a whole model (keys under ``prefix``), an encoder only, or a
            timm/released model.
        prefix (str): Prefix of the encoder keys in whole-model files.
            Defaults to ``'backbone.'``.

    Returns:
        tuple[dict, str | None]: Encoder tensors without prefix in mmpretrain
        naming, and the detected layout (None when neither matched; the
        tensors are then returned as found).
    """
    if prefix and any(k.startswith(prefix) for k in state_dict):
        state_dict = {
            k[len(prefix):]: v
            for k, v in state_dict.items() if k.startswith(prefix)
        }
    layout = find_layout(state_dict)
    if layout == 'timm':
        if any(k.startswith('encoder.blocks.') for k in state_dict):
            state_dict = {
                k[len('encoder.'):]: v
                for k, v in state_dict.items() if k.startswith('encoder.')
            }
        state_dict = timm_to_mmpretrain(state_dict)
    return state_dict, layout


def is_encoder_key(key: str) -> bool:
    """Whether ``key`` names an mmpretrain ViT encoder tensor."""
    return any(p.match(key) for p in _MMPRETRAIN_ENCODER_PATTERNS)

def convert_model(state_dict: Dict[str, torch.Tensor],
                  to: str,
                  backbone_only: bool = False,
                  prefix: str = 'backbone.') -> Tuple[Dict, List[str]]:
    """Convert a whole model (encoder, MAE decoder, classifier) of a layout.

    ``to='mmpretrain'`` maps a released/timm state dict to mmpretrain's MAE /
    ViT classifier naming: encoder under ``prefix``, decoder under ``neck.``
    (``MAEPretrainDecoder``), classifier under ``head.layers.head``
    (``VisionTransformerClsHead``). ``to='timm'`` is the inverse. With
    ``backbone_only`` the encoder alone is kept, without prefix when going to
    mmpretrain.

    Args:
        state_dict (dict): An unwrapped state dict of the source layout.
        to (str): ``'mmpretrain'`` or ``'timm'``.
        backbone_only (bool): Keep only the encoder. Defaults to False.
        prefix (str): Encoder prefix in mmpretrain whole models.
            Defaults to ``'backbone.'``.

    Returns:
        tuple[OrderedDict, list[str]]: The converted tensors, and the source
        keys that were not converted (left out on purpose when
        ``backbone_only``, unknown otherwise).
    """
    if to not in ('mmpretrain', 'timm'):
        raise ValueError(f"`to` must be 'mmpretrain' or 'timm', got {to!r}")
    out = OrderedDict()
    if to == 'mmpretrain':
        enc, rest = map_keys(
            state_dict,
            ENCODER_KEYS,
            dst_prefix='' if backbone_only else prefix)
        out.update(enc)
        if not backbone_only:
            for pairs in (MAE_DECODER_KEYS, CLS_HEAD_KEYS):
                part, rest = map_keys({k: state_dict[k] for k in rest}, pairs)
                out.update(part)
        return out, rest

    if prefix and any(k.startswith(prefix) for k in state_dict):
        enc_src = {
            k[len(prefix):]: v
            for k, v in state_dict.items() if k.startswith(prefix)
        }
        other = {
            k: v
            for k, v in state_dict.items() if not k.startswith(prefix)
        }
    else:
        enc_src, other = state_dict, {}
    enc, rest_enc = map_keys(enc_src, ENCODER_KEYS, reverse=True)
    out.update(enc)
    rest = [prefix + k for k in rest_enc] if other else rest_enc
    if backbone_only:
        return out, rest + list(other)
    for pairs in (MAE_DECODER_KEYS, CLS_HEAD_KEYS):
        part, other_left = map_keys(other, pairs, reverse=True)
        out.update(part)
        other = {k: other[k] for k in other_left}
    return out, rest + list(other)
