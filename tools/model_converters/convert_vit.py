"""Convert a ViT checkpoint between the timm and the mmpretrain layout.

``--to mmpretrain`` reads a released SelectiveMAE/MAE or timm file, ``--to
timm`` an mmpretrain / SelectiveMAE checkpoint or backbone file. Examples::

    # whole model (encoder -> backbone.*, MAE decoder -> neck.*,
    # classifier -> head.layers.head.*)
    python tools/model_converters/convert_vit.py --to mmpretrain \\
        mae_pretrain_vit_base.pth work_dirs/mae_vit-b_mmpretrain.pth
    # encoder only, for init_cfg / load_vit_backbone_weights
    python tools/model_converters/convert_vit.py --to mmpretrain \\
        --backbone-only SelectiveMAE-ViT-B.pth work_dirs/vit-b_backbone.pth
    # encoder only, as timm's VisionTransformer expects it (under 'model')
    python tools/model_converters/convert_vit.py --to timm --backbone-only \\
        work_dirs/selectivemae/epoch_800.pth selectivemae_vit-b_timm.pth

Whole models convert the encoder, the MAE decoder and a ViT classifier head;
keys that match no known layout (for example SelectiveMAE's cross-attention
decoder) are listed and nothing is written, unless ``--backbone-only`` or
``--allow-unmatched`` is given. A released SelectiveMAE model converts whole
with ``selectivemae_released_to_mmpretrain.py`` instead.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from selective_mae.checkpoint import (  # noqa: E402
    convert_model, detect_layout, is_released_selectivemae,
    load_checkpoint_file, save_checkpoint_file, unwrap_checkpoint)

SOURCE_LAYOUT = dict(mmpretrain='timm', timm='mmpretrain')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='checkpoint of the other layout')
    parser.add_argument('dst', help='output file')
    parser.add_argument(
        '--to',
        required=True,
        choices=sorted(SOURCE_LAYOUT),
        help="target layout: 'mmpretrain' (under 'state_dict') or 'timm' "
        "(under 'model')")
    parser.add_argument(
        '--backbone-only',
        action='store_true',
        help='keep the encoder alone, keys without prefix')
    parser.add_argument(
        '--allow-unmatched',
        action='store_true',
        help='write the file even if some keys were not converted')
    return parser.parse_args(argv)


def fail_on_unmatched(unmatched, what, allow):
    """Print the keys that were not converted; exit unless allowed."""
    if not unmatched:
        return
    names = '\n  '.join(unmatched)
    if allow:
        print(f'Left out {len(unmatched)} keys ({what}):\n  {names}')
        return
    sys.exit(f'error: {len(unmatched)} keys match no known layout ({what}); '
             f'nothing was written:\n  {names}\n'
             'Pass --backbone-only to keep the encoder alone, or '
             '--allow-unmatched to write the file without these keys.')


def main(argv=None):
    args = parse_args(argv)
    state_dict = unwrap_checkpoint(load_checkpoint_file(args.src))
    if args.to == 'timm':
        state_dict = {
            k: v
            for k, v in state_dict.items()
            if not k.startswith('data_preprocessor')
        }
    layout = detect_layout(state_dict)
    if layout != SOURCE_LAYOUT[args.to]:
        raise SystemExit(f'error: {args.src} is already in the {layout} '
                         'layout')
    if (args.to == 'mmpretrain' and not args.backbone_only
            and is_released_selectivemae(state_dict)):
        # its decoder blocks would half-match the MAE decoder's names
        raise SystemExit(
            f'error: {args.src} is a released SelectiveMAE model; convert it '
            'whole (encoder and cross-attention decoder) with '
            'tools/model_converters/selectivemae_released_to_mmpretrain.py, '
            'or pass --backbone-only for the encoder alone')
    out, rest = convert_model(
        state_dict, to=args.to, backbone_only=args.backbone_only)
    fail_on_unmatched(
        rest, 'not encoder'
        if args.backbone_only else 'not encoder, MAE decoder or classifier',
        args.allow_unmatched or args.backbone_only)
    print(f'Converted {len(out)} tensors')
    if args.to == 'timm':
        result = dict(model=out)
    else:
        result = dict(
            meta=dict(
                converted_from=args.src,
                layout='mmpretrain',
                backbone_only=args.backbone_only),
            state_dict=out)
    print(f'Saved {save_checkpoint_file(result, args.dst)}')


if __name__ == '__main__':
    main()
