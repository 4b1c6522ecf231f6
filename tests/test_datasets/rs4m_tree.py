"""A generated remote-sensing image tree with every kind of awkward file."""
import io
import os
import os.path as osp

import struct

import numpy as np
from PIL import Image


def _scene(rng, h, w):
    """Textured uint8 RGB image, so that no two files are alike."""
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def make_rs_tree(root, seed=0):
    """Write good and bad images in nested folders under ``root``.

    Returns:
        dict: ``good`` (relative paths that must load, with the expected
        uint8 RGB array for each), ``bad`` (relative paths that must be
        reported), ``other`` (files the index must ignore).
    """
    rng = np.random.default_rng(seed)
    good, bad = {}, []

    def path(rel):
        full = osp.join(root, rel)
        os.makedirs(osp.dirname(full), exist_ok=True)
        return full

    for i in range(4):
        rel = f'region_a/tile_{i}.png'
        img = _scene(rng, 40, 48)
        Image.fromarray(img).save(path(rel))
        good[rel] = img
    rel = 'region_b/deep/er/scene.jpg'
    img = _scene(rng, 64, 64)
    Image.fromarray(img).save(path(rel), quality=95)
    good[rel] = np.asarray(Image.open(path(rel)).convert('RGB'))
    rel = 'region_b/UPPER.JPEG'
    Image.fromarray(img[::-1].copy()).save(path(rel), format='JPEG')
    good[rel] = np.asarray(Image.open(path(rel)).convert('RGB'))
    rel = 'region_b/scene.bmp'
    img = _scene(rng, 20, 30)
    Image.fromarray(img).save(path(rel))
    good[rel] = img
    rel = 'region_b/scene.webp'
    Image.fromarray(_scene(rng, 24, 24)).save(path(rel), lossless=True)
    good[rel] = np.asarray(Image.open(path(rel)).convert('RGB'))

    # Grayscale: the band repeated.
    gray = rng.integers(0, 256, (32, 32), dtype=np.uint8)
    rel = 'modes/gray.png'
    Image.fromarray(gray).save(path(rel))
    good[rel] = np.repeat(gray[..., None], 3, 2)
    # RGBA: alpha dropped.
    rgba = rng.integers(0, 256, (32, 32, 4), dtype=np.uint8)
    rel = 'modes/rgba.png'
    Image.fromarray(rgba, 'RGBA').save(path(rel))
    good[rel] = rgba[..., :3]
    # Palette: expanded.
    pal_img = Image.fromarray(_scene(rng, 32, 32)).quantize(16)
    rel = 'modes/palette.png'
    pal_img.save(path(rel))
    good[rel] = np.asarray(pal_img.convert('RGB'))
    # 16-bit grayscale PNG: 2-98 percentile stretch.
    g16 = rng.integers(1000, 5000, (32, 32)).astype(np.uint16)
    rel = 'modes/gray16.png'
    Image.fromarray(g16).save(path(rel))
    good[rel] = _stretch(np.repeat(g16[..., None], 3, 2))
    # 4-band 16-bit TIFF (R, G, B, NIR): first three bands, stretched.
    b4 = rng.integers(0, 12000, (24, 28, 4)).astype(np.uint16)
    rel = 'tiff/rgbn16.tif'
    write_tiff(path(rel), b4)
    good[rel] = _stretch(b4[..., :3])
    # 6-band 8-bit TIFF: first three bands as they are.
    b6 = rng.integers(0, 256, (16, 16, 6), dtype=np.uint8)
    rel = 'tiff/six_band.tiff'
    write_tiff(path(rel), b6)
    good[rel] = b6[..., :3]

    # Corrupt JPEG: a JPEG whose header bytes are garbage.
    buf = io.BytesIO()
    Image.fromarray(_scene(rng, 32, 32)).save(buf, format='JPEG')
    data = bytearray(buf.getvalue())
    data[:64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
    rel = 'region_a/corrupt.jpg'
    with open(path(rel), 'wb') as f:
        f.write(bytes(data))
    bad.append(rel)
    # Truncated PNG: the first half of a valid file.
    buf = io.BytesIO()
    Image.fromarray(_scene(rng, 64, 64)).save(buf, format='PNG')
    rel = 'region_b/deep/truncated.png'
    with open(path(rel), 'wb') as f:
        f.write(buf.getvalue()[:len(buf.getvalue()) // 2])
    bad.append(rel)

    # Not images: ignored by the index.
    other = ['region_a/notes.txt', 'region_b/deep/meta.json']
    for rel in other:
        with open(path(rel), 'w') as f:
            f.write('not an image')
    return dict(good=good, bad=sorted(bad), other=other)


def write_tiff(path, arr):
    """Minimal baseline TIFF writer: uncompressed, interleaved, any band
    count, unsigned integer (8 or 16 bits) or IEEE float (16, 32 or 64
    bits) samples (PIL and OpenCV write at most 4 bands, and no half
    floats)."""
    if arr.ndim == 2:
        arr = arr[..., None]
    h, w, n = arr.shape
    bits = arr.dtype.itemsize * 8
    sample_format = 3 if arr.dtype.kind == 'f' else 1
    data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder('<'))
    data = data.tobytes()
    extra = bytes()
    bits_off = 8 + len(data)
    extra += struct.pack(f'<{n}H', *([bits] * n))
    extra_samples_off = bits_off + len(extra)
    extra += struct.pack(f'<{max(n - 3, 1)}H', *([0] * max(n - 3, 1)))
    format_off = 8 + len(data) + len(extra)
    extra += struct.pack(f'<{n}H', *([sample_format] * n))
    tags = [(256, 4, 1, w), (257, 4, 1, h),
            (258, 3, n, bits_off if n > 2 else bits), (259, 3, 1, 1),
            (262, 3, 1, 2 if n >= 3 else 1), (273, 4, 1, 8), (277, 3, 1, n),
            (278, 4, 1, h), (279, 4, 1, len(data)), (284, 3, 1, 1)]
    if n > 3:
        tags.append((338, 3, n - 3, extra_samples_off if n - 3 > 2 else 0))
    if sample_format != 1:
        tags.append((339, 3, n, format_off if n > 2 else sample_format))
    ifd_off = 8 + len(data) + len(extra)
    ifd = struct.pack('<H', len(tags))
    for tag, typ, count, value in tags:
        if typ == 3 and count == 1:
            ifd += struct.pack('<HHIHH', tag, typ, count, value, 0)
        else:
            ifd += struct.pack('<HHII', tag, typ, count, value)
    ifd += struct.pack('<I', 0)
    with open(path, 'wb') as f:
        f.write(b'II*\x00' + struct.pack('<I', ifd_off) + data + extra + ifd)


def _stretch(arr, lo_p=2.0, hi_p=98.0):
    """Reference percentile stretch, written out independently."""
    a = arr.astype(np.float64)
    lo, hi = np.percentile(a, [lo_p, hi_p])
    out = np.round((a - lo) / (hi - lo) * 255.0)
    return np.clip(out, 0, 255).astype(np.uint8)
