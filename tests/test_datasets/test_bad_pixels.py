"""The bad-pixel policy: non-finite float TIFFs, half-float TIFFs, constant
images, images smaller than the crop (docs/datasets.md, "Bad pixels")."""
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from rs4m_tree import write_tiff

import selective_mae  # noqa: F401
from selective_mae.datasets import RS4M, BadImage, rs_collate
from selective_mae.datasets.image_io import (BadPixelsError,
                                             CorruptImageError,
                                             percentile_stretch,
                                             read_rs_image)
from selective_mae.datasets.transforms import (LoadRandomResizedCrop,
                                               LoadRSImage)
from selective_mae.engine.hooks import BadImageHook
from selective_mae.testing.log_capture import captured_log


def _reference_stretch(arr, lo_p=2.0, hi_p=98.0):
    """Independent reference: percentiles of the finite values, linear
    map, clip, non-finite -> 0."""
    a = arr.astype(np.float64)
    fin = np.isfinite(a)
    lo, hi = np.percentile(a[fin], [lo_p, hi_p])
    out = np.round((np.where(fin, a, lo) - lo) / (hi - lo) * 255.0)
    out = np.clip(out, 0, 255)
    out[~fin] = 0
    return out.astype(np.uint8)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('bands', [1, 3, 4])
def test_float_tiff_nonfinite_values_are_nodata(tmp_path, dtype, bands):
    rng = np.random.default_rng(bands)
    arr = rng.normal(300.0, 80.0, (20, 24, bands)).astype(dtype)
    arr[0, :5, 0] = np.nan
    arr[3, 3, :] = np.inf
    arr[5, 1:4, -1] = -np.inf
    arr[7, 7, 0] = 1e30  # a finite outlier: clipped to 255
    path = str(tmp_path / 'f.tif')
    write_tiff(path, arr)
    img = LoadRSImage()(dict(img_path=path))['img']
    kept = arr[..., :3] if bands >= 3 else np.repeat(arr[..., :1], 3, 2)
    ref = _reference_stretch(kept)
    assert img.dtype == np.uint8 and img.shape == (20, 24, 3)
    assert np.abs(img.astype(int) - ref).max() <= 1
    nonfinite = ~np.isfinite(kept)
    assert nonfinite.any() and (img[nonfinite] == 0).all()
    assert img[7, 7, 0] == 255


def test_stretch_never_gives_nan_at_extreme_ranges():
    arr = np.array([[-3e38, 3e38], [0.0, np.nan]], np.float32)
    out = percentile_stretch(np.repeat(arr[..., None], 3, 2), (0, 100))
    assert out.dtype == np.uint8
    assert out[0, 0, 0] == 0 and out[0, 1, 0] == 255 and out[1, 1, 0] == 0
    assert out[1, 0, 0] in (127, 128)  # no overflow in the linear map


def test_no_finite_value_and_half_float_are_bad(tmp_path):
    path = str(tmp_path / 'nan.tif')
    write_tiff(path, np.full((16, 16, 3), np.nan, np.float32))
    with pytest.raises(BadPixelsError, match='no finite pixel value'):
        read_rs_image(path)
    path = str(tmp_path / 'half.tif')
    write_tiff(path, np.ones((16, 16, 1), np.float16))
    with pytest.raises(CorruptImageError, match='16-bit float TIFF'):
        read_rs_image(path)


def _png(path, arr):
    Image.fromarray(arr).save(path)
    return path


def test_constant_images_are_bad_by_default(tmp_path):
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[...] = (10, 20, 30)  # one colour: no content
    paths = {
        'png': _png(str(tmp_path / 'c.png'), rgb),
        'tif16': str(tmp_path / 'c16.tif'),
        'jpg': str(tmp_path / 'c.jpg'),
    }
    write_tiff(paths['tif16'], np.full((40, 40, 4), 1234, np.uint16))
    Image.fromarray(rgb).save(paths['jpg'], quality=90)
    for kind, path in paths.items():
        for t in (LoadRSImage(), LoadRandomResizedCrop(scale=16)):
            with pytest.raises(BadPixelsError, match='every pixel'):
                t(dict(img_path=path))
        out = LoadRandomResizedCrop(
            scale=16, skip_constant=False)(dict(img_path=path))
        assert out['img'].shape == (16, 16, 3), kind
    # One differing pixel is content.
    rgb[39, 39] = (11, 20, 30)
    path = _png(str(tmp_path / 'almost.png'), rgb)
    assert LoadRSImage()(dict(img_path=path))['img'][39, 39, 0] == 11


def test_small_images_upsampled_tiny_ones_bad(tmp_path):
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    path = _png(str(tmp_path / 'small.png'), small)
    np.random.seed(0)
    out = LoadRandomResizedCrop(
        scale=64, crop_ratio_range=(1.0, 1.0),
        aspect_ratio_range=(1.5, 1.5))(dict(img_path=path))
    ref = np.asarray(Image.fromarray(small).resize((64, 64), Image.BICUBIC))
    assert out['img'].shape == (64, 64, 3)  # upsampled, as mmpretrain does
    assert np.abs(out['img'].astype(int) - ref).mean() < 1.0
    tiny = _png(str(tmp_path / 'tiny.png'), small[:8])
    for t in (LoadRSImage(), LoadRandomResizedCrop(scale=64)):
        with pytest.raises(BadPixelsError, match='min_side'):
            t(dict(img_path=tiny))
    assert LoadRSImage(min_side=0)(dict(img_path=tiny))['img'].shape == (8,
                                                                        30, 3)


def test_rs4m_counts_and_names_each_bad_pixel_file(tmp_path):
    rng = np.random.default_rng(1)
    good = []
    for i in range(3):
        good.append(
            _png(str(tmp_path / f'good{i}.png'),
                 rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)))
    f = rng.normal(0, 1, (32, 32, 3)).astype(np.float32)
    f[:4] = np.nan
    write_tiff(str(tmp_path / 'good_nan.tif'), f)
    good.append(str(tmp_path / 'good_nan.tif'))
    bad = {
        'all_nan.tif': 'no finite pixel value',
        'half.tif': '16-bit float TIFF',
        'constant.png': 'every pixel',
        'tiny.png': 'min_side',
    }
    write_tiff(str(tmp_path / 'all_nan.tif'),
               np.full((32, 32, 1), np.nan, np.float32))
    write_tiff(str(tmp_path / 'half.tif'), np.ones((32, 32, 3), np.float16))
    _png(str(tmp_path / 'constant.png'), np.zeros((32, 32, 3), np.uint8))
    _png(str(tmp_path / 'tiny.png'),
         rng.integers(0, 256, (32, 9, 3), dtype=np.uint8))
    ds = RS4M(
        data_root=str(tmp_path),
        pipeline=[
            dict(type='LoadRandomResizedCrop', scale=16),
            dict(type='PackInputs', meta_keys=('img_path', 'sample_idx'))
        ])
    samples = [ds[i] for i in range(len(ds))]
    markers = [s for s in samples if isinstance(s, BadImage)]
    assert {osp.basename(b.img_path) for b in markers} == set(bad)
    for b in markers:
        assert bad[osp.basename(b.img_path)] in b.reason
    batch = rs_collate(samples)
    assert batch['inputs'].shape == (len(good), 3, 16, 16)
    assert {s.img_path for s in batch['data_samples']} == set(good)
    hook = BadImageHook()
    with captured_log() as messages:
        hook.before_train_iter(SimpleNamespace(epoch=0), 0, batch)
        hook.after_train_epoch(SimpleNamespace(epoch=0))
    for name in bad:
        assert sum(name in m for m in messages
                   if m.startswith('skipped')) == 1
    assert 'epoch 1: 4 unreadable images skipped' in messages[-1]


def test_jpeg_with_corrupt_body_is_bad(tmp_path):
    """A JPEG whose Huffman table is broken (header parses, decoding
    fails): bad on the worker path; the device path test uses it too."""
    from device_decode_files import broken_huffman_jpeg
    path = str(tmp_path / 'broken.jpg')
    with open(path, 'wb') as f:
        f.write(broken_huffman_jpeg())
    with pytest.raises(CorruptImageError):
        read_rs_image(path)
