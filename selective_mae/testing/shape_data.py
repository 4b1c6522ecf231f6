"""Generated scenes with learnable structure, in the Potsdam and DOTA layouts.

For comparing adapters on the CPU: unlike :mod:`.fake_data` (where every
class has its own flat colour, so a 1 x 1 convolution solves the task),
here the classes share overlapping colour ranges and differ in shape,
size, texture and context (a building casts a shadow, a tree is a textured
disc, a car is a small bright rectangle on the road, a plane is a cross, a
ship a pointed hull), so a model has to use spatial features. Each scene is
a function of (seed, split, index) only.
"""
import os
import os.path as osp

import numpy as np

from selective_mae.datasets.demo_data import smooth_noise

from .fake_data import POTSDAM_LABELS, _rotated_box, _write_png

#: Classes of :func:`make_dota_shapes`, DOTA names.
DOTA_SHAPE_CLASSES = ('plane', 'ship', 'large-vehicle')


def _poly_mask(size, corners):
    """Boolean (size, size) mask of the polygon ``corners`` (N, 2) in x, y."""
    import cv2
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(corners).astype(np.int32)], 1)
    return mask.astype(bool)


def _jitter(rng, rgb, amount):
    return np.clip(np.asarray(rgb, np.float32) + rng.uniform(
        -amount, amount, 3), 0, 255)


def potsdam_shape_scene(seed, split, index, size=256):
    """One Potsdam-style tile and its label map (values of
    :data:`~selective_mae.testing.POTSDAM_LABELS`, 0 on some boundaries).

    Args:
        seed (int): Data set seed.
        split (str): ``'train'`` or ``'val'`` (different scenes).
        index (int): Scene index.
        size (int): Tile side in pixels.

    Returns:
        tuple[np.ndarray, np.ndarray]: uint8 RGB (size, size, 3) and uint8
        labels (size, size).
    """
    rng = np.random.default_rng([seed, 0 if split == 'train' else 1, index])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    L = POTSDAM_LABELS
    label = np.full((size, size), L['impervious_surface'], np.uint8)
    img = np.empty((size, size, 3), np.float32)
    # ground: grey pavement, textured green-grey low vegetation patches
    tex = smooth_noise(rng, size, 16)[..., None]
    img[:] = _jitter(rng, (150, 150, 145), 25) * (0.85 + 0.3 * tex)
    veg = smooth_noise(rng, size, 4) > 0.55
    label[veg] = L['low_vegetation']
    img[veg] = (_jitter(rng, (125, 150, 100), 25) *
                (0.7 + 0.6 * smooth_noise(rng, size, 32)[..., None]))[veg]
    # buildings: rotated rectangles with roofs in the ground's colour range
    # and a shadow on the lower right: shape and context, not colour
    for _ in range(int(rng.integers(2, 5))):
        w, h = rng.uniform(size * 0.12, size * 0.3, 2)
        cx, cy = rng.uniform(size * 0.1, size * 0.9, 2)
        corners = _rotated_box(cx, cy, w, h, rng.uniform(0, np.pi / 2))
        shadow = _poly_mask(size, corners + size * 0.03)
        img[shadow & (label != L['building'])] *= 0.45
        roof = _poly_mask(size, corners)
        label[roof] = L['building']
        ridge = np.abs((xx - cx) * np.cos(0.3) + (yy - cy)) < 2
        img[roof] = _jitter(rng, rng.choice([150, 170, 120]) *
                            np.ones(3), 30)
        img[roof & ridge] *= 0.8
    # trees: discs of dark, strongly textured green (low vegetation's hue)
    for _ in range(int(rng.integers(4, 10))):
        cx, cy = rng.uniform(0, size, 2)
        r = rng.uniform(size * 0.03, size * 0.07)
        disc = (xx - cx)**2 + (yy - cy)**2 < r * r
        label[disc] = L['tree']
        leaf = 0.5 + 0.8 * rng.random((size, size, 1))
        img[disc] = (_jitter(rng, (80, 115, 70), 20) * leaf)[disc]
    # cars: small bright rectangles in any colour, on pavement
    for _ in range(int(rng.integers(3, 9))):
        cx, cy = rng.uniform(size * 0.05, size * 0.95, 2)
        corners = _rotated_box(cx, cy, size * 0.045, size * 0.022,
                               rng.choice([0, np.pi / 2]) + rng.normal(0, .1))
        car = _poly_mask(size, corners)
        label[car] = L['car']
        img[car] = rng.uniform(30, 250, 3)
    # clutter: irregular blobs of mixed colour
    for _ in range(int(rng.integers(1, 4))):
        cx, cy = rng.uniform(0, size, 2)
        r = rng.uniform(size * 0.02, size * 0.05)
        blob = ((xx - cx)**2 / 2 + (yy - cy)**2 < r * r) & (
            smooth_noise(rng, size, 24) > 0.4)
        label[blob] = L['clutter']
        img[blob] = (rng.uniform(60, 200, 3) *
                     (0.6 + 0.8 * rng.random((size, size, 1))))[blob]
    img = np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)
    edge = np.zeros_like(label, bool)
    edge[1:] |= label[1:] != label[:-1]
    edge[:, 1:] |= label[:, 1:] != label[:, :-1]
    label[edge & (rng.random(label.shape) < 0.5)] = 0
    return img, label


def make_potsdam_shapes(root, num_train=16, num_val=4, size=256, seed=0):
    """Write :func:`potsdam_shape_scene` tiles in the layout of mmseg's
    Potsdam converter: ``root/img_dir/{train,val}/N.png`` and
    ``root/ann_dir/{train,val}/N.png``.

    Returns:
        str: ``root``.
    """
    for split, n in (('train', num_train), ('val', num_val)):
        for i in range(n):
            img, label = potsdam_shape_scene(seed, split, i, size)
            _write_png(osp.join(root, 'img_dir', split, f'{i}.png'), img)
            _write_png(osp.join(root, 'ann_dir', split, f'{i}.png'), label)
    return root


def _object_polygon(kind, cx, cy, length, angle):
    """Drawn outline (N, 2) of an object and its oriented box (4, 2)."""
    c, s = np.cos(angle), np.sin(angle)

    def place(pts):
        pts = np.asarray(pts, np.float64) * length
        return np.stack([cx + pts[:, 0] * c - pts[:, 1] * s,
                         cy + pts[:, 0] * s + pts[:, 1] * c], 1)

    if kind == 'plane':  # fuselage along x, wings and tail across
        outline = [(-.5, -.06), (-.1, -.06), (0, -.5), (.12, -.5), (.08, -.06),
                   (.4, -.06), (.5, 0), (.4, .06), (.08, .06), (.12, .5),
                   (0, .5), (-.1, .06), (-.5, .06), (-.5, .2), (-.42, .2),
                   (-.42, -.2), (-.5, -.2)]
        box = [(-.5, -.5), (.5, -.5), (.5, .5), (-.5, .5)]
    elif kind == 'ship':  # long hull with a pointed bow
        outline = [(-.5, -.15), (.3, -.15), (.5, 0), (.3, .15), (-.5, .15)]
        box = [(-.5, -.15), (.5, -.15), (.5, .15), (-.5, .15)]
    else:  # large vehicle: cab and trailer with a gap
        outline = [(-.5, -.18), (.25, -.18), (.25, .18), (-.5, .18)]
        box = [(-.5, -.18), (.5, -.18), (.5, .18), (-.5, .18)]
        return [place(outline), place([(.3, -.16), (.5, -.16), (.5, .16),
                                       (.3, .16)])], place(box)
    return [place(outline)], place(box)


def dota_shape_scene(seed, split, index, size=128, max_objects=5,
                     object_size=(0.18, 0.38)):
    """One DOTA-style image and its objects.

    Args:
        seed (int): Data set seed.
        split (str): Sub-folder name (different scenes per split).
        index (int): Image index.
        size (int): Image side.
        max_objects (int): At most this many objects (at least 2; fewer
            when large objects leave no free place).
        object_size (tuple[float, float]): Range of an object's length as
            a share of ``size`` (uniform).

    Returns:
        tuple[np.ndarray, list[tuple[np.ndarray, str]]]: uint8 RGB image and
        (oriented box corners (4, 2), class name) per object.
    """
    lo, hi = object_size
    if not 0 < lo <= hi <= 0.7:
        raise ValueError(f'object_size {object_size}: need 0 < min <= max '
                         '<= 0.7 (shares of the image side; a larger plane '
                         'does not fit at every angle)')
    if max_objects < 2:
        raise ValueError(f'max_objects {max_objects}: need at least 2')
    rng = np.random.default_rng([seed, sum(map(ord, split)), index])
    base = _jitter(rng, (110, 115, 105), 30)
    img = base * (0.75 + 0.5 * smooth_noise(rng, size, 8)[..., None])
    img = img * (0.9 + 0.2 * smooth_noise(rng, size, 40)[..., None])
    objects, taken = [], np.zeros((size, size), bool)
    for _ in range(40):
        if len(objects) >= rng.integers(2, max_objects + 1):
            break
        kind = DOTA_SHAPE_CLASSES[int(rng.integers(len(DOTA_SHAPE_CLASSES)))]
        length = rng.uniform(size * lo, size * hi)
        # the box's half diagonal from every edge: inside at any angle
        _, upright = _object_polygon(kind, 0, 0, length, 0)
        margin = np.linalg.norm(upright, axis=1).max()
        cx, cy = rng.uniform(margin, size - margin, 2)
        parts, box = _object_polygon(kind, cx, cy, length,
                                     rng.uniform(-np.pi / 2, np.pi / 2))
        area = _poly_mask(size, box)
        if (area & taken).any():
            continue
        taken |= area
        colour = rng.uniform(150, 250, 3) * rng.choice([1, 0.45])
        for part in parts:
            img[_poly_mask(size, part)] = colour
        objects.append((box, kind))
    img = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
    return img, objects


def make_dota_shapes(root, splits=(('trainval', 32), ('val', 8)), size=128,
                     seed=0, max_objects=5, object_size=(0.18, 0.38)):
    """Write :func:`dota_shape_scene` images in DOTA's layout:
    ``root/<split>/images/P0000.png`` and ``root/<split>/annfiles/P0000.txt``
    (``x1 y1 ... x4 y4 class difficulty`` per line).

    Args:
        root (str): Output folder.
        splits (Sequence[tuple[str, int]]): (folder, number of images).
        size (int): Image side.
        seed (int): Data set seed.
        max_objects (int): At most this many objects per image.
        object_size (tuple[float, float]): Object length range, shares of
            ``size``.

    Returns:
        str: ``root``.
    """
    for split, n in splits:
        ann_dir = osp.join(root, split, 'annfiles')
        os.makedirs(ann_dir, exist_ok=True)
        for i in range(n):
            img, objects = dota_shape_scene(seed, split, i, size,
                                            max_objects, object_size)
            _write_png(osp.join(root, split, 'images', f'P{i:04d}.png'), img)
            with open(osp.join(ann_dir, f'P{i:04d}.txt'), 'w') as f:
                for box, kind in objects:
                    coords = ' '.join(f'{v:.1f}' for v in box.reshape(-1))
                    f.write(f'{coords} {kind} 0\n')
    return root
