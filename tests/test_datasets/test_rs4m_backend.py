"""RS4M and the loading transforms on a non-local mmengine storage backend.

The backend is registered here, through ``mmengine.fileio.register_backend``,
and serves files from a dict in memory; the local copy of the tree is deleted
before the data set is built, so nothing can be read from the disk.
"""
import os
import os.path as osp
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler
from mmengine.fileio import BaseStorageBackend, register_backend
from mmengine.fileio.backends import registry_utils
from rs4m_tree import make_rs_tree
from torch.utils.data import DataLoader

import selective_mae  # noqa: F401
from selective_mae.datasets import RS4M, rs_collate
from selective_mae.engine.hooks import BadImageHook
from selective_mae.testing.log_capture import captured_log

NAME = 'rs4m_test_dict'
PREFIX = 'dictmem'


class DictBackend(BaseStorageBackend):
    """Files from a class-level dict {uri: bytes} (forked loader workers
    inherit it)."""
    files = {}
    calls = dict(get=0, get_text=0, list=0)

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def get(self, filepath):
        DictBackend.calls['get'] += 1
        try:
            return self.files[str(filepath)]
        except KeyError:
            raise FileNotFoundError(f'no such key {filepath!r}') from None

    def get_text(self, filepath, encoding='utf-8'):
        DictBackend.calls['get_text'] += 1
        return self.get(filepath).decode(encoding)

    def list_dir_or_file(self,
                         dir_path,
                         list_dir=True,
                         list_file=True,
                         suffix=None,
                         recursive=False):
        DictBackend.calls['list'] += 1
        prefix = str(dir_path).rstrip('/') + '/'
        for key in sorted(self.files):
            if key.startswith(prefix):
                rel = key[len(prefix):]
                if list_file and (recursive or '/' not in rel):
                    yield rel


@pytest.fixture
def dict_tree(tmp_path):
    register_backend(NAME, DictBackend, force=True, prefixes=PREFIX)
    local = tmp_path / 'tree'
    t = make_rs_tree(str(local))
    root = f'{PREFIX}://bucket/rs'
    DictBackend.files = {}
    for dirpath, _, names in os.walk(local):
        for name in names:
            full = osp.join(dirpath, name)
            rel = osp.relpath(full, local)
            with open(full, 'rb') as f:
                DictBackend.files[f'{root}/{rel}'] = f.read()
    shutil.rmtree(local)  # nothing left to read from the disk
    DictBackend.calls.update(get=0, get_text=0, list=0)
    yield root, t
    registry_utils.backends.pop(NAME, None)
    registry_utils.prefix_to_backends.pop(PREFIX, None)
    DictBackend.files = {}


def _epoch(ds, hook, runner, workers):
    loader = DataLoader(
        ds,
        batch_size=4,
        num_workers=workers,
        collate_fn=rs_collate,
        sampler=DefaultSampler(ds, shuffle=True, seed=3))
    seen = []
    for i, batch in enumerate(loader):
        hook.before_train_iter(runner, i, batch)
        hook.after_train_iter(runner, i, batch)
        seen += [s.img_path for s in batch['data_samples']]
    hook.after_train_epoch(runner)
    return seen


@pytest.mark.parametrize('listing', ['scan', 'ann_file'])
def test_rs4m_on_a_registered_backend(dict_tree, tmp_path, listing):
    root, t = dict_tree
    backend_args = dict(backend=NAME)
    kw = dict(backend_args=backend_args, index_dir=str(tmp_path / 'work'))
    if listing == 'ann_file':
        DictBackend.files[f'{root}/list.txt'] = (
            '# images\n' + '\n'.join(sorted(t['good']) + t['bad']) +
            '\n').encode()
        kw['ann_file'] = 'list.txt'
    pipeline = [
        dict(type='LoadRandomResizedCrop', scale=16,
             backend_args=backend_args),
        dict(type='PackInputs', meta_keys=('img_path', 'sample_idx'))
    ]
    ds = RS4M(data_root=root, pipeline=pipeline, **kw)
    rels = sorted(
        osp.relpath(ds.get_data_info(i)['img_path'], root)
        for i in range(len(ds)))
    assert rels == sorted(list(t['good']) + t['bad'])
    if listing == 'scan':
        assert DictBackend.calls['list'] == 1
        # Index written locally (never to the backend), and reused.
        assert ds.index_file.startswith(str(tmp_path / 'work'))
        assert not any(k.endswith('.rs4m_index.txt')
                       for k in DictBackend.files)
        RS4M(data_root=root, pipeline=pipeline, **kw)
        assert DictBackend.calls['list'] == 1
    else:
        assert DictBackend.calls['get_text'] == 1
        assert DictBackend.calls['list'] == 0

    hook = BadImageHook()
    runner = SimpleNamespace(epoch=0)
    with captured_log() as messages:
        seen = _epoch(ds, hook, runner, workers=2)
    good_uris = {f'{root}/{rel}' for rel in t['good']}
    assert len(seen) == len(set(seen)) == len(good_uris)  # each once
    assert set(seen) == good_uris
    named = [m for m in messages if m.startswith('skipped unreadable')]
    assert len(named) == len(t['bad'])
    for rel in t['bad']:
        assert sum(f'{root}/{rel}' in m for m in named) == 1
    assert f'epoch 1: {len(t["bad"])} unreadable images skipped' in messages[
        -1]


def test_backend_pixels_and_missing_key(dict_tree):
    root, t = dict_tree
    backend_args = dict(backend=NAME)
    from selective_mae.datasets.transforms import LoadRSImage
    load = LoadRSImage(backend_args=backend_args)
    for rel, expected in t['good'].items():
        img = load(dict(img_path=f'{root}/{rel}'))['img']
        tol = 1 if '16' in rel else 0
        assert np.abs(img.astype(int) - expected).max() <= tol, rel
    # A missing object is the backend's error, not a bad image.
    with pytest.raises(FileNotFoundError):
        load(dict(img_path=f'{root}/no/such.png'))
