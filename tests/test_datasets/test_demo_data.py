"""The demo scene generator is deterministic for a seed."""
import hashlib

import numpy as np
from PIL import Image

from selective_mae.datasets.demo_data import generate_demo_dataset


def _digest(root, paths):
    return [hashlib.sha1((root / p).read_bytes()).hexdigest() for p in paths]


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = generate_demo_dataset(str(tmp_path / 'a'), 6, 48, seed=7)
    b = generate_demo_dataset(str(tmp_path / 'b'), 6, 48, seed=7)
    c = generate_demo_dataset(str(tmp_path / 'c'), 6, 48, seed=8)
    assert a == b == c
    assert _digest(tmp_path / 'a', a) == _digest(tmp_path / 'b', b)
    assert _digest(tmp_path / 'a', a) != _digest(tmp_path / 'c', c)
    img = np.asarray(Image.open(tmp_path / 'a' / a[0]))
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8
    assert img.std() > 5  # a scene, not a flat image
