"""Convert an mmpretrain / SelectiveMAE checkpoint to the timm layout.

Examples::

    # encoder only, as timm's VisionTransformer expects it (under 'model')
    python tools/model_converters/mmpretrain_to_timm.py --backbone-only \
        work_dirs/selectivemae/epoch_800.pth selectivemae_vit-b_timm.pth

Whole models convert the encoder, mmpretrain's MAE decoder (``neck.*``) and
a ``VisionTransformerClsHead``; other keys (for example SelectiveMAE's
cross-attention decoder) are listed and nothing is written unless
``--backbone-only`` or ``--allow-unmatched`` is given.
"""
import argparse

from _common import fail_on_unmatched, save_atomic


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='mmpretrain checkpoint or backbone file')
    parser.add_argument('dst', help='output file (timm layout, "model")')
    parser.add_argument(
        '--backbone-only', action='store_true', help='keep the encoder alone')
    parser.add_argument(
        '--allow-unmatched',
        action='store_true',
        help='write the file even if some keys were not converted')
    return parser.parse_args()


def main():
    args = parse_args()
    from selective_mae.models.utils.checkpoint_convert import (
        convert_model, detect_layout, load_checkpoint_file, unwrap_checkpoint)
    state_dict = unwrap_checkpoint(load_checkpoint_file(args.src))
    state_dict = {
        k: v
        for k, v in state_dict.items() if not k.startswith('data_preprocessor')
    }
    layout = detect_layout(state_dict)
    if layout != 'mmpretrain':
        raise SystemExit(f'error: {args.src} is already in the {layout} '
                         'layout')
    out, rest = convert_model(
        state_dict, to='timm', backbone_only=args.backbone_only)
    fail_on_unmatched(
        rest, 'not encoder'
        if args.backbone_only else 'not encoder, MAE decoder or classifier',
        args.allow_unmatched or args.backbone_only)
    print(f'Converted {len(out)} tensors')
    save_atomic(dict(model=out), args.dst)


if __name__ == '__main__':
    main()
