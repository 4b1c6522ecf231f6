"""Synthetic remote-sensing-like scenes for the demo and the tests.

Each scene is drawn from a few nadir-view elements: a patchwork of fields
with crop-row texture, water bodies, roads, roofs with shadows and tree
crowns. Scene ``i`` depends only on ``(seed, i)``, so a data set is identical
across runs and machines for one seed, and any subset can be regenerated.
"""
import os
import os.path as osp

import numpy as np

FIELD_COLOURS = np.array([[96, 122, 60], [128, 140, 74], [150, 130, 88],
                          [110, 100, 70], [84, 110, 52], [170, 160, 110]],
                         dtype=np.float32)
ROOF_COLOURS = np.array([[170, 72, 58], [150, 150, 150], [210, 205, 195],
                         [120, 90, 80], [90, 95, 110]], dtype=np.float32)
WATER = np.array([38, 62, 92], dtype=np.float32)
ROAD = np.array([125, 122, 118], dtype=np.float32)
TREE = np.array([40, 70, 36], dtype=np.float32)


def smooth_noise(rng, size, cells):
    """Bilinearly upsampled uniform noise in [0, 1], shape (size, size)."""
    coarse = rng.random((cells + 1, cells + 1)).astype(np.float32)
    t = np.linspace(0, cells, size, endpoint=False, dtype=np.float32)
    i0 = t.astype(np.int64)
    f = t - i0
    rows = coarse[i0] * (1 - f)[:, None] + coarse[i0 + 1] * f[:, None]
    return rows[:, i0] * (1 - f)[None] + rows[:, i0 + 1] * f[None]


def make_scene(seed, index, size=128):
    """Draw one scene.

    Args:
        seed (int): Data set seed.
        index (int): Scene index; the scene depends only on (seed, index).
        size (int): Side length in pixels.

    Returns:
        np.ndarray: uint8 RGB image of shape (size, size, 3).
    """
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
    strength = rng.uniform(0, 14, n_parcel)[parcel]
    img = colour[parcel] + (stripes * strength)[..., None]

    # Water: a smooth blob, nearly flat.
    if rng.random() < 0.6:
        level = rng.uniform(0.55, 0.75)
        water = smooth_noise(rng, size, int(rng.integers(2, 4))) > level
        img[water] = WATER + rng.normal(0, 2, (int(water.sum()), 3))

    # Roads: straight bands at random angles.
    for _ in range(rng.integers(0, 3)):
        theta = rng.uniform(0, np.pi)
        offset = rng.uniform(-size / 3, size / 3)
        dist = np.abs((xx - size / 2) * np.sin(theta) -
                      (yy - size / 2) * np.cos(theta) - offset)
        img[dist < rng.uniform(1.5, 3.5)] = ROAD

    # Roofs: rectangles with a shadow offset down-right.
    cx, cy = rng.uniform(0.2, 0.8, 2) * size
    for _ in range(rng.integers(0, 9)):
        w, h = rng.integers(4, max(6, size // 8), 2)
        x0 = int(np.clip(cx + rng.normal(0, size / 6), 0, size - w))
        y0 = int(np.clip(cy + rng.normal(0, size / 6), 0, size - h))
        img[y0 + 2:y0 + h + 2, x0 + 2:x0 + w + 2] *= 0.55
        img[y0:y0 + h, x0:x0 + w] = ROOF_COLOURS[rng.integers(
            0, len(ROOF_COLOURS))]

    # Trees: dark round crowns, clustered.
    n_tree = int(rng.integers(0, 40))
    if n_tree:
        tx = np.clip(rng.normal(rng.uniform(0, size), size / 5, n_tree), 0,
                     size - 1)
        ty = np.clip(rng.normal(rng.uniform(0, size), size / 5, n_tree), 0,
                     size - 1)
        r = rng.uniform(1.5, 3.5, n_tree)
        d2 = ((xx[..., None] - tx)**2 + (yy[..., None] - ty)**2) / r**2
        crown = d2.min(-1) < 1
        img[crown] = TREE * (0.8 + 0.4 * rng.random((int(crown.sum()), 1)))

    img += rng.normal(0, 3, img.shape)  # sensor noise
    return np.clip(img, 0, 255).astype(np.uint8)


def generate_demo_dataset(out_dir, num_images=300, size=128, seed=0,
                          num_folders=3):
    """Write ``num_images`` scenes as PNG files in nested folders.

    Existing files with the expected name are kept (so an interrupted run
    can be resumed); since scene ``i`` depends only on ``(seed, i)`` the
    result is the same either way.

    Args:
        out_dir (str): Output folder; created if missing.
        num_images (int): Number of scenes.
        size (int): Side length of each scene in pixels.
        seed (int): Data set seed.
        num_folders (int): Scenes are spread over this many sub-folders
            (``region_00/``, ...), like the nested RS archives.

    Returns:
        list[str]: Written paths relative to ``out_dir``, in index order.
    """
    import json

    from PIL import Image

    if num_images < 1 or size < 8:
        raise ValueError(
            f'num_images must be >= 1 and size >= 8, got {num_images}, '
            f'{size}')
    # Scenes already on disk are reused only if they were drawn with the
    # same seed and size; anything else would mix two data sets.
    meta = dict(seed=seed, size=size, num_folders=num_folders)
    meta_path = osp.join(out_dir, 'demo_meta.json')
    if osp.isfile(meta_path):
        with open(meta_path) as f:
            old = json.load(f)
        if old != meta:
            raise ValueError(
                f'{out_dir!r} holds demo scenes made with {old} '
                f'({meta_path}), not {meta}; choose another folder or '
                'delete it')
    else:
        os.makedirs(out_dir, exist_ok=True)
        with open(meta_path, 'w') as f:
            json.dump(meta, f)
    rel_paths = []
    for i in range(num_images):
        rel = osp.join(f'region_{i % num_folders:02d}', f'scene_{i:05d}.png')
        path = osp.join(out_dir, rel)
        if not osp.isfile(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
            tmp = path + '.tmp'
            Image.fromarray(make_scene(seed, i, size)).save(tmp, format='PNG')
            os.replace(tmp, path)  # never leave a half-written PNG
        rel_paths.append(rel)
    return rel_paths
