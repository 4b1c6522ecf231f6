"""SpaceNet v1 building footprints -> PNG images and 0/1 label maps.

SpaceNet v1 (Rio de Janeiro, AOI 1) ships 3-band 8-bit GeoTIFF chips
(``3band_AOI_1_RIO_img<N>.tif``, about 400 x 400 px at 50 cm) and one
GeoJSON file of building polygons per chip (``Geo_AOI_1_RIO_img<N>.geojson``,
coordinates in the chip's CRS, lon/lat). The segmentation recipe reads
``<split>/images/<name>.png`` (RGB) and ``<split>/labels/<name>.png``
(0 background, 1 building), which :func:`prepare_spacenet_v1` writes.

Rasterisation follows GDAL's (and ``rasterio.features.rasterize``'s)
default rule, the one SpaceNet's own tools used: a pixel is a building pixel
when its centre lies inside a footprint (holes excluded; overlapping
footprints are united). The point-in-polygon test is GEOS's
(``shapely.contains_xy``, vectorised over the pixel centres of each
polygon's bounding box); shapely is installed with mmdet. OpenCV's
``fillPoly`` was not used: it also paints every pixel its outline touches,
which grows each footprint by up to a pixel on every side. The chip's
georeferencing is read from its GeoTIFF tags (``ModelTransformationTag``,
or ``ModelPixelScaleTag`` + ``ModelTiepointTag``, honouring
``PixelIsPoint``).
"""
import json
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

SPACENET_V1_CLASSES = ('background', 'building')

_PIXEL_SCALE, _TIEPOINT, _TRANSFORM, _GEOKEYS = 33550, 33922, 34264, 34735
_RASTER_TYPE_KEY, _PIXEL_IS_POINT = 1025, 2


def geotiff_transform(tags: Dict[int, tuple], name: str = 'the image'
                      ) -> Tuple[float, float, float, float, float, float]:
    """The affine map of a GeoTIFF, pixel corner coordinates -> CRS.

    Args:
        tags (dict): TIFF tags by number (PIL's ``tag_v2``).
        name (str): Shown in errors.

    Returns:
        tuple: ``(a, b, c, d, e, f)`` with ``x = a * col + b * row + c`` and
        ``y = d * col + e * row + f``, where (col, row) = (0, 0) is the
        top-left corner of the top-left pixel.

    Raises:
        ValueError: If the tags hold no georeferencing.
    """
    if _TRANSFORM in tags:
        m = [float(v) for v in tags[_TRANSFORM]]
        a, b, c, d, e, f = m[0], m[1], m[3], m[4], m[5], m[7]
    elif _PIXEL_SCALE in tags and _TIEPOINT in tags:
        sx, sy = (float(v) for v in tags[_PIXEL_SCALE][:2])
        i, j, _, x, y, _ = (float(v) for v in tags[_TIEPOINT][:6])
        a, b, c = sx, 0., x - i * sx
        d, e, f = 0., -sy, y + j * sy
    else:
        raise ValueError(
            f'{name} has no GeoTIFF georeferencing (neither '
            'ModelTransformationTag nor ModelPixelScaleTag + '
            'ModelTiepointTag)')
    keys = tags.get(_GEOKEYS)
    if keys:
        entries = [keys[k:k + 4] for k in range(4, len(keys), 4)]
        raster = {int(e[0]): int(e[3]) for e in entries if len(e) == 4}
        if raster.get(_RASTER_TYPE_KEY) == _PIXEL_IS_POINT:
            # the tie point names a pixel centre: move to the corner
            c -= (a + b) / 2
            f -= (d + e) / 2
    return a, b, c, d, e, f


def crs_to_pixel(transform: Sequence[float]):
    """The inverse of :func:`geotiff_transform` as a function on [N, 2]
    arrays of (x, y) -> (col, row)."""
    a, b, c, d, e, f = transform
    inv = np.linalg.inv(np.array([[a, b], [d, e]], dtype=np.float64))
    offset = np.array([c, f], dtype=np.float64)

    def apply(xy: np.ndarray) -> np.ndarray:
        return (np.asarray(xy, np.float64)[:, :2] - offset) @ inv.T

    return apply


def load_footprints(geojson: str) -> Tuple[List, int]:
    """Building polygons of a SpaceNet GeoJSON file (shapely geometries).

    Features without geometry or with an empty one (chips without
    buildings) are left out. An invalid polygon (self-intersecting ring,
    hole crossing its shell: GEOS's point-in-polygon answers are undefined
    for those) is repaired with ``shapely.make_valid`` and its polygonal
    part kept. Any geometry that is not a (multi)polygon is an error naming
    the file and the feature.

    Returns:
        tuple: The polygons and the number of repaired ones.
    """
    import shapely
    import shapely.geometry
    with open(geojson) as f:
        data = json.load(f)
    polygons, repaired = [], 0
    for k, feature in enumerate(data.get('features', [])):
        geom = feature.get('geometry')
        if not geom:
            continue
        shape = shapely.geometry.shape(geom)
        if shape.is_empty:
            continue
        if shape.geom_type not in ('Polygon', 'MultiPolygon'):
            raise ValueError(f'{geojson}: feature {k} is a {shape.geom_type}'
                             ', not a building polygon')
        if not shape.is_valid:
            parts = shapely.get_parts(shapely.make_valid(shape))
            shape = shapely.union_all([
                p for p in parts
                if p.geom_type in ('Polygon', 'MultiPolygon')
            ])
            repaired += 1
        polygons.append(shape)
    return polygons, repaired


def rasterize_footprints(polygons: Sequence, shape: Tuple[int, int],
                         to_pixel=None) -> Tuple[np.ndarray, int]:
    """0/1 map of the pixels whose centre lies inside a footprint.

    Args:
        polygons (Sequence): shapely (multi)polygons.
        shape (tuple[int, int]): ``(height, width)`` of the map.
        to_pixel (callable, optional): Maps [N, 2] CRS coordinates to
            (col, row) pixel-corner coordinates (:func:`crs_to_pixel`);
            None when the polygons are in pixel coordinates already.

    Returns:
        tuple: The uint8 map [H, W] and the number of polygons that cover
        no pixel centre of the map (outside it, or too small).
    """
    import shapely
    H, W = shape
    label = np.zeros((H, W), np.uint8)
    unused = 0
    for poly in polygons:
        if to_pixel is not None:
            poly = shapely.transform(poly, to_pixel)
        x0, y0, x1, y1 = poly.bounds
        c0, c1 = max(int(np.floor(x0 - 0.5)), 0), min(
            int(np.ceil(x1 - 0.5)), W - 1)
        r0, r1 = max(int(np.floor(y0 - 0.5)), 0), min(
            int(np.ceil(y1 - 0.5)), H - 1)
        if c0 > c1 or r0 > r1:
            unused += 1
            continue
        cols, rows = np.meshgrid(
            np.arange(c0, c1 + 1), np.arange(r0, r1 + 1))
        shapely.prepare(poly)
        inside = shapely.contains_xy(poly, cols + 0.5, rows + 0.5)
        if not inside.any():
            unused += 1
            continue
        label[r0:r1 + 1, c0:c1 + 1] |= inside.astype(np.uint8)
    return label, unused


def chip_key(path: str) -> Optional[str]:
    """The chip number that pairs an image with its GeoJSON file
    (``..._img<N>.tif`` / ``..._img<N>.geojson``), or None."""
    m = re.search(r'img(\d+)$', osp.splitext(osp.basename(path))[0])
    return m.group(1) if m else None


def pair_chips(image_dir: str, geojson_dir: str) -> Tuple[List, List]:
    """Match image chips and GeoJSON files by chip number.

    Returns:
        tuple: ``[(key, image, geojson)]`` sorted by chip number, and the
        images that have no GeoJSON file.

    Raises:
        FileNotFoundError: If a folder is missing or holds no file.
        ValueError: If two files share a chip number.
    """
    found = {}
    for folder, exts in ((image_dir, ('.tif', '.tiff')), (geojson_dir,
                                                           ('.geojson', ))):
        if not osp.isdir(folder):
            raise FileNotFoundError(f'{folder!r} is not a folder')
        files = {}
        for name in sorted(os.listdir(folder)):
            key = chip_key(name)
            if key is None or not name.lower().endswith(exts):
                continue
            if key in files:
                raise ValueError(f'chip number {key} names both '
                                 f'{files[key]} and {name} in {folder}')
            files[key] = osp.join(folder, name)
        if not files:
            raise FileNotFoundError(
                f'no *img<N>{exts[0]} files in {folder!r}')
        found[folder] = files
    images, geojsons = found[image_dir], found[geojson_dir]
    pairs = [(k, images[k], geojsons[k])
             for k in sorted(images, key=int) if k in geojsons]
    unpaired = [images[k] for k in sorted(images, key=int)
                if k not in geojsons]
    return pairs, unpaired


def read_chip(path: str) -> Tuple[np.ndarray, Tuple[float, ...]]:
    """RGB pixels [H, W, 3] uint8 and the georeferencing of a 3-band chip.

    Raises:
        ValueError: For a chip that is not 8-bit 3-band (for example the
            8-band 16-bit product) or has no georeferencing.
    """
    from PIL import Image
    with Image.open(path) as im:
        if im.mode != 'RGB':
            raise ValueError(
                f'{path}: expected an 8-bit 3-band chip (SpaceNet v1 '
                f'"3band"), got PIL mode {im.mode!r} with {len(im.getbands())}'
                ' band(s)')
        tags = dict(im.tag_v2) if hasattr(im, 'tag_v2') else {}
        pixels = np.asarray(im.convert('RGB'))
    return pixels, geotiff_transform(tags, path)


def prepare_spacenet_v1(image_dir: str,
                        geojson_dir: str,
                        out_dir: str,
                        val_ratio: float = 0.2,
                        seed: int = 0,
                        skip_unpaired: bool = False) -> Dict[str, int]:
    """Write the PNG layout of the SpaceNet v1 segmentation recipe.

    Chips are split at random (``seed``) into ``train`` and ``val``
    (``round(val_ratio * n)`` chips; SpaceNet v1 publishes labels for its
    training chips only, and the SelectiveMAE release does not publish its
    split). The lists of chip names go to ``<out_dir>/splits/{train,
    val}.txt``.

    Args:
        image_dir (str): Folder of ``*img<N>.tif`` 3-band chips.
        geojson_dir (str): Folder of ``*img<N>.geojson`` footprints.
        out_dir (str): Output root (``train|val/{images,labels}``).
        val_ratio (float): Share of chips for ``val``. Defaults to 0.2.
        seed (int): Split seed. Defaults to 0.
        skip_unpaired (bool): Leave out (and count) images without a
            GeoJSON file instead of failing. Defaults to False.

    Returns:
        dict: Counts: ``train``, ``val``, ``buildings``, ``building_pixels``,
        ``unused_polygons`` (footprints covering no pixel centre of their
        chip), ``repaired_polygons`` (invalid footprints made valid) and
        ``unpaired`` (images left out).

    Raises:
        FileNotFoundError: For images without GeoJSON (all named), unless
            ``skip_unpaired``.
        ValueError: For an unreadable chip or GeoJSON, or a ratio outside
            [0, 1).
    """
    from PIL import Image
    if not 0 <= val_ratio < 1:
        raise ValueError(f'val_ratio must be in [0, 1), got {val_ratio}')
    pairs, unpaired = pair_chips(image_dir, geojson_dir)
    if unpaired and not skip_unpaired:
        raise FileNotFoundError(
            f'{len(unpaired)} image chips have no GeoJSON file in '
            f'{geojson_dir!r} (pass skip_unpaired / --skip-unpaired to '
            f'leave them out): {unpaired}')
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pairs))
    n_val = int(round(val_ratio * len(pairs)))
    is_val = np.zeros(len(pairs), bool)
    is_val[order[:n_val]] = True
    counts = dict(train=0, val=0, buildings=0, building_pixels=0,
                  unused_polygons=0, repaired_polygons=0,
                  unpaired=len(unpaired))
    names = {'train': [], 'val': []}
    for (key, image, geojson), val in zip(pairs, is_val):
        split = 'val' if val else 'train'
        pixels, transform = read_chip(image)
        polygons, repaired = load_footprints(geojson)
        label, unused = rasterize_footprints(polygons, pixels.shape[:2],
                                             crs_to_pixel(transform))
        name = osp.splitext(osp.basename(image))[0]
        for sub, array in (('images', pixels), ('labels', label)):
            folder = osp.join(out_dir, split, sub)
            os.makedirs(folder, exist_ok=True)
            Image.fromarray(array).save(osp.join(folder, name + '.png'))
        names[split].append(name)
        counts[split] += 1
        counts['buildings'] += len(polygons)
        counts['building_pixels'] += int(label.sum())
        counts['unused_polygons'] += unused
        counts['repaired_polygons'] += repaired
    os.makedirs(osp.join(out_dir, 'splits'), exist_ok=True)
    for split, lines in names.items():
        with open(osp.join(out_dir, 'splits', f'{split}.txt'), 'w') as f:
            f.write(''.join(n + '\n' for n in lines))
    return counts
