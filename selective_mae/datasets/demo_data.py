"""Synthetic remote-sensing-like scenes: the data of ``make demo``.

This is a runtime feature of ``make demo`` (``tools/demo.py``,
``tools/dataset/make_demo_data.py``), not a test helper: it ships in the
package so that the demo runs with nothing downloaded. The tests exercise it
like any other module (and use it where they need small real scenes); test
fixtures and fakes of the downstream formats live in
:mod:`selective_mae.testing`.

Each scene is drawn from a few nadir-view elements: a patchwork of fields
with crop-row stripes, water bodies, roads, roofs with shadows and tree
crowns. Every scene has a type, one of :data:`SCENE_TYPES`, that says which
element dominates it (a field patchwork, a road network, a built-up area, a
forest, a lake); the others appear too, less. The colours of every element
are drawn per scene from the same natural hues (browns, yellows, greens,
cyans, blues), independently of the type (a lake may be green or brown, a
forest blue), so colour statistics alone cannot tell the types apart: what
does is structure (crop-row stripes, long straight bands, small rectangles
with shadows, dense small discs, large flat regions). Element
sizes are chosen so that the structure survives the demo model's 64 px
input (the 128 px scenes are resized by half). Scene ``i`` depends only on
``(seed, i)``; its type is ``SCENE_TYPES[i % 5]``. A data set is identical
across runs and machines for one seed, and any subset can be regenerated.

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
GENERATOR_VERSION = 3

# What each scene type draws: crop-row stripe contrast range of the fields,
# probability of a water body and its coverage range (share of the scene),
# and the count ranges of roads, roofs and tree crowns. Ranges are
# [low, high). The dominant element of each type covers most of the scene.
_LAYOUT = dict(
    fields=dict(stripes=(0.25, 0.45), water=(0.1, (0.03, 0.08)),
                roads=(0, 2), roofs=(0, 3), trees=(0, 12)),
    roads=dict(stripes=(0, 0.06), water=(0.1, (0.03, 0.08)), roads=(5, 9),
               roofs=(0, 3), trees=(0, 12)),
    roofs=dict(stripes=(0, 0.06), water=(0.1, (0.03, 0.08)), roads=(0, 2),
               roofs=(35, 60), trees=(0, 12)),
    trees=dict(stripes=(0, 0.06), water=(0.1, (0.03, 0.08)), roads=(0, 2),
               roofs=(0, 3), trees=(140, 260)),
    water=dict(stripes=(0, 0.06), water=(1.0, (0.5, 0.75)), roads=(0, 2),
               roofs=(0, 3), trees=(0, 12)),
)


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
    return np.where(rng.random(n) < 0.75, rng.uniform(0.04, 0.33, n),
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
    rgb = v[:, None] * (1 - s[:, None] *
                        np.clip(np.minimum(k, 4 - k), 0, 1))
    return (rgb * 255).astype(np.float32)


def scene_type(index):
    """The type of scene ``index``: ``SCENE_TYPES[index % 5]``."""
    return SCENE_TYPES[index % len(SCENE_TYPES)]


def make_scene(seed, index, size=128):
    """Draw one scene; its type is :func:`scene_type` of ``index``.

    Args:
        seed (int): Data set seed.
        index (int): Scene index; the scene depends only on (seed, index).
        size (int): Side length in pixels; element sizes scale with it
            (they are given for 128 px).

    Returns:
        np.ndarray: uint8 RGB image of shape (size, size, 3).
    """
    layout = _LAYOUT[scene_type(index)]
    rng = np.random.default_rng([seed, index])
    px = size / 128  # one pixel of a 128 px scene
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)

    # Field patchwork: parcels on a jittered grid, colours around one random
    # hue, each parcel with crop-row stripes at its own angle and period.
    n_split = rng.integers(2, 5)
    xs = np.sort(rng.integers(size // 8, size - size // 8, n_split - 1))
    ys = np.sort(rng.integers(size // 8, size - size // 8, n_split - 1))
    parcel = (np.searchsorted(xs, xx, side='right') * n_split +
              np.searchsorted(ys, yy, side='right'))
    n_parcel = n_split * n_split
    colour = random_colours(rng, n_parcel, natural_hues(rng, 1)[0])
    angle = rng.uniform(0, np.pi, n_parcel)[parcel]
    period = rng.uniform(6, 14, n_parcel)[parcel] * px
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi /
                     period)
    contrast = rng.uniform(*layout['stripes'], n_parcel)[parcel]
    img = colour[parcel] * (1 + stripes * contrast)[..., None]

    # Water: a smooth blob, nearly flat, covering a drawn share of the scene.
    p_water, (cover_lo, cover_hi) = layout['water']
    if rng.random() < p_water:
        noise = smooth_noise(rng, size, int(rng.integers(2, 4)))
        level = np.quantile(noise, 1 - rng.uniform(cover_lo, cover_hi))
        water = noise > level
        img[water] = random_colours(rng, 1)[0] + rng.normal(
            0, 2, (int(water.sum()), 3))

    # Roads: straight bands at random angles, one colour per scene.
    road = random_colours(rng, 1)[0]
    for _ in range(rng.integers(*layout['roads'])):
        theta = rng.uniform(0, np.pi)
        offset = rng.uniform(-size / 3, size / 3)
        dist = np.abs((xx - size / 2) * np.sin(theta) -
                      (yy - size / 2) * np.cos(theta) - offset)
        img[dist < rng.uniform(1.5, 3) * px] = road

    # Roofs: rectangles with a shadow offset down-right, around a centre,
    # in a few colours of the scene.
    roof_colours = random_colours(rng, 3)
    cx, cy = rng.uniform(0.3, 0.7, 2) * size
    spread = size / 6 if layout['roofs'][1] < 10 else size / 3
    shadow = max(1, round(3 * px))
    for _ in range(rng.integers(*layout['roofs'])):
        w, h = np.maximum(1, (rng.uniform(6, 16, 2) * px).astype(int))
        w, h = min(w, size - 1), min(h, size - 1)
        x0 = int(np.clip(cx + rng.normal(0, spread), 0, size - w))
        y0 = int(np.clip(cy + rng.normal(0, spread), 0, size - h))
        img[y0 + shadow:y0 + h + shadow, x0 + shadow:x0 + w + shadow] *= 0.5
        img[y0:y0 + h, x0:x0 + w] = roof_colours[rng.integers(0, 3)]

    # Trees: round crowns of one random hue, clustered, each a little
    # brighter or darker, with a shadow.
    n_tree = int(rng.integers(*layout['trees']))
    if n_tree:
        spread = size / 6 if n_tree < 50 else size / 2.5
        tx = np.clip(rng.normal(rng.uniform(0.2, 0.8) * size, spread,
                                n_tree), 0, size - 1)
        ty = np.clip(rng.normal(rng.uniform(0.2, 0.8) * size, spread,
                                n_tree), 0, size - 1)
        r = rng.uniform(3, 5.5, n_tree) * px
        shade = rng.uniform(0.75, 1.25, n_tree).astype(np.float32)
        base = random_colours(rng, 1)[0]
        for lo in range(0, n_tree, 64):  # bounded memory for big forests
            sl = slice(lo, lo + 64)
            d2 = ((xx[..., None] - tx[sl])**2 +
                  (yy[..., None] - ty[sl])**2) / r[sl]**2
            near = d2.argmin(-1)
            crown = d2.min(-1) < 1
            img[crown] = base * shade[sl][near[crown], None]

    # Illumination: a global brightness and colour cast per scene.
    img *= rng.uniform(0.8, 1.2) * rng.uniform(0.92, 1.08, 3)
    img += rng.normal(0, 3, img.shape)  # sensor noise
    return np.clip(img, 0, 255).astype(np.uint8)


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


def generate_demo_dataset(out_dir, num_images=300, size=128, seed=0,
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


def generate_labelled_demo_dataset(out_dir, num_per_class=60, size=128,
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
        raise ValueError(
            f'num_per_class must be >= 1 and size >= 8, got '
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
    os.replace(osp.join(out_dir, 'labels.txt.tmp'),
               osp.join(out_dir, 'labels.txt'))
    return items
