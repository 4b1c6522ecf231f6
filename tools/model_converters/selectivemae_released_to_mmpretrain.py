"""Convert a released SelectiveMAE pretraining checkpoint whole.

The released files (``{'model': ...}``, timm-layout encoder, cross-attention
decoder) become an mmengine checkpoint of our SelectiveMAE with the released
decoder architecture (``CrossAttentionDecoder(memory_proj='per_block')``):
``configs/selectivemae/selectivemae_vit-{base,large}-p16_8xb256-amp-coslr-
800e_rs4m-released.py``. Encoder, decoder, mask token and both position
embeddings are kept; the keys the released forward never reads are dropped
and listed with the reason. The source may be a local file or a URL::

    python tools/model_converters/selectivemae_released_to_mmpretrain.py \\
        SRC.pth checkpoints/selectivemae_vit-base-p16_rs4m.pth \\
        --config configs/selectivemae/$RELEASED_CONFIG

with ``RELEASED_CONFIG`` the ``-released`` config of the file's size.
``--config`` builds that config's model and loads the result strictly
(every key present, no extra key, every shape equal) before writing. The
output serves as ``load_from`` of the config (continue pretraining) and as
``init_cfg.checkpoint`` of every downstream config (its ``backbone.*``).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from selective_mae.checkpoint import (  # noqa: E402
    convert_released_selectivemae, load_checkpoint_file, save_checkpoint_file,
    unwrap_checkpoint)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='released checkpoint (path or URL)')
    parser.add_argument('dst', help='output mmengine checkpoint')
    parser.add_argument(
        '--config',
        help='a -released pretraining config: check that the converted '
        'state dict loads into its model strictly before writing')
    return parser.parse_args()


def check_against_config(state_dict, config):
    """Load ``state_dict`` strictly into the model of ``config``."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    expected = model.state_dict()
    wrong = [
        f'{k}: checkpoint {tuple(v.shape)} vs model '
        f'{tuple(expected[k].shape)}' for k, v in state_dict.items()
        if k in expected and v.shape != expected[k].shape
    ]
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if wrong or missing or unexpected:
        raise SystemExit(
            f'error: the converted checkpoint does not fit {config}; nothing '
            f'was written.\nmissing ({len(missing)}): {missing}\n'
            f'unexpected ({len(unexpected)}): {unexpected}\n'
            f'shape mismatches ({len(wrong)}): {wrong}')
    model.load_state_dict(state_dict, strict=True)
    print(f'Loads strictly into the model of {config} '
          f'({len(expected)} tensors)')


def main():
    args = parse_args()
    state_dict = unwrap_checkpoint(load_checkpoint_file(args.src))
    try:
        out, dropped, notes = convert_released_selectivemae(state_dict)
    except ValueError as err:
        raise SystemExit(f'error: {args.src}: {err}')
    print(f'Converted {len(out)} tensors of {len(state_dict)}; dropped '
          f'{len(dropped)} keys the released forward never reads:')
    for key, why in dropped.items():
        print(f'  {key}: {why}')
    for note in notes:
        print(f'Note: {note}')
    if args.config:
        check_against_config(out, args.config)
    dst = save_checkpoint_file(
        dict(
            meta=dict(
                converted_from=args.src,
                layout='mmpretrain',
                architecture='SelectiveMAE, released decoder '
                '(memory_proj=per_block)',
                dropped_keys=dict(dropped),
                notes=notes),
            state_dict=out), args.dst)
    print(f'Saved {dst}')


if __name__ == '__main__':
    main()
