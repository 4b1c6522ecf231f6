"""Decoding remote-sensing image files into 8-bit, 3-channel arrays.

Remote-sensing archives mix formats and pixel types. Every file goes through
:func:`read_rs_image` (or :func:`decode_rs_image` on bytes already read),
which applies one documented policy:

* **Storage.** Files are read as bytes through ``mmengine.fileio`` with the
  caller's ``backend_args`` (local disk by default; petrel, HTTP, LMDB or a
  user-registered backend otherwise), then decoded from memory, so every
  backend gets the same policy. An error of the backend itself (missing
  file, permission, network) is raised as is: it is not a bad image.
* **Unreadable files** (truncated, corrupt, not an image) raise
  :class:`CorruptImageError`, naming the file and the decoder's message. The
  data set turns that into a skipped, counted and logged sample (see
  :class:`selective_mae.datasets.RS4M`); nothing substitutes another image.
* **Pixel types** are converted to 8-bit, 3 channels:

  - grayscale (``L``, ``1``, ``LA``): the gray band is repeated three times;
  - RGBA / LA / palette with transparency: the alpha band is dropped (colour
    values are kept as stored, not composited);
  - palette (``P``): expanded through the palette;
  - CMYK / YCbCr / LAB / HSV: PIL's conversion to RGB;
  - more than 8 bits per sample (16-bit or 32-bit integer, float), any band
    count: a linear percentile stretch, computed jointly over the three kept
    bands so colour balance is preserved: ``lo, hi`` = the ``stretch``
    percentiles (2 and 98 by default) of the finite pixels, values mapped
    linearly so ``lo -> 0`` and ``hi -> 255``, then clipped;
  - multi-band TIFF (two, four or more bands, e.g. R, G, B, NIR): bands
    ``band_order`` (the first three by default) are taken as R, G, B; a
    two-band file uses its first band as gray.

* **Bad pixels** (see :class:`BadPixelsError`, a :class:`CorruptImageError`,
  so counted and named in the same way):

  - float TIFF (32 or 64 bit) with NaN or +-inf values: non-finite values
    are no-data: they take no part in the percentiles, and each such value
    becomes 0 in the 8-bit result (finite values of the same pixel's other
    bands are stretched as usual). An image with no finite value at all is
    bad. No loader output is ever non-finite: it is uint8.
  - 16-bit float (half precision) TIFF: neither OpenCV nor Pillow decodes
    it; bad, with a reason that says so (convert to float32, e.g.
    ``gdal_translate -ot Float32``). 16-bit integer TIFFs cannot hold NaN
    and follow the stretch rule.
  - all-constant images (every pixel of the 8-bit result the same colour: a
    no-data tile, or a high-bit-depth image with a single value): bad when
    the caller asks for it (``reject_constant=True``, what the pretraining
    loaders do); checked on the decoded array, at the reduced size when a
    JPEG is decoded at reduced size.
  - images smaller than the crop: the loaders' rule, see
    :func:`check_min_side`.

TIFF files are decoded with OpenCV (it handles 8/16-bit and float TIFF with 1
to 4 bands), then with PIL if OpenCV cannot (PIL reads 8-bit TIFF with more
bands); all other formats with PIL. A TIFF that neither decodes (e.g. 16-bit
with more than 4 bands) is reported as unreadable. Large JPEGs can be
decoded at a reduced size (PIL's ``draft``: the DCT scales by 1/2, 1/4 or
1/8 while decoding) when the caller only needs a smaller image.
"""
import io
import math
import os.path as osp
import struct
import zlib
from typing import NamedTuple, Optional

import numpy as np
from mmengine import fileio
from PIL import Image, ImageFile

TIFF_EXTENSIONS = ('.tif', '.tiff')

# Errors the decoders raise on a bad file. FileNotFoundError, PermissionError
# and IsADirectoryError (also OSErrors) are re-raised, not counted as corrupt.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error,
                  struct.error, IndexError)
_NOT_CORRUPT = (FileNotFoundError, PermissionError, IsADirectoryError)


class CorruptImageError(Exception):
    """A file that exists but cannot be used as an image.

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


class BadPixelsError(CorruptImageError):
    """A file that decodes, but whose pixels the policy rejects (no finite
    value, every pixel equal, smaller than the loader's minimum). Counted
    and named like an undecodable file."""

    def __init__(self, path, reason):
        Exception.__init__(self, f'unusable pixels in {path!r}: {reason}')
        self.path = path
        self.reason = reason


class _NoFinitePixels(ValueError):
    pass


def read_bytes(path, backend_args=None):
    """The bytes of a file, through ``mmengine.fileio``.

    Args:
        path (str): File path or URI.
        backend_args (dict, optional): mmengine storage backend arguments,
            e.g. ``dict(backend='petrel')``. Defaults to the backend of the
            path's prefix (local disk for plain paths).

    Returns:
        bytes: The file's content.
    """
    return fileio.get(path, backend_args=backend_args)


def percentile_stretch(img, stretch=(2.0, 98.0)):
    """Map a high-bit-depth image linearly to uint8.

    Non-finite values (NaN, +-inf) are no-data: they are left out of the
    percentiles and become 0.

    Args:
        img (np.ndarray): Array of shape (H, W) or (H, W, C), any real dtype.
        stretch (tuple[float, float]): Lower and upper percentiles, computed
            jointly over all bands of the finite pixels, that map to 0 and
            255.

    Returns:
        np.ndarray: uint8 array of the same shape.

    Raises:
        ValueError: No finite value in the image.
    """
    data = img.astype(np.float32)
    finite_mask = np.isfinite(data)
    all_finite = bool(finite_mask.all())
    finite = data if all_finite else data[finite_mask]
    if finite.size == 0:
        raise _NoFinitePixels('no finite pixel value (every value is NaN '
                              'or infinite)')
    # Percentiles of a strided subsample: same values within a grey level
    # for natural images, and a fixed cost for huge scenes.
    step = max(1, finite.size // 1_000_000)
    lo, hi = (float(v) for v in np.percentile(finite.reshape(-1)[::step],
                                              stretch))
    if hi <= lo:
        hi = lo + 1.0
    if not all_finite:
        data[~finite_mask] = lo
    scale = 255.0 / (hi - lo)
    data = np.clip(data, lo, hi)
    if hi - lo < 1e37:
        data -= np.float32(lo)
        data *= np.float32(scale)
    else:  # a range near float32's limit: scale first, no overflow
        data *= np.float32(scale)
        data -= np.float32(lo * scale)
    data += np.float32(0.5)
    out = np.clip(data, 0, 255).astype(np.uint8)
    if not all_finite:
        out[~finite_mask] = 0
    return out


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


def _decode_tiff(data, band_order, stretch):
    import cv2
    log = cv2.utils.logging
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_SILENT)  # a failure here is not final
    try:
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        arr = None
    finally:
        log.setLogLevel(level)
    if arr is None:
        return None  # OpenCV cannot read it: PIL gets a chance
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        # OpenCV stores 3- and 4-band images as BGR(A); back to file order.
        arr = arr[..., [2, 1, 0] + ([3] if arr.shape[2] == 4 else [])]
    return bands_to_rgb8(arr, band_order, stretch)


def _tiff_sample_type(data):
    """``(bits per sample, sample format)`` of a TIFF's first image, or None
    (only used to explain a failure)."""
    try:
        from PIL.TiffImagePlugin import ImageFileDirectory_v2
        fp = io.BytesIO(data)
        ifd = ImageFileDirectory_v2(ifh=data[:8])
        fp.seek(ifd.next)
        ifd.load(fp)
        bits = ifd.get(258, (1, ))
        fmt = ifd.get(339, (1, ))
        bits = bits[0] if isinstance(bits, tuple) else bits
        fmt = fmt[0] if isinstance(fmt, tuple) else fmt
        return int(bits), int(fmt)
    except Exception:  # noqa: BLE001 - a best-effort explanation only
        return None


def _is_tiff(path, data):
    return (osp.splitext(path)[1].lower() in TIFF_EXTENSIONS
            or data[:4] in (b'II*\x00', b'MM\x00*'))


def is_constant(arr):
    """Whether every pixel of an (H, W, C) or (H, W) array has the same
    value. A strided look first, so a textured image costs almost nothing.
    """
    first = arr[0, 0]
    sub = arr[::8, ::8]
    if (sub != first).any():
        return False
    return not (arr != first).any()


def check_not_constant(arr, path):
    """Raise :class:`BadPixelsError` if every pixel of ``arr`` is equal."""
    if is_constant(arr):
        value = tuple(int(v) for v in np.atleast_1d(arr[0, 0]))
        raise BadPixelsError(
            path, f'every pixel has the value {value}: no image content '
            '(a no-data tile?)')


def check_min_side(width, height, path, min_side):
    """The loaders' rule for small images.

    Images whose shorter side is at least ``min_side`` are used whatever the
    crop size: a crop smaller than the output is upsampled (bicubic by
    default), as mmpretrain's ``RandomResizedCrop`` does. Below it they are
    bad (:class:`BadPixelsError`, counted and named).

    Args:
        width (int): Stored width.
        height (int): Stored height.
        path (str): The file, for the message.
        min_side (int): Minimum shorter side in pixels; 0 accepts all.
    """
    if min(width, height) < min_side:
        raise BadPixelsError(
            path, f'{width}x{height} px, shorter side below the minimum of '
            f'{min_side} px (min_side)')


def decode_rs_image(data,
                    path,
                    min_size=None,
                    band_order=(0, 1, 2),
                    stretch=(2.0, 98.0),
                    reject_constant=False):
    """Decode the bytes of an image file by the module's policy.

    Args:
        data (bytes): The file's content.
        path (str): The file's name (format hints and messages).
        min_size (tuple[int, int], optional): ``(width, height)`` the caller
            needs at least. A JPEG is then decoded at the smallest DCT scale
            (1, 1/2, 1/4 or 1/8) whose size is still >= ``min_size``; other
            formats are decoded in full.
        band_order (tuple[int, int, int]): Bands taken as R, G, B.
        stretch (tuple[float, float]): Percentiles for >8-bit data.
        reject_constant (bool): Raise :class:`BadPixelsError` when every
            pixel of the result is equal.

    Returns:
        tuple[np.ndarray, float]: The uint8 (H, W, 3) RGB image and the
        decode scale (decoded width / stored width; 1.0 unless a JPEG was
        decoded at reduced size).

    Raises:
        CorruptImageError: The bytes cannot be decoded, or (as
            :class:`BadPixelsError`) the pixels are rejected by the policy.
    """
    # A library that set this globally would let truncated files through
    # as grey-padded images; this loader reports them instead.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    scale = 1.0
    try:
        arr = None
        tiff = _is_tiff(path, data)
        if tiff:
            arr = _decode_tiff(data, band_order, stretch)
        if arr is None:
            with Image.open(io.BytesIO(data)) as im:
                full_w = im.size[0]
                if min_size is not None and im.format == 'JPEG':
                    im.draft('RGB', tuple(int(s) for s in min_size))
                im.load()
                scale = im.size[0] / full_w
                arr = _pil_to_rgb8(im, band_order, stretch)
            # Arrays viewing PIL's buffer are read-only; callers may write.
            if not arr.flags.writeable:
                arr = arr.copy()
    except _NoFinitePixels as e:
        raise BadPixelsError(path, str(e)) from e
    except _NOT_CORRUPT:
        raise
    except _DECODE_ERRORS as e:
        reason = f'{type(e).__name__}: {e}'
        if tiff and _tiff_sample_type(data) == (16, 3):
            reason = ('16-bit float TIFF, which neither OpenCV nor Pillow '
                      'decodes; convert it to float32 (e.g. gdal_translate '
                      f'-ot Float32) ({reason})')
        raise CorruptImageError(path, reason) from e
    if reject_constant:
        check_not_constant(arr, path)
    return arr, scale


def read_rs_image(path,
                  min_size=None,
                  band_order=(0, 1, 2),
                  stretch=(2.0, 98.0),
                  backend_args=None,
                  reject_constant=False):
    """Read and decode an image file into an 8-bit RGB array by the
    module's policy (:func:`decode_rs_image` on :func:`read_bytes`).

    Args:
        path (str): Image file (path or URI).
        min_size (tuple[int, int], optional): See :func:`decode_rs_image`.
        band_order (tuple[int, int, int]): Bands taken as R, G, B.
        stretch (tuple[float, float]): Percentiles for >8-bit data.
        backend_args (dict, optional): mmengine storage backend arguments.
        reject_constant (bool): See :func:`decode_rs_image`.

    Returns:
        tuple[np.ndarray, float]: The uint8 (H, W, 3) RGB image and the
        decode scale.

    Raises:
        CorruptImageError: The file exists but cannot be used.
    """
    return decode_rs_image(
        read_bytes(path, backend_args), path, min_size, band_order, stretch,
        reject_constant)


def image_size(data, path):
    """Width and height of an encoded image, from its header when PIL can
    parse it (a TIFF that only OpenCV reads is decoded).

    Args:
        data (bytes): The file's content.
        path (str): The file's name (messages).

    Returns:
        tuple[int, int]: ``(width, height)``.

    Raises:
        CorruptImageError: The header cannot be parsed.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except _NOT_CORRUPT:
        raise
    except _DECODE_ERRORS as e:
        if _is_tiff(path, data):
            arr, _ = decode_rs_image(data, path)
            return arr.shape[1], arr.shape[0]
        raise CorruptImageError(path, f'{type(e).__name__}: {e}') from e


def read_image_size(path, backend_args=None):
    """Width and height of an image file, without decoding it when possible
    (see :func:`image_size`)."""
    return image_size(read_bytes(path, backend_args), path)


class JPEGLayout(NamedTuple):
    """What a JPEG's markers say, read without decoding.

    Attributes:
        sof (int): The start-of-frame marker (0xC0 baseline, 0xC1 extended,
            0xC2 progressive, others lossless or arithmetic).
        precision (int): Bits per sample.
        width (int): Image width.
        height (int): Image height.
        components (int): Number of colour components.
        blocks (int): 8 x 8 blocks over all components.
        scan_bytes (int): Bytes from the first scan to the end of the file.
        ends_with_eoi (bool): The end-of-image marker is within the last 32
            bytes (it is missing from a truncated file).
    """
    sof: int
    precision: int
    width: int
    height: int
    components: int
    blocks: int
    scan_bytes: int
    ends_with_eoi: bool


def jpeg_layout(data) -> Optional[JPEGLayout]:
    """Parse the markers of a JPEG up to its first scan.

    Args:
        data (bytes): File content.

    Returns:
        JPEGLayout | None: None when ``data`` is not a JPEG whose markers
        parse.
    """
    if data[:2] != b'\xff\xd8':
        return None
    n = len(data)
    i = 2
    sof = None
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # no length field
            i += 2
            continue
        length = (data[i + 2] << 8) | data[i + 3]
        if length < 2:
            return None
        if (0xC0 <= marker <= 0xCF
                and marker not in (0xC4, 0xC8, 0xCC)):  # start of frame
            sof = (marker, data[i + 4:i + 2 + length])
        if marker == 0xDA:  # start of scan
            if sof is None or len(sof[1]) < 6:
                return None
            kind, seg = sof
            precision = seg[0]
            height = (seg[1] << 8) | seg[2]
            width = (seg[3] << 8) | seg[4]
            ncomp = seg[5]
            if len(seg) < 6 + 3 * ncomp or ncomp == 0:
                return None
            hv = [(seg[7 + 3 * k] >> 4, seg[7 + 3 * k] & 15)
                  for k in range(ncomp)]
            hmax = max(h for h, _ in hv) or 1
            vmax = max(v for _, v in hv) or 1
            blocks = sum(
                math.ceil(math.ceil(width * h / hmax) / 8) *
                math.ceil(math.ceil(height * v / vmax) / 8) for h, v in hv)
            return JPEGLayout(kind, precision, width, height, ncomp, blocks,
                              n - (i + 2 + length),
                              b'\xff\xd9' in data[-32:])
        i += 2 + length
    return None


# A constant JPEG's scans hold at most 0.67 bytes per 8 x 8 block with the
# standard or optimised Huffman tables (all AC coefficients zero, DC steps
# zero; measured over qualities 50-100, 4:4:4 to 4:2:0, baseline and
# progressive, 64 to 4000 px), plus about 250 bytes of scan headers.
CONSTANT_JPEG_BYTES_PER_BLOCK = 1.0
CONSTANT_JPEG_OVERHEAD = 1024


def may_be_constant_jpeg(layout):
    """Whether a JPEG is small enough to hold a constant image (see
    ``CONSTANT_JPEG_BYTES_PER_BLOCK``); real scenes are far above."""
    return layout.scan_bytes <= (
        CONSTANT_JPEG_BYTES_PER_BLOCK * layout.blocks +
        CONSTANT_JPEG_OVERHEAD)
