"""The one checkpoint reader: what mmengine logs, mmap, the atomic writer."""
import os

import torch

import selective_mae  # noqa: F401  (installs the reader in mmengine)
from selective_mae.checkpoint import (load_checkpoint_file,
                                      save_checkpoint_file)
from selective_mae.testing.log_capture import captured_log


def test_mmengine_loads_local_files_through_the_reader(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader
    path = str(tmp_path / 'w.pth')
    torch.save(dict(state_dict=dict(w=torch.arange(3.))), path)
    with captured_log() as log:
        ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert ckpt['state_dict']['w'].tolist() == [0., 1., 2.]
    line = [m for m in log if m.startswith('Loads checkpoint by')]
    assert line and line[0].startswith('Loads checkpoint by local backend'), \
        log


def test_mmap_reads_the_same_tensors(tmp_path):
    path = str(tmp_path / 'w.pth')
    w = torch.randn(4, 5)
    torch.save(dict(w=w), path)
    assert torch.equal(load_checkpoint_file(path, mmap=True)['w'], w)
    assert torch.equal(load_checkpoint_file(path)['w'], w)


def test_writer_leaves_no_partial_file(tmp_path):
    dst = tmp_path / 'sub' / 'out.pth'
    written = save_checkpoint_file(dict(w=torch.ones(2)), str(dst))
    assert written == str(dst) and dst.is_file()
    assert os.listdir(dst.parent) == ['out.pth']
    assert load_checkpoint_file(written)['w'].tolist() == [1., 1.]


def test_reading_leaves_the_allow_list_in_place(tmp_path):
    """After the reader ran, a plain weights-only ``torch.load`` of an
    mmengine checkpoint (message-hub history buffers) still works: the
    allow-list that ``import selective_mae`` set up is not undone."""
    from mmengine.logging.history_buffer import HistoryBuffer
    path = tmp_path / 'c.pth'
    torch.save(dict(message_hub=dict(log=HistoryBuffer([1., 2.], [1, 1]))),
               path)
    from selective_mae.checkpoint import load_checkpoint_file
    load_checkpoint_file(str(path))
    back = torch.load(path, weights_only=True)
    assert isinstance(back['message_hub']['log'], HistoryBuffer)
