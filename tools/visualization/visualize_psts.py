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
import os
import os.path as osp
import sys

import numpy as np
import torch

ROOT = osp.abspath(osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DEFAULT_CFG = osp.join(
    ROOT, 'configs', 'selectivemae',
    'selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py')
SEED_RGBA = (0.9, 0.1, 0.1, 0.75)
ROUND_RGBA = ((1.0, 0.55, 0.0, 0.7), (1.0, 0.9, 0.0, 0.7), (0.6, 0.9, 0.2,
                                                            0.7))
TARGET_RGBA = (0.1, 0.35, 1.0, 0.55)


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
    """SelectiveMAE of a config, with the config's data preprocessor.

    Returns:
        nn.Module: The model in eval mode.
    """
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    from mmpretrain.registry import MODELS

    import logging
    init_default_scope('mmpretrain')
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    cfg = Config.fromfile(config)
    model_cfg = cfg.model
    if model_cfg.get('data_preprocessor') is None:
        model_cfg['data_preprocessor'] = cfg.get('data_preprocessor')
    if model_cfg.get('type') != 'SelectiveMAE':
        raise SystemExit(f'{config}: model type is {model_cfg.get("type")!r},'
                         ' not SelectiveMAE')
    model = MODELS.build(model_cfg)
    model.init_weights()
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return model.to(device).eval()


def load_image(path, size):
    """RGB uint8 array [size, size, 3]: shorter side resized, centre crop."""
    from PIL import Image

    img = Image.open(path).convert('RGB')
    w, h = img.size
    scale = size / min(w, h)
    img = img.resize(
        (max(size, round(w * scale)), max(size, round(h * scale))),
        Image.BICUBIC)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    return np.array(img.crop((left, top, left + size, top + size)))


def unpatchify(patches, patch_size, grid):
    """Inverse of ``selective_mae.models.utils.patchify.patchify``.

    Args:
        patches (torch.Tensor): [B, h * w, p * p * C].
        patch_size (int): p.
        grid (tuple[int, int]): (h, w).

    Returns:
        torch.Tensor: Images [B, C, h * p, w * p].
    """
    B = patches.shape[0]
    h, w = grid
    p = patch_size
    x = patches.reshape(B, h, w, p, p, -1)
    return torch.einsum('nhwpqc->nchpwq', x).reshape(B, -1, h * p, w * p)


@torch.no_grad()
def analyse(model, inputs, progress, seed):
    """Richness distribution, selections and (optionally) reconstructions.

    Args:
        model (nn.Module): A :class:`SelectiveMAE`.
        inputs (torch.Tensor): One normalised image [1, 3, H, W].
        progress (list[float]): Curriculum progress values.
        seed (int): Random seed used before each selection.

    Returns:
        dict: ``prob`` [h, w] numpy; ``grid``; ``steps``, one dict per t
        with ``t``, ``modes``, ``seed`` / ``rounds`` / ``targets`` index
        arrays, ``recon`` [1, 3, H, W] normalised tensor and ``loss``.
    """
    from selective_mae.models.utils.patchify import gather_tokens

    p = model.patch_size
    selector = model.selector
    tokens, grid = model.backbone.embed(inputs)
    L = tokens.shape[1]
    prob = selector.scorer(inputs, p).softmax(-1)[0].reshape(grid)
    _, n_seed, _ = selector.num_tokens(L)
    sizes = selector.round_sizes(L)
    saved = selector.progress
    patches = model.head.patchify(inputs)  # [1, L, p*p*3]
    steps = []
    for t in progress:
        selector.set_progress(t)
        torch.manual_seed(seed)
        ids_vis, ids_rec = selector(inputs, tokens, p)
        latent = model.backbone.encode(tokens, ids_vis)
        pred = model.neck(latent, ids_rec, grid)
        loss = model.head.per_sample_loss(pred, inputs, ids_rec)
        pred = pred.float()
        if model.head.norm_pix:
            target = gather_tokens(patches, ids_rec)
            var, mean = torch.var_mean(target, dim=-1, keepdim=True)
            pred = pred * (var + 1.e-6)**.5 + mean
        canvas = torch.full_like(patches, float('nan'))
        canvas.scatter_(1, ids_vis[..., None].expand(-1, -1, p * p * 3),
                        gather_tokens(patches, ids_vis))
        canvas.scatter_(1, ids_rec[..., None].expand(-1, -1, p * p * 3), pred)
        bounds = np.cumsum((n_seed, ) + sizes)
        ids = ids_vis[0].cpu().numpy()
        mode_a, mode_b, w = selector.curriculum(t)
        steps.append(
            dict(
                t=t,
                modes=mode_a if w == 0 else f'{mode_a}->{mode_b} {w:.2f}',
                seed=ids[:n_seed],
                rounds=[ids[a:b] for a, b in zip(bounds[:-1], bounds[1:])],
                targets=ids_rec[0].cpu().numpy(),
                recon=unpatchify(canvas, p, grid),
                loss=float(loss[0])))
    selector.set_progress(saved)
    return dict(prob=prob.cpu().numpy(), grid=grid, steps=steps)


def _overlay(grid, step):
    rgba = np.zeros((grid[0] * grid[1], 4))
    rgba[step['targets']] = TARGET_RGBA
    rgba[step['seed']] = SEED_RGBA
    for i, ids in enumerate(step['rounds']):
        rgba[ids] = ROUND_RGBA[min(i, len(ROUND_RGBA) - 1)]
    return rgba.reshape(grid[0], grid[1], 4)


def draw(image, result, mean, std, out, with_recon):
    """Write the figure to ``out``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    steps = result['steps']
    size = image.shape[0]
    extent = (0, size, size, 0)
    cols = 2 + len(steps)
    rows = 2 if with_recon else 1
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.6 * cols, 2.9 * rows + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    axes[0, 0].imshow(image)
    axes[0, 0].set_title('input', fontsize=9)
    axes[0, 1].imshow(image)
    heat = axes[0, 1].imshow(
        result['prob'],
        extent=extent,
        cmap='inferno',
        alpha=0.65,
        interpolation='nearest')
    fig.colorbar(heat, ax=axes[0, 1], fraction=0.046, pad=0.02)
    axes[0, 1].set_title('richness p (HOG)', fontsize=9)
    for j, step in enumerate(steps, start=2):
        ax = axes[0, j]
        ax.imshow(image, alpha=0.6)
        ax.imshow(
            _overlay(result['grid'], step),
            extent=extent,
            interpolation='nearest')
        ax.set_title(f"t={step['t']:.2f} {step['modes']}", fontsize=9)
        if with_recon:
            rec = step['recon'][0].cpu() * std + mean  # [3, H, W] 0..255
            rec = rec.permute(1, 2, 0).numpy()
            missing = np.isnan(rec)
            rec = np.where(missing, 128., rec).clip(0, 255).astype(np.uint8)
            axes[1, j].imshow(rec)
            axes[1, j].set_title(
                f"reconstruction, loss {step['loss']:.3f}", fontsize=9)
    if with_recon:
        axes[1, 0].imshow(image)
        axes[1, 0].set_title('input', fontsize=9)
    handles = [
        Patch(color=SEED_RGBA, label='seed tokens'), *[
            Patch(color=c, label=f'expansion round {i + 1}')
            for i, c in enumerate(ROUND_RGBA[:max(
                len(s['rounds']) for s in steps)])
        ],
        Patch(color=TARGET_RGBA, label='reconstruction targets')
    ]
    fig.legend(
        handles=handles, loc='lower center', ncol=len(handles), fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    import selective_mae  # noqa: F401

    model = build_model(args.config, args.checkpoint, args.device)
    size = model.backbone.patch_resolution[0] * model.patch_size
    image = load_image(args.image, size)
    pre = model.data_preprocessor
    mean = pre.mean.cpu() if getattr(pre, '_enable_normalize', False) else 0.
    std = pre.std.cpu() if getattr(pre, '_enable_normalize', False) else 1.
    inputs = torch.from_numpy(image).permute(2, 0, 1).float()[None]
    inputs = ((inputs - mean) / std).to(args.device)
    result = analyse(model, inputs, args.progress, args.seed)
    draw(image, result, mean, std, args.out, bool(args.checkpoint))
    print(f'wrote {args.out}')
    return result


if __name__ == '__main__':
    main()
