"""RS4M data set: index, bad-file policy, no duplicates, loading transforms."""
import os
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler
from PIL import Image
from rs4m_tree import make_rs_tree
from torch.utils.data import DataLoader

import selective_mae  # noqa: F401
from selective_mae.datasets import RS4M, BadImage, rs_collate
from selective_mae.datasets import file_index
from selective_mae.datasets.transforms import (LoadRandomResizedCrop,
                                               LoadRSImage)
from selective_mae.engine.hooks import BadImageHook
from selective_mae.testing.log_capture import captured_log

PIPELINE = [
    dict(type='LoadRSImage'),
    dict(type='PackInputs', meta_keys=('sample_idx', 'img_path'))
]


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('rs_tree'))
    return root, make_rs_tree(root)


def _rel(ds, i):
    return osp.relpath(ds.get_data_info(i)['img_path'], ds.img_root)


def test_index_holds_images_only(tree):
    root, t = tree
    ds = RS4M(data_root=root, pipeline=PIPELINE)
    rels = [_rel(ds, i) for i in range(len(ds))]
    assert rels == sorted(list(t['good']) + t['bad'])
    assert ds.index_file == osp.join(root, '.rs4m_index.txt')
    assert ds.metainfo['variant'] == 'OpticalRS-4M'


def test_good_files_load_as_rgb_uint8(tree):
    root, t = tree
    load = LoadRSImage()
    for rel, expected in t['good'].items():
        img = load(dict(img_path=osp.join(root, rel)))['img']
        assert img.dtype == np.uint8 and img.shape == expected.shape, rel
        # Exact, except the 16-bit stretch (rounding of the float maths).
        tol = 1 if '16' in rel else 0
        assert np.abs(img.astype(int) - expected).max() <= tol, rel


def test_epoch_skips_and_counts_bad_files_without_duplicates(tree):
    root, t = tree
    ds = RS4M(
        data_root=root,
        pipeline=[
            dict(type='LoadRandomResizedCrop', scale=16),
            dict(type='PackInputs')
        ])
    loader = DataLoader(
        ds,
        batch_size=4,
        num_workers=2,
        collate_fn=rs_collate,
        sampler=DefaultSampler(ds, shuffle=True, seed=1))
    hook = BadImageHook()
    runner = SimpleNamespace(epoch=0)
    with captured_log() as messages:
        for _ in range(2):  # two epochs: files named once, summary per epoch
            seen = []
            for i, batch in enumerate(loader):
                hook.before_train_iter(runner, i, batch)
                assert set(batch) == {'inputs', 'data_samples'}
                seen += [ds_.sample_idx for ds_ in batch['data_samples']]
                for img, sample in zip(batch['inputs'], batch['data_samples']):
                    assert img.dtype == torch.uint8 and img.shape[0] == 3
                    assert _rel(ds, sample.sample_idx) in t['good']
            hook.after_train_epoch(runner)
            assert len(seen) == len(set(seen)) == len(t['good'])
            assert {_rel(ds, i) for i in seen} == set(t['good'])
            runner.epoch += 1
    named = [m for m in messages if m.startswith('skipped unreadable')]
    assert len(named) == len(t['bad'])
    for rel in t['bad']:
        assert sum(rel in m for m in named) == 1
    summaries = [m for m in messages if 'unreadable images skipped' in m]
    assert summaries == [
        f'epoch 1: {len(t["bad"])} unreadable images skipped '
        f'({len(t["bad"])} in all epochs so far)',
        f'epoch 2: {len(t["bad"])} unreadable images skipped '
        f'({2 * len(t["bad"])} in all epochs so far)'
    ]


def test_bad_file_gives_marker_for_same_index(tree):
    root, t = tree
    ds = RS4M(data_root=root, pipeline=PIPELINE)
    for i in range(len(ds)):
        out = ds[i]
        if _rel(ds, i) in t['bad']:
            assert isinstance(out, BadImage) and out.sample_idx == i
            assert out.img_path.endswith(_rel(ds, i)) and out.reason
        else:
            assert out['data_samples'].sample_idx == i
    with pytest.raises(RuntimeError, match='every image of a batch'):
        rs_collate([ds[i] for i in range(len(ds)) if _rel(ds, i) in t['bad']])


def test_missing_file_and_dropping_transform_raise(tmp_path):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / 'a.png')
    (tmp_path / 'list.txt').write_text('a.png\n# comment\n\nmissing.png\n')
    ds = RS4M(data_root=str(tmp_path), ann_file='list.txt', pipeline=PIPELINE)
    assert len(ds) == 2
    with pytest.raises(FileNotFoundError):
        ds[1]
    ds = RS4M(
        data_root=str(tmp_path),
        ann_file='list.txt',
        pipeline=[lambda results: None])
    with pytest.raises(RuntimeError, match='never substitutes'):
        ds[0]
    with pytest.raises(ValueError, match='variant'):
        RS4M(data_root=str(tmp_path), variant='ImageNet')


def test_index_reused_then_rebuilt(tmp_path, monkeypatch):
    for i in range(3):
        os.makedirs(tmp_path / f'd{i}' / 'x', exist_ok=True)
        Image.fromarray(np.full(
            (8, 8, 3), i,
            np.uint8)).save(tmp_path / f'd{i}' / 'x' / f'{i}.png')
    ds = RS4M(data_root=str(tmp_path))
    assert len(ds) == 3 and osp.isfile(tmp_path / '.rs4m_index.txt')
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / 'new.jpg')

    def no_scan(*args):
        raise AssertionError('rescanned although an index exists')

    monkeypatch.setattr(file_index, 'scan_local', no_scan)
    ds = RS4M(data_root=str(tmp_path))
    assert len(ds) == 3  # from the index: the new file is not seen
    monkeypatch.undo()
    calls = []
    real_scan = file_index.scan_local
    monkeypatch.setattr(file_index, 'scan_local',
                        lambda *a: calls.append(a) or real_scan(*a))
    ds = RS4M(data_root=str(tmp_path), rebuild_index=True)
    assert len(ds) == 4 and len(calls) == 1
    # Another extension set is another index: rescanned, not misread.
    ds = RS4M(data_root=str(tmp_path), extensions=('.jpg', ))
    assert len(ds) == 1 and len(calls) == 2
    ds = RS4M(data_root=str(tmp_path), extensions=('.jpg', ))
    assert len(calls) == 2


def test_index_goes_to_index_dir_when_root_not_writable(tmp_path, monkeypatch):
    data = tmp_path / 'data'
    data.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(data / 'a.png')
    real_write = file_index.ImageIndex.write

    def read_only_root(self, candidates, header, rel_paths):
        # Simulate a read-only data folder (tests may run as root).
        blocked = [c for c in candidates if c.startswith(str(data))]
        for c in blocked:
            os.makedirs(c)  # a folder where the file should go: unwritable
        return real_write(self, candidates, header, rel_paths)

    monkeypatch.setattr(file_index.ImageIndex, 'write', read_only_root)
    ds = RS4M(data_root=str(data), index_dir=str(tmp_path / 'work'))
    assert ds.index_file.startswith(str(tmp_path / 'work'))
    assert len(ds) == 1


def test_lazy_init_and_serialization_kept(tree):
    root, t = tree
    ds = RS4M(data_root=root, pipeline=PIPELINE, lazy_init=True)
    assert not ds._fully_initialized
    n = len(t['good']) + len(t['bad'])
    assert len(ds) == n
    sub = RS4M(data_root=root, pipeline=PIPELINE, indices=[0, 1])
    assert len(sub) == 2 and sub.data_bytes is not None


def _big_jpeg(path, size=(900, 700)):
    rng = np.random.default_rng(0)
    small = rng.integers(
        0, 256, (size[1] // 20, size[0] // 20, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize(size, Image.BICUBIC)
    img.save(path, quality=95)
    return np.asarray(Image.open(path).convert('RGB'))


def test_load_random_resized_crop_matches_stock_crop(tmp_path):
    from mmpretrain.datasets.transforms import RandomResizedCrop
    path = str(tmp_path / 'big.jpg')
    full = _big_jpeg(path)
    kw = dict(scale=64, crop_ratio_range=(0.2, 1.0), interpolation='bicubic')
    for seed in range(5):
        np.random.seed(seed)
        out = LoadRandomResizedCrop(
            reduced_decode=False, **kw)(
                dict(img_path=path))
        np.random.seed(seed)
        ref = RandomResizedCrop(
            backend='pillow', **kw)(dict(img=full.copy()))['img']
        assert out['img'].shape == ref.shape == (64, 64, 3)
        assert out['decode_scale'] == 1.0
        assert out['ori_shape'] == full.shape[:2]
        # Same crop; PIL's boxed resize vs crop-then-resize differ at most
        # by the filter's border handling.
        assert np.abs(out['img'].astype(int) - ref).mean() < 2.0


def test_reduced_decode_is_close_and_never_upsamples(tmp_path, monkeypatch):
    from selective_mae.datasets.transforms import loading
    path = str(tmp_path / 'big.jpg')
    _big_jpeg(path, (1600, 1200))
    sizes = []
    real_decode = loading.decode_rs_image

    def spy(data, p, min_size, *a):
        img, s = real_decode(data, p, min_size, *a)
        sizes.append((img.shape, s, min_size))
        return img, s

    monkeypatch.setattr(loading, 'decode_rs_image', spy)
    kw = dict(scale=64, crop_ratio_range=(0.2, 1.0))
    scales = []
    for seed in range(8):
        np.random.seed(seed)
        fast = LoadRandomResizedCrop(
            reduced_decode=True, **kw)(
                dict(img_path=path))
        np.random.seed(seed)
        slow = LoadRandomResizedCrop(
            reduced_decode=False, **kw)(
                dict(img_path=path))
        scales.append(fast['decode_scale'])
        assert fast['img'].shape == (64, 64, 3)
        assert np.abs(fast['img'].astype(int) - slow['img']).mean() < 3.0
    assert min(scales) <= 0.125  # 1600 px -> 64 px crops: 1/8 decodes
    for shape, s, min_size in sizes:
        if min_size is not None:  # decoded image at least the needed size
            assert shape[1] >= min_size[0] and shape[0] >= min_size[1]


def test_base_data_configs_build(tree, repo_root):
    from mmengine.config import Config
    from mmengine.registry import FUNCTIONS, init_default_scope
    from mmpretrain.registry import DATA_SAMPLERS, DATASETS
    root, t = tree
    init_default_scope('mmpretrain')
    for name, size in [('demo_rs_pretrain.py', 64),
                       ('rs4m_bs256_pretrain.py', 224),
                       ('rs4m_bs256_pretrain_infobatch.py', 224)]:
        cfg = Config.fromfile(
            osp.join(repo_root, 'configs/_base_/datasets', name))
        assert cfg.data_preprocessor.to_rgb is False
        assert any(h.type == 'BadImageHook' for h in cfg.custom_hooks)
        loader = cfg.train_dataloader
        assert FUNCTIONS.get(loader.collate_fn.type) is rs_collate
        ds = DATASETS.build(dict(loader.dataset, data_root=root))
        sampler = DATA_SAMPLERS.build(
            loader.sampler, default_args=dict(dataset=ds, seed=0))
        good = [i for i in range(len(ds)) if _rel(ds, i) in t['good']]
        batch = rs_collate([ds[i] for i in good[:2]])
        assert batch['inputs'].shape == (2, 3, size, size)
        if 'infobatch' in name:
            assert type(sampler).__name__ == 'InfoBatchSampler'
            assert (sampler.prune_ratio, sampler.delta) == (0.5, 0.875)
            assert any(h.type == 'InfoBatchHook' for h in cfg.custom_hooks)
