"""Write the encoder of a checkpoint as a backbone-only file for downstream.

Takes our SelectiveMAE/MAE pretraining checkpoint (``state_dict`` with
``backbone.*``), a released/timm file, or a backbone file, and writes
``{'meta': ..., 'state_dict': <encoder in mmpretrain naming, no prefix>}``,
which ``load_vit_backbone_weights`` and mmengine's ``Pretrained`` init
(``prefix`` unset) load::

    python tools/model_converters/extract_backbone.py \
        work_dirs/selectivemae_demo/epoch_2.pth work_dirs/backbone.pth
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from selective_mae.checkpoint import (  # noqa: E402
    ENCODER_KEYS, encoder_state_dict, load_checkpoint_file, map_keys,
    save_checkpoint_file, unwrap_checkpoint)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='pretraining checkpoint')
    parser.add_argument('dst', help='output backbone file')
    parser.add_argument(
        '--prefix',
        default='backbone.',
        help='prefix of the encoder keys in the source (default backbone.)')
    return parser.parse_args()


def main():
    args = parse_args()
    state_dict, layout = encoder_state_dict(
        unwrap_checkpoint(load_checkpoint_file(args.src)), prefix=args.prefix)
    if layout is None:
        raise SystemExit(
            f'error: {args.src} holds no ViT encoder of a known layout; its '
            f'keys under {args.prefix!r}: {sorted(state_dict)[:20]}')
    out, rest = map_keys(state_dict, ENCODER_KEYS, reverse=True)
    if rest:
        print(f'Left out {len(rest)} keys that are not encoder keys:\n  ' +
              '\n  '.join(rest))
    state_dict = {k: v for k, v in state_dict.items() if k not in set(rest)}
    print(f'Extracted {len(state_dict)} encoder tensors ({layout} layout in '
          'the source)')
    dst = save_checkpoint_file(
        dict(
            meta=dict(extracted_from=args.src, layout='mmpretrain'),
            state_dict=state_dict), args.dst)
    print(f'Saved {dst}')


if __name__ == '__main__':
    main()
