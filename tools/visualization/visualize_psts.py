"""Draw what Progressive Semantic Token Selection (PSTS) chooses on an image.

    python tools/visualization/visualize_psts.py demo.png \
        --config configs/selectivemae/selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py \
        --checkpoint work_dirs/selectivemae/epoch_800.pth \
        --progress 0 0.36 0.5 0.74 0.9 --out psts.png

One PNG. Top row: the input (resized and centre-cropped to the model's
image size), the HOG richness sampling distribution ``p`` as a heat map,
then for each curriculum progress ``t`` the encoder's visible tokens (seeds
red, expansion rounds orange and yellow) and the reconstruction targets
(blue). With ``--checkpoint``, a second row shows at each ``t`` the
visible patches and the decoder's reconstruction of the targets (per-patch
normalised predictions mapped back with each target patch's own mean and
variance, as MAE visualisations do), with the image's loss. Without a
checkpoint the patch embeddings that drive the similarity rounds come from
the randomly initialised model (the richness score needs no weights).
The same ``--seed`` is used at every ``t``, so columns differ only by the
curriculum.
"""
import argparse
import os.path as osp
import sys

import torch

ROOT = osp.abspath(osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from selective_mae.visualization.psts_figure import (  # noqa: E402
    analyse_psts as analyse, build_psts_model, draw_psts as draw,
    image_normalisation, load_image)

__all__ = ['analyse', 'build_model', 'draw', 'load_image', 'main']

DEFAULT_CFG = osp.join(
    ROOT, 'configs', 'selectivemae',
    'selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Visualise PSTS token selection (and reconstruction).')
    parser.add_argument('image', help='image file (any PIL format)')
    parser.add_argument('--config', default=DEFAULT_CFG)
    parser.add_argument('--checkpoint', help='SelectiveMAE checkpoint')
    parser.add_argument(
        '--progress',
        type=float,
        nargs='+',
        default=[0., 0.36, 0.5, 0.74, 0.9],
        help='curriculum progress values t in [0, 1]')
    parser.add_argument('--out', default='work_dirs/psts_vis.png')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    bad = [t for t in args.progress if not 0 <= t <= 1]
    if bad:
        raise SystemExit(f'--progress values must be in [0, 1], got {bad}')
    if not osp.isfile(args.image):
        raise SystemExit(f'image not found: {args.image}')
    return args


def build_model(config, checkpoint, device):
    """SelectiveMAE of a config, in eval mode (exits on another model)."""
    try:
        return build_psts_model(config, checkpoint, device)
    except ValueError as e:
        raise SystemExit(str(e))


def main(argv=None):
    args = parse_args(argv)
    import selective_mae  # noqa: F401

    model = build_model(args.config, args.checkpoint, args.device)
    size = model.backbone.patch_resolution[0] * model.patch_size
    image = load_image(args.image, size)
    mean, std = image_normalisation(model)
    inputs = torch.from_numpy(image).permute(2, 0, 1).float()[None]
    inputs = ((inputs - mean) / std).to(args.device)
    result = analyse(model, inputs, args.progress, args.seed)
    draw(image, result, mean, std, args.out, bool(args.checkpoint))
    print(f'wrote {args.out}')
    return result


if __name__ == '__main__':
    main()
