"""Checkpoints on torch >= 2.6: mmengine's own files load (resume works),
while anything else in a pickle is still refused (weights only)."""
import os
import pickle

import numpy as np
import pytest
import torch

import selective_mae  # noqa: F401  (applies the fixes)


class _Payload:
    """Unpickling this would run code; a weights-only load must refuse."""

    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null',))


def _mmengine_like_checkpoint():
    from mmengine.logging import HistoryBuffer, MessageHub
    hub = MessageHub.get_instance('ckpt_safety_test')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/loss', np.float64(0.25))
    hub.update_info('iter', 7)
    return dict(
        meta=dict(epoch=2, iter=7, seed=np.int64(3),
                  dataset_meta=dict(classes=('a', 'b'))),
        state_dict=dict(w=torch.randn(3, 2)),
        message_hub=hub.state_dict(),
        optimizer=dict(state={0: dict(step=torch.tensor(7.))},
                       param_groups=[dict(lr=0.1, betas=(0.9, 0.95))]),
        extra=dict(buffer=HistoryBuffer([1.0, 2.0], [1, 1]),
                   array=np.arange(4, dtype=np.float32)))


def test_mmengine_checkpoint_loads_weights_only(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    path = tmp_path / 'epoch_2.pth'
    ckpt = _mmengine_like_checkpoint()
    torch.save(ckpt, path)
    loaded = _load_checkpoint(str(path), map_location='cpu')
    assert loaded['meta']['iter'] == 7
    assert torch.equal(loaded['state_dict']['w'], ckpt['state_dict']['w'])
    assert loaded['extra']['array'].tolist() == [0., 1., 2., 3.]
    hub = loaded['message_hub']
    assert hub['runtime_info']['iter'] == 7
    assert hub['log_scalars']['train/loss'].current() == 0.25


def test_arbitrary_objects_are_refused(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict=dict(w=torch.zeros(1)), x=_Payload()), path)
    with pytest.raises(pickle.UnpicklingError, match='evil.pth'):
        _load_checkpoint(str(path), map_location='cpu')


def test_missing_file_names_the_path(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(str(tmp_path / 'nope.pth'))


class _GetattrProbe:
    """Pickles as getattr(HistoryBuffer, '__init__'): outside the narrow
    getattr that HistoryBuffer's own pickles need."""

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    path = tmp_path / 'probe.pth'
    torch.save(dict(x=_GetattrProbe()), path)
    with pytest.raises(pickle.UnpicklingError, match='not allowed'):
        _load_checkpoint(str(path), map_location='cpu')
