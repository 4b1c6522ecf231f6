"""JPEG files for the device decode tests."""
import io

import numpy as np
from PIL import Image


def textured_jpeg(width, height, seed=0, quality=92, **save_kw):
    """A JPEG of smoothed random texture (an RS-like scene), as bytes."""
    rng = np.random.default_rng(seed)
    small = rng.integers(
        0, 256, (max(height // 20, 2), max(width // 20, 2), 3),
        dtype=np.uint8)
    img = Image.fromarray(small).resize((width, height), Image.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format='JPEG', quality=quality, **save_kw)
    return buf.getvalue()


def broken_huffman_jpeg(width=320, height=240):
    """A JPEG whose markers parse (size, end marker, a long scan) but whose
    first Huffman table is invalid, so no decoder can decode it."""
    data = bytearray(textured_jpeg(width, height, seed=5))
    i = data.index(b'\xff\xc4')  # first DHT segment
    # Code-length counts (16 bytes after length and class/id) summing far
    # beyond what 16-bit codes allow.
    data[i + 5:i + 5 + 16] = b'\xff' * 16
    return bytes(data)
