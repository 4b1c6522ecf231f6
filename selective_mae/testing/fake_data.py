"""Small data sets in the on-disk formats of the downstream benchmarks.

Used by the tests and for trying a config without the real data. Each
generator is deterministic for a seed and writes exactly the layout the
stock mmrotate / mmseg data sets read.
"""
import json
import os
import os.path as osp

import numpy as np

from selective_mae.datasets.demo_data import smooth_noise

DOTA_CLASSES = ('plane', 'baseball-diamond', 'bridge', 'ground-track-field',
                'small-vehicle', 'large-vehicle', 'ship', 'tennis-court',
                'basketball-court', 'storage-tank', 'soccer-ball-field',
                'roundabout', 'harbor', 'swimming-pool', 'helicopter')

# Potsdam label values as written by mmseg's converter (before
# reduce_zero_label): 0 boundary / unlabelled, then these six classes.
POTSDAM_LABELS = dict(
    impervious_surface=1, building=2, low_vegetation=3, tree=4, car=5,
    clutter=6)
_POTSDAM_RGB = {
    1: (200, 200, 195), 2: (150, 70, 60), 3: (120, 160, 80), 4: (40, 90, 40),
    5: (30, 60, 160), 6: (170, 120, 60)
}


def _write_png(path, array):
    from PIL import Image
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def _rotated_box(cx, cy, w, h, angle):
    """Corners (4, 2) of a w x h box centred at (cx, cy), rotated by angle."""
    c, s = np.cos(angle), np.sin(angle)
    dx = np.array([-w, w, w, -w]) / 2
    dy = np.array([-h, -h, h, h]) / 2
    return np.stack([cx + dx * c - dy * s, cy + dx * s + dy * c], 1)


def make_dota_dataset(root, split='trainval', num_images=4, size=256,
                      classes=DOTA_CLASSES[:3], boxes_per_image=4, seed=0):
    """Write DOTA-format images and annotation files.

    Layout: ``root/<split>/images/P0000.png`` and
    ``root/<split>/annfiles/P0000.txt`` with one object per line,
    ``x1 y1 x2 y2 x3 y3 x4 y4 class difficulty``.

    Args:
        root (str): Output folder.
        split (str): Sub-folder name, as in mmrotate's DOTA configs.
        num_images (int): Number of images.
        size (int): Image side in pixels.
        classes (Sequence[str]): Class names to draw from.
        boxes_per_image (int): Objects per image.
        seed (int): Random seed.

    Returns:
        str: ``root``.
    """
    import cv2
    rng = np.random.default_rng(seed)
    colours = rng.integers(60, 255, (len(classes), 3))
    for i in range(num_images):
        img = np.full((size, size, 3), 90, np.uint8)
        img += rng.integers(0, 20, img.shape, dtype=np.uint8)
        lines = []
        for _ in range(boxes_per_image):
            k = int(rng.integers(len(classes)))
            w, h = rng.uniform(size * 0.08, size * 0.25, 2)
            cx, cy = rng.uniform(size * 0.2, size * 0.8, 2)
            corners = _rotated_box(cx, cy, w, h, rng.uniform(0, np.pi))
            cv2.fillPoly(img, [np.round(corners).astype(np.int32)],
                         colours[k].tolist())
            coords = ' '.join(f'{v:.1f}' for v in corners.reshape(-1))
            lines.append(f'{coords} {classes[k]} 0')
        _write_png(osp.join(root, split, 'images', f'P{i:04d}.png'), img)
        ann = osp.join(root, split, 'annfiles', f'P{i:04d}.txt')
        os.makedirs(osp.dirname(ann), exist_ok=True)
        with open(ann, 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return root


def make_potsdam_dataset(root, num_train=4, num_val=2, size=128, seed=0):
    """Write Potsdam-format tiles as mmseg's converter leaves them.

    Layout: ``root/img_dir/{train,val}/N.png`` (RGB) and
    ``root/ann_dir/{train,val}/N.png`` (label values of
    :data:`POTSDAM_LABELS`, 0 on region boundaries).

    Args:
        root (str): Output folder.
        num_train (int): Training tiles.
        num_val (int): Validation tiles.
        size (int): Tile side in pixels.
        seed (int): Random seed.

    Returns:
        str: ``root``.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    for split, n in (('train', num_train), ('val', num_val)):
        for i in range(n):
            label = np.full((size, size), 1, np.uint8)
            label[smooth_noise(rng, size, 3) > 0.6] = 3
            for _ in range(rng.integers(1, 4)):  # buildings
                x0, y0 = rng.integers(0, size - size // 4, 2)
                w, h = rng.integers(size // 8, size // 4, 2)
                label[y0:y0 + h, x0:x0 + w] = 2
            for _ in range(rng.integers(2, 8)):  # trees
                cx, cy = rng.integers(0, size, 2)
                r = rng.integers(3, max(4, size // 16))
                label[(xx - cx)**2 + (yy - cy)**2 < r * r] = 4
            for _ in range(rng.integers(1, 6)):  # cars and clutter
                x0, y0 = rng.integers(0, size - 8, 2)
                label[y0:y0 + 4, x0:x0 + 7] = rng.choice([5, 6])
            img = np.zeros((size, size, 3), np.float32)
            for value, rgb in _POTSDAM_RGB.items():
                img[label == value] = rgb
            img = np.clip(img + rng.normal(0, 6, img.shape), 0,
                          255).astype(np.uint8)
            # unlabelled boundary pixels, as in the *_noBoundary labels
            edge = np.zeros_like(label, bool)
            edge[1:] |= label[1:] != label[:-1]
            edge[:, 1:] |= label[:, 1:] != label[:, :-1]
            label[edge & (rng.random(label.shape) < 0.5)] = 0
            _write_png(osp.join(root, 'img_dir', split, f'{i}.png'), img)
            _write_png(osp.join(root, 'ann_dir', split, f'{i}.png'), label)
    return root



def make_dior_dataset(root, num_trainval=4, num_test=2, size=128,
                      classes=('airplane', 'ship', 'Expressway-Service-area'),
                      boxes_per_image=3, seed=0):
    """Write DIOR-format images, horizontal-box XML files and image lists.

    Layout (as the DIOR-R bundle): ``JPEGImages-trainval/<id>.jpg``,
    ``JPEGImages-test/<id>.jpg``,
    ``Annotations/Horizontal Bounding Boxes/<id>.xml`` (VOC style, class
    names spelt as in the real files) and ``ImageSets/Main/{train,val,
    test}.txt`` (trainval split in half). Each box is a filled rectangle of
    its class colour.

    Args:
        root (str): Output folder.
        num_trainval (int): Images in train + val.
        num_test (int): Test images.
        size (int): Image side in pixels.
        classes (Sequence[str]): Class names to draw from.
        boxes_per_image (int): Objects per image.
        seed (int): Random seed.

    Returns:
        str: ``root``.
    """
    from PIL import Image
    rng = np.random.default_rng(seed)
    colours = rng.integers(60, 255, (len(classes), 3))
    ann_dir = osp.join(root, 'Annotations', 'Horizontal Bounding Boxes')
    os.makedirs(ann_dir, exist_ok=True)
    os.makedirs(osp.join(root, 'ImageSets', 'Main'), exist_ok=True)
    ids = {'trainval': [], 'test': []}
    for i in range(num_trainval + num_test):
        part = 'trainval' if i < num_trainval else 'test'
        img_id = f'{i + 1:05d}'
        ids[part].append(img_id)
        img = np.full((size, size, 3), 90, np.uint8)
        img += rng.integers(0, 20, img.shape, dtype=np.uint8)
        objects = []
        for _ in range(boxes_per_image):
            k = int(rng.integers(len(classes)))
            w, h = rng.integers(size // 8, size // 3, 2)
            x1, y1 = rng.integers(1, size - max(w, h) - 1, 2)
            img[y1:y1 + h, x1:x1 + w] = colours[k]
            objects.append(
                f'  <object>\n    <name>{classes[k]}</name>\n'
                '    <pose>Unspecified</pose>\n'
                '    <truncated>0</truncated>\n'
                '    <difficult>0</difficult>\n'
                f'    <bndbox>\n      <xmin>{x1}</xmin>\n'
                f'      <ymin>{y1}</ymin>\n      <xmax>{x1 + w}</xmax>\n'
                f'      <ymax>{y1 + h}</ymax>\n    </bndbox>\n'
                '  </object>\n')
        folder = osp.join(root, f'JPEGImages-{part}')
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(img).save(osp.join(folder, f'{img_id}.jpg'),
                                  quality=95)
        with open(osp.join(ann_dir, f'{img_id}.xml'), 'w') as f:
            f.write(f'<annotation>\n  <filename>{img_id}.jpg</filename>\n'
                    f'  <size>\n    <width>{size}</width>\n'
                    f'    <height>{size}</height>\n    <depth>3</depth>\n'
                    '  </size>\n' + ''.join(objects) + '</annotation>\n')
    half = (num_trainval + 1) // 2
    lists = dict(train=ids['trainval'][:half], val=ids['trainval'][half:],
                 test=ids['test'])
    for name, names in lists.items():
        with open(osp.join(root, 'ImageSets', 'Main', f'{name}.txt'),
                  'w') as f:
            f.write(''.join(n + '\n' for n in names))
    return root


#: Georeferencing of the generated SpaceNet v1 chips: top-left corner of
#: pixel (0, 0) in lon/lat and the pixel size in degrees (about 50 cm).
SPACENET_ORIGIN = (-43.6, -22.9)
SPACENET_PIXEL_DEG = 4.5e-6


def _star(rng, cx, cy, r, n):
    """A random simple star-shaped (generally concave) ring of n >= 6
    vertices at radii 0.45 r to r; its edges keep at least 0.3 r from the
    centre (angle gaps below 96 degrees), so a ring of radius 0.2 r fits
    inside as a hole."""
    angles = (np.arange(n) + rng.uniform(-0.3, 0.3, n)) * 2 * np.pi / n
    radii = r * rng.uniform(0.45, 1.0, n)
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)],
                    1)


def make_spacenet_v1_raw(root, num_chips=3, size=64, seed=0):
    """Write SpaceNet v1-style 3-band GeoTIFF chips and GeoJSON footprints.

    Layout: ``root/3band/3band_AOI_1_RIO_img<N>.tif`` (8-bit RGB, GeoTIFF
    tags) and ``root/geojson/Geo_AOI_1_RIO_img<N>.geojson`` (lon/lat
    polygons, z = 0 as in the real files). All chips share
    :data:`SPACENET_ORIGIN` and :data:`SPACENET_PIXEL_DEG`, written three
    ways in turn: pixel scale + tie point (PixelIsArea), the same as
    PixelIsPoint (tie point at the first pixel's centre) and a model
    transformation matrix. Footprints are valid, concave polygons, some with
    a hole, one a multipolygon, some overlapping each other and some
    crossing the chip border; the last chip has no building and one feature
    has no geometry.

    Returns:
        str: ``root``.
    """
    from PIL import Image, TiffImagePlugin
    rng = np.random.default_rng(seed)
    lon0, lat0 = SPACENET_ORIGIN
    s = SPACENET_PIXEL_DEG
    os.makedirs(osp.join(root, '3band'), exist_ok=True)
    os.makedirs(osp.join(root, 'geojson'), exist_ok=True)

    def to_lonlat(ring):
        return [[lon0 + c * s, lat0 - r * s, 0.0] for c, r in ring]

    for i in range(num_chips):
        n = i + 1
        img = rng.integers(40, 200, (size, size, 3), dtype=np.uint8)
        ifd = TiffImagePlugin.ImageFileDirectory_v2()
        kind = i % 3
        if kind == 2:
            ifd[34264] = (s, 0., 0., lon0, 0., -s, 0., lat0, 0., 0., 0., 0.,
                          0., 0., 0., 1.)
            ifd.tagtype[34264] = 12
        else:
            ifd[33550] = (s, s, 0.)
            ifd.tagtype[33550] = 12
            half = 0.5 if kind == 1 else 0.
            ifd[33922] = (0., 0., 0., lon0 + half * s, lat0 - half * s, 0.)
            ifd.tagtype[33922] = 12
            # GeoKeyDirectory: version header, then GTRasterTypeGeoKey
            ifd[34735] = (1, 1, 0, 1, 1025, 0, 1, 2 if kind == 1 else 1)
            ifd.tagtype[34735] = 3
        Image.fromarray(img).save(
            osp.join(root, '3band', f'3band_AOI_1_RIO_img{n}.tif'),
            tiffinfo=ifd)

        features = []
        if i < num_chips - 1:
            for _ in range(5):
                cx, cy = rng.uniform(-4, size + 4, 2)
                r = rng.uniform(4, size / 4)
                rings = [_star(rng, cx, cy, r, int(rng.integers(6, 12)))]
                if rng.random() < 0.5:  # a courtyard
                    rings.append(_star(rng, cx, cy, r * 0.2, 6)[::-1])
                features.append(dict(
                    type='Polygon', coordinates=[
                        to_lonlat(np.vstack([q, q[:1]])) for q in rings]))
            cx, cy = rng.uniform(8, size - 20, 2)  # two parts, 12 px apart
            parts = [_star(rng, cx + dx, cy, 5, 7) for dx in (0, 12)]
            features.append(dict(
                type='MultiPolygon',
                coordinates=[[to_lonlat(np.vstack([q, q[:1]]))]
                             for q in parts]))
            features.append(None)
        geojson = dict(
            type='FeatureCollection',
            features=[
                dict(type='Feature', properties=dict(BuildingId=k),
                     geometry=g) for k, g in enumerate(features)
            ])
        with open(osp.join(root, 'geojson', f'Geo_AOI_1_RIO_img{n}.geojson'),
                  'w') as f:
            json.dump(geojson, f)
    return root


def make_seg_batch(num_classes, size=128, num_images=2, seed=0):
    """A random mmseg training batch (what ``SegDataPreProcessor`` takes).

    Args:
        num_classes (int): Labels are drawn from ``[0, num_classes)``.
        size (int): Image side.
        num_images (int): Batch size (2 or more for a decode head whose
            pooling branch has a BatchNorm).
        seed (int): Random seed.

    Returns:
        dict: ``inputs`` (uint8 [3, size, size] tensors) and
        ``data_samples`` (``SegDataSample`` with ``gt_sem_seg``).
    """
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(num_images):
        s = SegDataSample(metainfo=dict(img_shape=(size, size),
                                        ori_shape=(size, size),
                                        pad_shape=(size, size)))
        s.gt_sem_seg = PixelData(data=torch.randint(
            0, num_classes, (1, size, size), generator=gen))
        samples.append(s)
    inputs = [
        torch.randint(0, 255, (3, size, size), generator=gen,
                      dtype=torch.uint8) for _ in range(num_images)
    ]
    return dict(inputs=inputs, data_samples=samples)
