"""Convert a released SelectiveMAE/MAE or timm ViT file to mmpretrain naming.

Examples::

    # whole model (encoder -> backbone.*, MAE decoder -> neck.*,
    # classifier -> head.layers.head.*)
    python tools/model_converters/timm_to_mmpretrain.py \
        mae_pretrain_vit_base.pth work_dirs/mae_vit-b_mmpretrain.pth
    # encoder only, for init_cfg / load_vit_backbone_weights
    python tools/model_converters/timm_to_mmpretrain.py --backbone-only \
        SelectiveMAE-ViT-B.pth work_dirs/selectivemae_vit-b_backbone.pth

Keys that match no known layout are listed and nothing is written, unless
``--allow-unmatched`` is given.
"""
import argparse

from _common import fail_on_unmatched, save_atomic


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='released / timm checkpoint')
    parser.add_argument('dst', help='output file (mmpretrain layout)')
    parser.add_argument(
        '--backbone-only',
        action='store_true',
        help='keep the encoder alone, keys without prefix')
    parser.add_argument(
        '--allow-unmatched',
        action='store_true',
        help='write the file even if some keys were not converted')
    return parser.parse_args()


def main():
    args = parse_args()
    from selective_mae.models.utils.checkpoint_convert import (
        convert_model, detect_layout, is_released_selectivemae,
        load_checkpoint_file, unwrap_checkpoint)
    state_dict = unwrap_checkpoint(load_checkpoint_file(args.src))
    layout = detect_layout(state_dict)
    if layout != 'timm':
        raise SystemExit(f'error: {args.src} is already in the {layout} '
                         'layout')
    if is_released_selectivemae(state_dict) and not args.backbone_only:
        # its decoder blocks would half-match the MAE decoder's names
        raise SystemExit(
            f'error: {args.src} is a released SelectiveMAE model; convert it '
            'whole (encoder and cross-attention decoder) with '
            'tools/model_converters/selectivemae_released_to_mmpretrain.py, '
            'or pass --backbone-only for the encoder alone')
    out, rest = convert_model(
        state_dict, to='mmpretrain', backbone_only=args.backbone_only)
    fail_on_unmatched(
        rest, 'not encoder'
        if args.backbone_only else 'not encoder, MAE decoder or classifier',
        args.allow_unmatched or args.backbone_only)
    print(f'Converted {len(out)} tensors')
    save_atomic(
        dict(
            meta=dict(
                converted_from=args.src,
                layout='mmpretrain',
                backbone_only=args.backbone_only),
            state_dict=out), args.dst)


if __name__ == '__main__':
    main()
