"""Draw what Progressive Semantic Token Selection (PSTS) chooses on images,
and the decoder's reconstruction of the targets.

Shared by ``tools/visualization/visualize_psts.py`` (one image, several
curriculum stages) and ``tools/demo.py`` (a few scenes, one row each).
"""
import os
import os.path as osp

import numpy as np
import torch

SEED_RGBA = (0.9, 0.1, 0.1, 0.75)
ROUND_RGBA = ((1.0, 0.55, 0.0, 0.7), (1.0, 0.9, 0.0, 0.7), (0.6, 0.9, 0.2,
                                                            0.7))
TARGET_RGBA = (0.1, 0.35, 1.0, 0.55)


def build_psts_model(config, checkpoint=None, device='cpu'):
    """SelectiveMAE of a config, with the config's data preprocessor.

    Args:
        config (str): Config file of a ``SelectiveMAE`` model.
        checkpoint (str, optional): Its checkpoint (strict load).
        device (str): Device.

    Returns:
        nn.Module: The model in eval mode.

    Raises:
        ValueError: If the config's model is not a SelectiveMAE.
    """
    import logging

    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import MODELS

    init_default_scope('mmpretrain')
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    cfg = Config.fromfile(config)
    model_cfg = cfg.model
    if model_cfg.get('data_preprocessor') is None:
        model_cfg['data_preprocessor'] = cfg.get('data_preprocessor')
    if model_cfg.get('type') != 'SelectiveMAE':
        raise ValueError(f'{config}: model type is {model_cfg.get("type")!r},'
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


def image_normalisation(model):
    """(mean, std) of the model's data preprocessor, [3, 1, 1] or scalars."""
    pre = model.data_preprocessor
    if getattr(pre, '_enable_normalize', False):
        return pre.mean.cpu(), pre.std.cpu()
    return 0., 1.


@torch.no_grad()
def analyse_psts(model, inputs, progress, seed):
    """Richness distribution, selections and reconstructions.

    Args:
        model (nn.Module): A :class:`SelectiveMAE`.
        inputs (torch.Tensor): One normalised image [1, 3, H, W].
        progress (list[float]): Curriculum progress values.
        seed (int): Random seed set before each selection (the global
            torch generator; callers that must not change it save it).

    Returns:
        dict: ``prob`` [h, w] numpy; ``grid``; ``steps``, one dict per t
        with ``t``, ``modes``, ``seed`` / ``rounds`` / ``targets`` index
        arrays, ``recon`` [1, 3, H, W] normalised tensor and ``loss``.
    """
    from selective_mae.models.utils.patchify import (gather_tokens, patch_grid,
                                                     unpatchify)

    p = model.patch_size
    selector = model.selector
    grid = patch_grid(inputs, p)
    L = grid[0] * grid[1]
    prob = selector.scorer(inputs, p).softmax(-1)[0].reshape(grid)
    _, n_seed, _ = selector.num_tokens(L)
    sizes = selector.round_sizes(L)
    saved = selector.progress, selector.progress_set
    patches = model.head.patchify(inputs)  # [1, L, p*p*3]
    steps = []
    for t in progress:
        selector.set_progress(t)
        torch.manual_seed(seed)
        # the training step itself (SelectiveMAE.forward_step), not a copy
        step = model.forward_step(inputs)
        ids_vis, ids_rec, pred = step.ids_vis, step.ids_rec, step.pred
        loss = step.per_sample_loss
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
    selector.set_progress(saved[0])
    selector.progress_set = saved[1]
    return dict(prob=prob.cpu().numpy(), grid=grid, steps=steps)


def _overlay(grid, step):
    rgba = np.zeros((grid[0] * grid[1], 4))
    rgba[step['targets']] = TARGET_RGBA
    rgba[step['seed']] = SEED_RGBA
    for i, ids in enumerate(step['rounds']):
        rgba[ids] = ROUND_RGBA[min(i, len(ROUND_RGBA) - 1)]
    return rgba.reshape(grid[0], grid[1], 4)


def _recon_image(step, mean, std):
    rec = step['recon'][0].cpu() * std + mean  # [3, H, W] 0..255
    rec = rec.permute(1, 2, 0).numpy()
    return np.where(np.isnan(rec), 128., rec).clip(0, 255).astype(np.uint8)


def _legend(fig, steps):
    from matplotlib.patches import Patch
    n_rounds = max(len(s['rounds']) for s in steps)
    handles = [
        Patch(color=SEED_RGBA, label='seed tokens'), *[
            Patch(color=c, label=f'expansion round {i + 1}')
            for i, c in enumerate(ROUND_RGBA[:n_rounds])
        ],
        Patch(color=TARGET_RGBA, label='reconstruction targets')
    ]
    fig.legend(
        handles=handles, loc='lower center', ncol=len(handles), fontsize=8)


def _save(fig, out):
    import matplotlib.pyplot as plt
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _draw_heat(fig, ax, image, result):
    size = image.shape[0]
    ax.imshow(image)
    heat = ax.imshow(
        result['prob'],
        extent=(0, size, size, 0),
        cmap='inferno',
        alpha=0.65,
        interpolation='nearest')
    fig.colorbar(heat, ax=ax, fraction=0.046, pad=0.02)


def _draw_tokens(ax, image, result, step):
    size = image.shape[0]
    ax.imshow(image, alpha=0.6)
    ax.imshow(
        _overlay(result['grid'], step),
        extent=(0, size, size, 0),
        interpolation='nearest')


def draw_psts(image, result, mean, std, out, with_recon):
    """One image: input, richness, the selection at each t (and, with
    ``with_recon``, a second row of reconstructions). Writes ``out``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    steps = result['steps']
    cols = 2 + len(steps)
    rows = 2 if with_recon else 1
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.6 * cols, 2.9 * rows + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    axes[0, 0].imshow(image)
    axes[0, 0].set_title('input', fontsize=9)
    _draw_heat(fig, axes[0, 1], image, result)
    axes[0, 1].set_title('richness p (HOG)', fontsize=9)
    for j, step in enumerate(steps, start=2):
        _draw_tokens(axes[0, j], image, result, step)
        axes[0, j].set_title(f"t={step['t']:.2f} {step['modes']}", fontsize=9)
        if with_recon:
            axes[1, j].imshow(_recon_image(step, mean, std))
            axes[1, j].set_title(
                f"reconstruction, loss {step['loss']:.3f}", fontsize=9)
    if with_recon:
        axes[1, 0].imshow(image)
        axes[1, 0].set_title('input', fontsize=9)
    _legend(fig, steps)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    _save(fig, out)


def draw_psts_scenes(images, results, mean, std, out, titles=None,
                     suptitle=None):
    """A few images, one row each: input, richness, then per t the visible
    and target tokens and the reconstruction. Writes ``out``.

    Args:
        images (list[np.ndarray]): RGB uint8 images [S, S, 3].
        results (list[dict]): :func:`analyse_psts` of each.
        mean, std: The normalisation of the inputs (to map back).
        out (str): PNG path.
        titles (list[str], optional): A label per row (e.g. scene type).
        suptitle (str, optional): Figure title.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    n_steps = len(results[0]['steps'])
    cols = 2 + 2 * n_steps
    rows = len(images)
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.2 * cols, 2.3 * rows + 0.9), squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    for i, (image, result) in enumerate(zip(images, results)):
        axes[i, 0].imshow(image)
        axes[i, 0].set_title(
            'input' + (f': {titles[i]}' if titles else ''), fontsize=9)
        _draw_heat(fig, axes[i, 1], image, result)
        axes[i, 1].set_title('richness p (HOG)', fontsize=9)
        for j, step in enumerate(result['steps']):
            ax_t, ax_r = axes[i, 2 + 2 * j], axes[i, 3 + 2 * j]
            _draw_tokens(ax_t, image, result, step)
            ax_t.set_title(f"tokens, t={step['t']:.2f} {step['modes']}",
                           fontsize=8)
            ax_r.imshow(_recon_image(step, mean, std))
            ax_r.set_title(f"reconstruction, loss {step['loss']:.3f}",
                           fontsize=8)
    _legend(fig, results[0]['steps'])
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97 if suptitle else 1))
    _save(fig, out)
