"""Synthetic remote-sensing-like scenes for the demo and the tests.

Each scene is drawn from a few nadir-view elements: a patchwork of fields
with crop-row texture, water bodies, roads, roofs with shadows and tree
crowns. Every scene has a type, one of :data:`SCENE_TYPES`, that says which
element dominates it (a field patchwork, a road network, a built-up area, a
lake, a forest); the others appear too, less, so the types share colours
and must be told apart by their layout. Scene ``i`` depends only on
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
GENERATOR_VERSION = 2

FIELD_COLOURS = np.array([[96, 122, 60], [128, 140, 74], [150, 130, 88],
                          [110, 100, 70], [84, 110, 52], [170, 160, 110]],
                         dtype=np.float32)
ROOF_COLOURS = np.array([[170, 72, 58], [150, 150, 150], [210, 205, 195],
                         [120, 90, 80], [90, 95, 110]], dtype=np.float32)
WATER_COLOURS = np.array([[38, 62, 92], [44, 84, 88], [70, 82, 64],
                          [30, 48, 70]], dtype=np.float32)
ROAD = np.array([125, 122, 118], dtype=np.float32)
TREE_COLOURS = np.array([[40, 70, 36], [62, 88, 44], [78, 84, 40],
                         [52, 64, 48]], dtype=np.float32)

# What each scene type draws: crop-row stripe strength range of the fields,
# probability of a water body and its coverage range (share of the scene),
# and the count ranges of roads, roofs and tree crowns. Ranges are
# [low, high). The dominant element of each type covers most of the scene,
# so the types differ in texture, not only in colour.
_LAYOUT = dict(
    fields=dict(stripes=(10, 22), water=(0.1, (0.03, 0.08)), roads=(0, 2),
                roofs=(0, 3), trees=(0, 15)),
    roads=dict(stripes=(0, 5), water=(0.1, (0.03, 0.08)), roads=(6, 11),
               roofs=(0, 4), trees=(0, 15)),
    roofs=dict(stripes=(0, 5), water=(0.1, (0.03, 0.08)), roads=(1, 3),
               roofs=(50, 90), trees=(0, 20)),
    trees=dict(stripes=(0, 5), water=(0.1, (0.03, 0.08)), roads=(0, 2),
               roofs=(0, 3), trees=(350, 600)),
    water=dict(stripes=(0, 8), water=(1.0, (0.45, 0.7)), roads=(0, 2),
               roofs=(0, 4), trees=(0, 25)),
)


def smooth_noise(rng, size, cells):
    """Bilinearly upsampled uniform noise in [0, 1], shape (size, size)."""
    coarse = rng.random((cells + 1, cells + 1)).astype(np.float32)
    t = np.linspace(0, cells, size, endpoint=False, dtype=np.float32)
    i0 = t.astype(np.int64)
    f = t - i0
    rows = coarse[i0] * (1 - f)[:, None] + coarse[i0 + 1] * f[:, None]
    return rows[:, i0] * (1 - f)[None] + rows[:, i0 + 1] * f[None]


def scene_type(index):
    """The type of scene ``index``: ``SCENE_TYPES[index % 5]``."""
    return SCENE_TYPES[index % len(SCENE_TYPES)]


def make_scene(seed, index, size=128):
    """Draw one scene; its type is :func:`scene_type` of ``index``.

    Args:
        seed (int): Data set seed.
        index (int): Scene index; the scene depends only on (seed, index).
        size (int): Side length in pixels.

    Returns:
        np.ndarray: uint8 RGB image of shape (size, size, 3).
    """
    layout = _LAYOUT[scene_type(index)]
    rng = np.random.default_rng([seed, index])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)

    # Field patchwork: parcels on a jittered grid, each with its colour and
    # crop-row stripes at its own angle.
    n_split = rng.integers(2, 5)
    xs = np.sort(rng.integers(size // 8, size - size // 8, n_split - 1))
    ys = np.sort(rng.integers(size // 8, size - size // 8, n_split - 1))
    parcel = (np.searchsorted(xs, xx, side='right') * n_split +
              np.searchsorted(ys, yy, side='right'))
    n_parcel = n_split * n_split
    colour = FIELD_COLOURS[rng.integers(0, len(FIELD_COLOURS), n_parcel)]
    angle = rng.uniform(0, np.pi, n_parcel)[parcel]
    period = rng.uniform(3, 8, n_parcel)[parcel]
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi /
                     period)
    strength = rng.uniform(*layout['stripes'], n_parcel)[parcel]
    img = colour[parcel] + (stripes * strength)[..., None]

    # Water: a smooth blob, nearly flat, covering a drawn share of the scene.
    p_water, (cover_lo, cover_hi) = layout['water']
    if rng.random() < p_water:
        noise = smooth_noise(rng, size, int(rng.integers(2, 4)))
        level = np.quantile(noise, 1 - rng.uniform(cover_lo, cover_hi))
        water = noise > level
        colour = WATER_COLOURS[rng.integers(0, len(WATER_COLOURS))]
        img[water] = colour + rng.normal(0, 2, (int(water.sum()), 3))

    # Roads: straight bands at random angles.
    for _ in range(rng.integers(*layout['roads'])):
        theta = rng.uniform(0, np.pi)
        offset = rng.uniform(-size / 3, size / 3)
        dist = np.abs((xx - size / 2) * np.sin(theta) -
                      (yy - size / 2) * np.cos(theta) - offset)
        img[dist < rng.uniform(1.5, 3.5) * size / 128] = ROAD

    # Roofs: rectangles with a shadow offset down-right, around a centre.
    cx, cy = rng.uniform(0.3, 0.7, 2) * size
    spread = size / 6 if layout['roofs'][1] < 10 else size / 3
    for _ in range(rng.integers(*layout['roofs'])):
        w, h = rng.integers(max(2, size // 32), max(3, size // 8), 2)
        x0 = int(np.clip(cx + rng.normal(0, spread), 0, size - w))
        y0 = int(np.clip(cy + rng.normal(0, spread), 0, size - h))
        img[y0 + 2:y0 + h + 2, x0 + 2:x0 + w + 2] *= 0.55
        img[y0:y0 + h, x0:x0 + w] = ROOF_COLOURS[rng.integers(
            0, len(ROOF_COLOURS))]

    # Trees: dark round crowns, clustered.
    n_tree = int(rng.integers(*layout['trees']))
    if n_tree:
        spread = size / 5 if n_tree < 50 else size / 2.5
        tx = np.clip(rng.normal(rng.uniform(0.2, 0.8) * size, spread,
                                n_tree), 0, size - 1)
        ty = np.clip(rng.normal(rng.uniform(0.2, 0.8) * size, spread,
                                n_tree), 0, size - 1)
        r = rng.uniform(1.5, 3.5, n_tree) * size / 128
        crown = np.zeros((size, size), bool)
        for lo in range(0, n_tree, 64):  # bounded memory for big forests
            sl = slice(lo, lo + 64)
            d2 = ((xx[..., None] - tx[sl])**2 +
                  (yy[..., None] - ty[sl])**2) / r[sl]**2
            crown |= d2.min(-1) < 1
        colour = TREE_COLOURS[rng.integers(0, len(TREE_COLOURS))]
        img[crown] = colour * (0.8 + 0.4 * rng.random((int(crown.sum()), 1)))

    # Illumination: a global brightness and colour cast per scene, so that
    # the mean colour alone does not tell the types apart.
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
