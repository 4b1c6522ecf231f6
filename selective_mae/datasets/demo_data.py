"""Synthetic remote-sensing-like scenes: the data of ``make demo``.

This is a runtime feature of ``make demo`` (``tools/demo.py``,
``tools/dataset/make_demo_data.py``), not a test helper: it ships in the
package so that the demo runs with nothing downloaded. The tests exercise it
like any other module (and use it where they need small real scenes); test
fixtures and fakes of the downstream formats live in
:mod:`selective_mae.testing`.

Each scene is a panchromatic (one-band) nadir view of one type, one of
:data:`SCENE_TYPES`, drawn by its own element at the scale of the demo
model's patches (8 px at the 64 px input, 16 px of a 128 px scene): a
patchwork of fields with crop-row stripes, a road grid, a block of roofs
with shadows, a closed canopy of tree crowns, a lake on bare ground.
Tones (of the ground, the parcels, the roofs, ...) and the brightness of
the whole scene are drawn per scene, independently of the type, so the
tone statistics alone cannot tell the types apart: what does is structure.
Panchromatic on purpose: masked reconstruction of patch-normalised targets
(``norm_pix``) learns to discount a patch's brightness and contrast, but
not its hue, which the targets keep; with colour scenes the per-scene hue
dominated the trained and the initial encoder's features alike, and the
demo's k-NN probe could not show what was learned (measured, see
docs/pretrain.md). Scene ``i`` depends only on ``(seed, i)``; its type is
``SCENE_TYPES[i % 5]``. A data set is identical across runs and machines
for one seed, and any subset can be regenerated.

Two data sets are written from it:

* :func:`generate_demo_dataset`: unlabelled scenes for pretraining
  (indices ``0 .. n-1`` in ``region_XX/`` folders, like the nested RS
  archives);
* :func:`generate_labelled_demo_dataset`: a held-out labelled set, one
  folder per type (an mmpretrain ``CustomDataset`` layout), drawn from
  indices starting at :data:`HELDOUT_OFFSET`, so no scene of it is in the
  pretraining set.
"""
import json
import os
import os.path as osp

import numpy as np

#: Scene types (class names of the labelled set), in the order of the label
#: indices ``CustomDataset`` gives their folders (alphabetical).
SCENE_TYPES = ('fields', 'roads', 'roofs', 'trees', 'water')
#: First scene index of the held-out labelled set.
HELDOUT_OFFSET = 1_000_000
#: Version of the drawing; stored with the files so that scenes of an older
#: generator on disk are redrawn rather than mixed with new ones.
#: 3: colours drawn per scene independently of the type, larger elements.
#: 4: panchromatic, each type drawn by its own element at patch scale.
GENERATOR_VERSION = 4


def smooth_noise(rng, size, cells):
    """Bilinearly upsampled uniform noise in [0, 1], shape (size, size)."""
    coarse = rng.random((cells + 1, cells + 1)).astype(np.float32)
    t = np.linspace(0, cells, size, endpoint=False, dtype=np.float32)
    i0 = t.astype(np.int64)
    f = t - i0
    rows = coarse[i0] * (1 - f)[:, None] + coarse[i0 + 1] * f[:, None]
    return rows[:, i0] * (1 - f)[None] + rows[:, i0 + 1] * f[None]


def natural_hues(rng, n):
    """``n`` hues (in turns) of the kinds seen from above: browns, yellows
    and greens three times in four, else cyans and blues."""
    return np.where(
        rng.random(n) < 0.75, rng.uniform(0.04, 0.33, n),
        rng.uniform(0.5, 0.66, n))


def random_colours(rng, n, hue=None, hue_spread=0.04):
    """``n`` RGB colours (float32, 0-255): hues of :func:`natural_hues`, or
    within ``hue_spread`` of ``hue`` if given; saturation 0.15-0.55, value
    0.3-0.8."""
    h = natural_hues(rng, n) if hue is None else \
        (hue + rng.uniform(-hue_spread, hue_spread, n)) % 1.0
    s = rng.uniform(0.15, 0.55, n)
    v = rng.uniform(0.3, 0.8, n)
    # HSV to RGB, vectorised: channel k peaks at hue k/3
    k = (np.array([5, 3, 1])[None] + h[:, None] * 6) % 6
    rgb = v[:, None] * (1 - s[:, None] * np.clip(np.minimum(k, 4 - k), 0, 1))
    return (rgb * 255).astype(np.float32)


def scene_type(index):
    """The type of scene ``index``: ``SCENE_TYPES[index % 5]``."""
    return SCENE_TYPES[index % len(SCENE_TYPES)]


def _ground(rng, size):
    """Bare ground: one tone with smooth variation."""
    base = random_colours(rng, 1)[0]
    n = smooth_noise(rng, size, 4)
    return base * (0.9 + 0.2 * n)[..., None]


def make_scene(seed, index, size=128):
    """Draw one scene; its type is :func:`scene_type` of ``index``.

    Args:
        seed (int): Data set seed.
        index (int): Scene index; the scene depends only on (seed, index).
        size (int): Side length in pixels; element sizes scale with it
            (they are given for 128 px).

    Returns:
        np.ndarray: uint8 image of shape (size, size, 3), the three
        channels equal (a panchromatic scene).
    """
    t = scene_type(index)
    rng = np.random.default_rng([seed, index])
    px = size / 128
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    img = _ground(rng, size)
    if t == 'fields':
        n_split = rng.integers(2, 4)
        xs = np.sort(rng.integers(size // 6, size - size // 6, n_split - 1))
        ys = np.sort(rng.integers(size // 6, size - size // 6, n_split - 1))
        parcel = (
            np.searchsorted(xs, xx, side='right') * n_split +
            np.searchsorted(ys, yy, side='right'))
        n_parcel = n_split * n_split
        colour = random_colours(rng, n_parcel, natural_hues(rng, 1)[0], 0.06)
        angle = rng.uniform(0, np.pi, n_parcel)[parcel]
        period = rng.uniform(10, 18, n_parcel)[parcel] * px
        stripes = np.sin(
            (xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
        contrast = rng.uniform(0.3, 0.5, n_parcel)[parcel]
        img = colour[parcel] * (1 + stripes * contrast)[..., None]
    elif t == 'water':
        noise = smooth_noise(rng, size, int(rng.integers(2, 4)))
        level = np.quantile(noise, 1 - rng.uniform(0.55, 0.8))
        water = noise > level
        img[water] = random_colours(rng, 1)[0] + rng.normal(
            0, 1.5, (int(water.sum()), 3))
    elif t == 'roads':
        road = random_colours(rng, 1)[0]
        base_theta = rng.uniform(0, np.pi / 2)
        for k in range(int(rng.integers(3, 6))):
            theta = base_theta + (np.pi / 2) * (k % 2) + rng.normal(0, 0.05)
            offset = rng.uniform(-size / 2.5, size / 2.5)
            dist = np.abs((xx - size / 2) * np.sin(theta) -
                          (yy - size / 2) * np.cos(theta) - offset)
            w = rng.uniform(3, 5) * px
            img[dist < w + 1.5 * px] *= 0.8  # verge
            img[dist < w] = road
    elif t == 'roofs':
        roof_colours = random_colours(rng, 3)
        shadow = max(1, round(4 * px))
        pitch = rng.uniform(26, 36) * px
        ang = rng.uniform(0, np.pi / 2)
        c, s = np.cos(ang), np.sin(ang)
        # buildings on a rotated lattice
        for i in range(-3, 4):
            for j in range(-3, 4):
                if rng.random() < 0.15:
                    continue
                u, v = i * pitch + rng.normal(0, 2), j * pitch + rng.normal(
                    0, 2)
                cx, cy = size / 2 + u * c - v * s, size / 2 + u * s + v * c
                w, h = rng.uniform(12, 22, 2) * px
                du = (xx - cx) * c + (yy - cy) * s
                dv = -(xx - cx) * s + (yy - cy) * c
                sh = (np.abs(du - shadow) < w / 2) & (
                    np.abs(dv - shadow) < h / 2)
                img[sh] *= 0.55
                img[(np.abs(du) < w / 2)
                    & (np.abs(dv) < h / 2)] = roof_colours[rng.integers(0, 3)]
    elif t == 'trees':
        n_tree = int(rng.integers(60, 110))
        tx = rng.uniform(-5, size + 5, n_tree)
        ty = rng.uniform(-5, size + 5, n_tree)
        r = rng.uniform(6, 10, n_tree) * px
        shade = rng.uniform(0.8, 1.2, n_tree).astype(np.float32)
        base = random_colours(rng, 1)[0]
        d2 = ((xx[..., None] - tx)**2 + (yy[..., None] - ty)**2) / r**2
        near = d2.argmin(-1)
        dmin = d2.min(-1)
        crown = dmin < 1
        # rounded crowns: darker at the rim
        img[crown] = base * (shade[near[crown]] *
                             (1.1 - 0.35 * dmin[crown]))[:, None]
        img[~crown] *= 0.6  # shadowed ground between crowns
    # Panchromatic: one band, a brightness and gain per scene (sun, sensor),
    # sensor noise.
    pan = img.mean(-1) * rng.uniform(0.8, 1.2)
    pan += rng.normal(0, 3, pan.shape)
    pan = np.clip(pan, 0, 255).astype(np.uint8)
    return np.repeat(pan[..., None], 3, -1)


def _check_meta(out_dir, meta):
    """Create ``out_dir`` or check that it holds scenes made with ``meta``.

    Returns:
        bool: True if the scenes on disk (if any) may be kept; False if they
        come from an older generator and must be redrawn.
    """
    meta_path = osp.join(out_dir, 'demo_meta.json')
    keep = True
    if osp.isfile(meta_path):
        with open(meta_path) as f:
            old = json.load(f)
        old_version = old.pop('version', 1)
        if old != meta:
            raise ValueError(
                f'{out_dir!r} holds demo scenes made with {old} '
                f'({meta_path}), not {meta}; choose another folder or '
                'delete it')
        keep = old_version == GENERATOR_VERSION
        if not keep:
            print(f'{out_dir}: scenes of demo generator version '
                  f'{old_version} are redrawn with version '
                  f'{GENERATOR_VERSION}')
    os.makedirs(out_dir, exist_ok=True)
    with open(meta_path + '.tmp', 'w') as f:
        json.dump(dict(meta, version=GENERATOR_VERSION), f)
    os.replace(meta_path + '.tmp', meta_path)
    return keep


def _write_scene(path, seed, index, size, keep):
    from PIL import Image

    if keep and osp.isfile(path):
        return
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    Image.fromarray(make_scene(seed, index, size)).save(tmp, format='PNG')
    os.replace(tmp, path)  # never leave a half-written PNG


def generate_demo_dataset(out_dir,
                          num_images=300,
                          size=128,
                          seed=0,
                          num_folders=3):
    """Write ``num_images`` unlabelled scenes as PNG files in nested folders.

    Existing files with the expected name are kept (so an interrupted run
    can be resumed); since scene ``i`` depends only on ``(seed, i)`` the
    result is the same either way. Scenes of an older generator version are
    redrawn.

    Args:
        out_dir (str): Output folder; created if missing.
        num_images (int): Number of scenes (indices ``0 .. num_images-1``,
            the five types in turn).
        size (int): Side length of each scene in pixels.
        seed (int): Data set seed.
        num_folders (int): Scenes are spread over this many sub-folders
            (``region_00/``, ...), like the nested RS archives.

    Returns:
        list[str]: Written paths relative to ``out_dir``, in index order.
    """
    if num_images < 1 or size < 8:
        raise ValueError(
            f'num_images must be >= 1 and size >= 8, got {num_images}, '
            f'{size}')
    # Scenes already on disk are reused only if they were drawn with the
    # same seed and size; anything else would mix two data sets.
    keep = _check_meta(out_dir,
                       dict(seed=seed, size=size, num_folders=num_folders))
    rel_paths = []
    for i in range(num_images):
        rel = osp.join(f'region_{i % num_folders:02d}', f'scene_{i:05d}.png')
        _write_scene(osp.join(out_dir, rel), seed, i, size, keep)
        rel_paths.append(rel)
    return rel_paths


def generate_labelled_demo_dataset(out_dir,
                                   num_per_class=60,
                                   size=128,
                                   seed=0):
    """Write a held-out labelled set: ``<out_dir>/<type>/scene_XXXXXXX.png``.

    The layout of an mmpretrain ``CustomDataset`` (one folder per class,
    labels by sorted folder name, which is the order of
    :data:`SCENE_TYPES`). Scenes are drawn from indices ``HELDOUT_OFFSET``
    on, so none of them is in a pretraining set of fewer than
    ``HELDOUT_OFFSET`` scenes of the same seed. A list file ``labels.txt``
    (``<type>/<file> <label>`` per line) is written beside the folders.

    Args:
        out_dir (str): Output folder; created if missing.
        num_per_class (int): Scenes per type.
        size (int): Side length in pixels.
        seed (int): Data set seed.

    Returns:
        list[tuple[str, int]]: ``(relative path, label)`` per scene, by
        index.
    """
    if num_per_class < 1 or size < 8:
        raise ValueError(f'num_per_class must be >= 1 and size >= 8, got '
                         f'{num_per_class}, {size}')
    keep = _check_meta(out_dir, dict(seed=seed, size=size, labelled=True))
    items = []
    for j in range(num_per_class * len(SCENE_TYPES)):
        index = HELDOUT_OFFSET + j
        name = scene_type(index)
        rel = osp.join(name, f'scene_{index:07d}.png')
        _write_scene(osp.join(out_dir, rel), seed, index, size, keep)
        items.append((rel, SCENE_TYPES.index(name)))
    with open(osp.join(out_dir, 'labels.txt.tmp'), 'w') as f:
        f.write(''.join(f'{p} {label}\n' for p, label in items))
    os.replace(
        osp.join(out_dir, 'labels.txt.tmp'), osp.join(out_dir, 'labels.txt'))
    return items
