"""ViT checkpoint layouts: detect, convert, and load into a backbone.

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
the same names.
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

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

_FIELDS = {
    'i': r'(?P<i>\d+)',
    'p': r'(?P<p>weight|bias)',
    'r': r'(?P<r>.+)'
}


def _compile(template: str) -> 're.Pattern':
    parts = re.split(r'\{(\w)\}', template)
    regex = ''.join(_FIELDS[part] if k % 2 else re.escape(part)
                    for k, part in enumerate(parts))
    return re.compile(regex + '$')


def _rules(pairs, reverse=False):
    return [(_compile(dst if reverse else src), src if reverse else dst)
            for src, dst in pairs]


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
    layout = _find_layout(state_dict)
    if layout is None:
        keys = list(state_dict)
        raise ValueError(
            'The checkpoint matches neither the timm ViT layout '
            "('blocks.N.attn.qkv.weight') nor the mmpretrain one "
            f"('layers.N.attn.qkv.weight'); its first keys are {keys[:8]}")
    return layout


def _find_layout(state_dict) -> Optional[str]:
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


def unwrap_checkpoint(checkpoint: Dict) -> Dict[str, torch.Tensor]:
    """Return the state dict of a loaded checkpoint file.

    Args:
        checkpoint (dict): What ``torch.load`` returned: an mmengine file
            (``state_dict``), a released/timm file (``model``), or a bare
            state dict.

    Returns:
        dict: Tensors by name, with a DDP ``module.`` prefix removed.
    """
    if not isinstance(checkpoint, dict):
        raise TypeError('A checkpoint must be a dict of tensors, got '
                        f'{type(checkpoint).__name__}')
    for wrapper in ('state_dict', 'model', 'model_ema'):
        if isinstance(checkpoint.get(wrapper), dict):
            checkpoint = checkpoint[wrapper]
            break
    if checkpoint and all(k.startswith('module.') for k in checkpoint):
        checkpoint = {k[len('module.'):]: v for k, v in checkpoint.items()}
    return checkpoint


def load_checkpoint_file(filename: str, map_location='cpu') -> Dict:
    """Load a checkpoint file (local or URL) as weights only.

    Besides tensors and plain containers, an ``argparse.Namespace`` is
    accepted: the released SelectiveMAE / MAE training scripts save their
    command-line arguments under ``'args'`` (a namespace of plain values).
    Any other object is refused (``pickle.UnpicklingError``).

    Args:
        filename (str): A local path or an ``http(s)://`` URL.
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.

    Returns:
        dict: The loaded object.
    """
    import argparse
    with torch.serialization.safe_globals([argparse.Namespace]):
        if re.match(r'https?://', filename):
            from torch.hub import load_state_dict_from_url
            return load_state_dict_from_url(
                filename, map_location=map_location, weights_only=True)
        filename = osp.expanduser(filename)
        if not osp.isfile(filename):
            raise FileNotFoundError(
                f'checkpoint {filename!r} does not exist')
        return torch.load(
            filename, map_location=map_location, weights_only=True)


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
    layout = _find_layout(state_dict)
    if layout == 'timm':
        if any(k.startswith('encoder.blocks.') for k in state_dict):
            state_dict = {
                k[len('encoder.'):]: v
                for k, v in state_dict.items() if k.startswith('encoder.')
            }
        state_dict = timm_to_mmpretrain(state_dict)
    return state_dict, layout


def _is_encoder_key(key: str) -> bool:
    return any(p.match(key) for p in _MMPRETRAIN_ENCODER_PATTERNS)


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
    missing_encoder = [k for k in missing if _is_encoder_key(k)]
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


def is_released_selectivemae(state_dict: Dict[str, torch.Tensor]) -> bool:
    """Whether a (unwrapped) state dict is the released SelectiveMAE model:
    a timm-layout encoder and cross-attention decoder blocks whose
    ``cross_attn.kv`` reads the encoder output."""
    return (_find_layout(state_dict) == 'timm'
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
    unused = [(_compile(t), why) for t, why in RELEASED_UNUSED_KEYS]
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
