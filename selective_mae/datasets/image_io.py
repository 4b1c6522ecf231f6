"""Decoding remote-sensing image files into 8-bit, 3-channel arrays.

Remote-sensing archives mix formats and pixel types. Every file goes through
:func:`read_rs_image`, which applies one documented policy:

* **Unreadable files** (truncated, corrupt, not an image at all) raise
  :class:`CorruptImageError`, naming the file and the decoder's message. The
  data set turns that into a skipped, counted and logged sample (see
  :class:`selective_mae.datasets.RS4M`); nothing substitutes another image.
  A *missing* file or a permission error is not corruption: it is raised
  as is (the index is stale or the path is wrong).
* **Pixel types** are converted to 8-bit, 3 channels:

  - grayscale (``L``, ``1``, ``LA``): the gray band is repeated three times;
  - RGBA / LA / palette with transparency: the alpha band is dropped (colour
    values are kept as stored, not composited);
  - palette (``P``): expanded through the palette;
  - CMYK / YCbCr / LAB / HSV: PIL's conversion to RGB;
  - more than 8 bits per sample (16-bit or 32-bit integer, float), any band
    count: a linear percentile stretch, computed jointly over the three kept
    bands so colour balance is preserved: ``lo, hi`` = the ``stretch``
    percentiles (2 and 98 by default) of the pixels, values mapped linearly
    so ``lo -> 0`` and ``hi -> 255``, then clipped;
  - multi-band TIFF (two, four or more bands, e.g. R, G, B, NIR): bands
    ``band_order`` (the first three by default) are taken as R, G, B; a
    two-band file uses its first band as gray.

TIFF files are read with OpenCV (it handles 8/16-bit and float TIFF with 1 to
4 bands), then with PIL if OpenCV cannot (PIL reads 8-bit TIFF with more
bands); all other formats with PIL. A TIFF that neither decodes (e.g. 16-bit
with more than 4 bands) is reported as unreadable. Large JPEGs can be
decoded at a reduced size (PIL's ``draft``: the DCT scales by 1/2, 1/4 or
1/8 while decoding) when the caller only needs a smaller image.
"""
import os.path as osp
import struct
import zlib

import numpy as np
from PIL import Image, ImageFile

TIFF_EXTENSIONS = ('.tif', '.tiff')

# Errors the decoders raise on a bad file. FileNotFoundError, PermissionError
# and IsADirectoryError (also OSErrors) are re-raised, not counted as corrupt.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error,
                  struct.error, IndexError)
_NOT_CORRUPT = (FileNotFoundError, PermissionError, IsADirectoryError)


class CorruptImageError(Exception):
    """A file that exists but cannot be decoded as an image.

    Args:
        path (str): The file.
        reason (str): The decoder's message.
    """

    def __init__(self, path, reason):
        super().__init__(f'cannot decode image {path!r}: {reason}')
        self.path = path
        self.reason = reason

    def __reduce__(self):
        return (type(self), (self.path, self.reason))


def percentile_stretch(img, stretch=(2.0, 98.0)):
    """Map a high-bit-depth image linearly to uint8.

    Args:
        img (np.ndarray): Array of shape (H, W) or (H, W, C), any real dtype.
        stretch (tuple[float, float]): Lower and upper percentiles, computed
            jointly over all bands, that map to 0 and 255.

    Returns:
        np.ndarray: uint8 array of the same shape.
    """
    data = img.astype(np.float32)
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return np.zeros(img.shape, np.uint8)
    # Percentiles of a strided subsample: same values within a grey level
    # for natural images, and a fixed cost for huge scenes.
    step = max(1, finite.size // 1_000_000)
    lo, hi = np.percentile(finite[::step], stretch)
    if hi <= lo:
        hi = lo + 1.0
    data = (np.nan_to_num(data, nan=lo) - lo) * (255.0 / (hi - lo))
    return np.clip(data + 0.5, 0, 255).astype(np.uint8)


def bands_to_rgb8(arr, band_order=(0, 1, 2), stretch=(2.0, 98.0)):
    """Apply the band and bit-depth policy to a decoded array.

    Args:
        arr (np.ndarray): (H, W) or (H, W, C) array, bands in file order.
        band_order (tuple[int, int, int]): Bands used as R, G, B when the
            array has three or more bands.
        stretch (tuple[float, float]): Percentiles for non-uint8 data.

    Returns:
        np.ndarray: uint8 array of shape (H, W, 3), RGB.
    """
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3:
        if arr.shape[2] >= 3:
            if max(band_order) >= arr.shape[2]:
                raise ValueError(f'band_order {band_order} needs '
                                 f'{max(band_order) + 1} bands, the image '
                                 f'has {arr.shape[2]}')
            arr = arr[..., list(band_order)]
        else:  # two bands: gray + alpha or gray + extra band
            arr = arr[..., 0]
    if arr.dtype != np.uint8:
        arr = percentile_stretch(arr, stretch)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return np.ascontiguousarray(arr)


def _pil_to_rgb8(im, band_order, stretch):
    mode = im.mode
    if mode == 'RGB':
        return np.asarray(im)
    if mode in ('1', 'L'):
        return bands_to_rgb8(np.asarray(im.convert('L')), band_order, stretch)
    if mode == 'LA':
        return bands_to_rgb8(np.asarray(im)[..., 0], band_order, stretch)
    if mode in ('RGBA', 'RGBX', 'RGBa'):
        return np.ascontiguousarray(np.asarray(im)[..., :3])
    if mode in ('P', 'PA'):
        return np.ascontiguousarray(np.asarray(im.convert('RGBA'))[..., :3])
    if mode.startswith('I') or mode == 'F':  # 16/32-bit integer or float
        return bands_to_rgb8(np.asarray(im), band_order, stretch)
    return np.asarray(im.convert('RGB'))


def _read_tiff(path, band_order, stretch):
    import cv2
    log = cv2.utils.logging
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_SILENT)  # a failure here is not final
    try:
        arr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    finally:
        log.setLogLevel(level)
    if arr is None:
        return None  # OpenCV cannot read it: PIL gets a chance
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        # OpenCV stores 3- and 4-band images as BGR(A); back to file order.
        arr = arr[..., [2, 1, 0] + ([3] if arr.shape[2] == 4 else [])]
    return bands_to_rgb8(arr, band_order, stretch)


def read_rs_image(path,
                  min_size=None,
                  band_order=(0, 1, 2),
                  stretch=(2.0, 98.0)):
    """Decode an image file into an 8-bit RGB array by the module's policy.

    Args:
        path (str): Image file.
        min_size (tuple[int, int], optional): ``(width, height)`` the caller
            needs at least. A JPEG is then decoded at the smallest DCT scale
            (1, 1/2, 1/4 or 1/8) whose size is still >= ``min_size``; other
            formats are decoded in full.
        band_order (tuple[int, int, int]): Bands taken as R, G, B.
        stretch (tuple[float, float]): Percentiles for >8-bit data.

    Returns:
        tuple[np.ndarray, float]: The uint8 (H, W, 3) RGB image and the
        decode scale (decoded width / stored width; 1.0 unless a JPEG was
        decoded at reduced size).

    Raises:
        CorruptImageError: The file exists but cannot be decoded.
    """
    # A library that set this globally would let truncated files through
    # as grey-padded images; this loader reports them instead.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        if osp.splitext(path)[1].lower() in TIFF_EXTENSIONS:
            arr = _read_tiff(path, band_order, stretch)
            if arr is not None:
                return arr, 1.0
        with Image.open(path) as im:
            full_w = im.size[0]
            if min_size is not None and im.format == 'JPEG':
                im.draft('RGB', tuple(int(s) for s in min_size))
            im.load()
            scale = im.size[0] / full_w
            arr = _pil_to_rgb8(im, band_order, stretch)
        # Arrays viewing PIL's buffer are read-only; callers may write.
        return (arr if arr.flags.writeable else arr.copy()), scale
    except _NOT_CORRUPT:
        raise
    except _DECODE_ERRORS as e:
        raise CorruptImageError(path, f'{type(e).__name__}: {e}') from e


def read_image_size(path):
    """Width and height of an image from its header, without decoding.

    Args:
        path (str): Image file.

    Returns:
        tuple[int, int]: ``(width, height)``.

    Raises:
        CorruptImageError: The header cannot be parsed.
    """
    try:
        with Image.open(path) as im:
            return im.size
    except _NOT_CORRUPT:
        raise
    except _DECODE_ERRORS as e:
        if osp.splitext(path)[1].lower() in TIFF_EXTENSIONS:
            arr = _read_tiff(path, (0, 1, 2), (2.0, 98.0))
            if arr is not None:
                return arr.shape[1], arr.shape[0]
        raise CorruptImageError(path, f'{type(e).__name__}: {e}') from e
