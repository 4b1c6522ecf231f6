"""Atomic checkpoint writes: SIGKILL at random moments of repeated saves,
a full disk during a save, and AtomicCheckpointHook in a run."""
import errno
import json
import os
import signal
import os.path as osp
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import selective_mae  # noqa: F401
from selective_mae.engine import atomic_backend
from selective_mae.engine.atomic_backend import (CheckpointWriteError,
                                                 atomic_write)

HERE = osp.dirname(osp.abspath(__file__))


def test_sigkill_at_random_moments_of_saves_leaves_complete_files(
        tool, tmp_path):
    rounds = 30
    out = tool([osp.join(HERE, 'kill_save_loop.py'), tmp_path / 'ckpt',
                rounds, 0], timeout=300).stdout
    records = [json.loads(x) for x in out.splitlines() if x.startswith('{')]
    assert len(records) == rounds
    for r in records:
        # every file under a checkpoint name is complete, and
        # last_checkpoint names a complete one, the newest or the one before
        # (killed between the rename and the marker)
        assert r['broken'] == [] and r['last_ok'], r
        newest = int(r['last_checkpoint'][5:-4])
        assert r['newest'] - newest in (0, 1), r
        assert r['temporaries'] <= 1
    # the kills did land inside writes (a temporary file was left) in some
    # rounds, and the next round removed what they left
    assert sum(r['temporaries'] for r in records) >= 1
    assert sum(r['stale_removed'] for r in records) >= 1
    assert records[-1]['newest'] > rounds  # and saving went on


def _full_disk_after(monkeypatch, nbytes):
    """The next writes fail with ENOSPC after ``nbytes`` bytes."""
    real = atomic_backend._write_all
    budget = [nbytes]

    def write(fd, data):
        if len(data) > budget[0]:
            real(fd, bytes(data[:budget[0]]))
            raise OSError(errno.ENOSPC, 'No space left on device')
        budget[0] -= len(data)
        real(fd, data)

    monkeypatch.setattr(atomic_backend, '_write_all', write)


def test_full_disk_keeps_the_old_file_and_names_folder_and_space(
        tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    atomic_write(path, b'old contents')
    _full_disk_after(monkeypatch, 3)
    with pytest.raises(CheckpointWriteError) as e:
        atomic_write(path, b'x' * 5000)
    msg = str(e.value)
    assert str(tmp_path) in msg and 'free' in msg and '5.0 kB needed' in msg
    assert 'no space left' in msg
    assert path.read_bytes() == b'old contents'
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # no temporary left


def test_written_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / 'a', 'x')
    finally:
        os.umask(old)
    assert oct(os.stat(tmp_path / 'a').st_mode & 0o777) == '0o644'


class _Data(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=torch.full((2, ), float(i)))


class _Model(BaseModel):

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='loss'):
        return dict(loss=self.lin(inputs).pow(2).mean())


def _runner(work, **ckpt):
    return Runner(
        model=_Model(),
        work_dir=str(work),
        # its own message hub: runners built in the same second share
        # mmengine's timestamp-named one, and with it keep_ckpt_ids
        experiment_name=f'atomic-{osp.basename(osp.dirname(str(work)))}',
        train_dataloader=dict(
            dataset=_Data(),
            sampler=dict(type='ResumableSampler', shuffle=True),
            batch_size=4,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(type='ResumableEpochBasedTrainLoop', max_epochs=3),
        default_hooks=dict(
            checkpoint=dict(type='AtomicCheckpointHook', **ckpt),
            logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmpretrain')


def test_hook_save_failure_stops_the_run_and_keeps_the_last_checkpoint(
        tmp_path, monkeypatch):
    work = tmp_path / 'work'
    runner = _runner(work, interval=1, max_keep_ckpts=1)
    real_save = runner.save_checkpoint
    calls = []

    def save(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 2:  # the disk is full from the second save on
            _full_disk_after(monkeypatch, 100)
        return real_save(*args, **kwargs)

    runner.save_checkpoint = save
    with pytest.raises(CheckpointWriteError, match='no space left') as e:
        runner.train()
    assert str(work) in str(e.value) and 'free' in str(e.value)
    # mmengine deletes the oldest checkpoint before saving: with
    # max_keep_ckpts=1 nothing would be left. Here epoch_1 is intact.
    assert sorted(n for n in os.listdir(work) if n.endswith('.pth')) == \
        ['epoch_1.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_1.pth')
    ckpt = torch.load(work / 'epoch_1.pth', weights_only=True)
    assert ckpt['meta']['epoch'] == 1
    assert not [n for n in os.listdir(work) if '.tmp-' in n]


def test_hook_writes_through_the_atomic_backend_and_prunes_after(tmp_path):
    work = tmp_path / 'work'
    runner = _runner(work, interval=1, max_keep_ckpts=2)
    # a temporary file of an earlier, killed save
    os.makedirs(work, exist_ok=True)
    (work / '.epoch_9.pth.tmp-abc').write_bytes(b'half')
    runner.train()
    hook = [h for h in runner.hooks if type(h).__name__ ==
            'AtomicCheckpointHook'][0]
    assert hook.backend_args == dict(backend='atomic_local')
    assert type(hook.file_backend).__name__ == 'AtomicLocalBackend'
    names = sorted(os.listdir(work))
    assert [n for n in names if n.endswith('.pth')] == \
        ['epoch_2.pth', 'epoch_3.pth']
    assert not [n for n in names if '.tmp-' in n]
    assert (work / 'last_checkpoint').read_text() == str(work / 'epoch_3.pth')


def test_train_py_turns_a_failed_save_into_one_error_line(
        tmp_path, monkeypatch, capsys, demo_data):
    sys.path.insert(0, osp.dirname(osp.dirname(HERE)))
    from tools.train import main
    _full_disk_after(monkeypatch, 1000)
    work = tmp_path / 'work'
    cfg = osp.join(HERE, 'configs',
                   'selectivemae_vit-tiny-p8_infobatch_iter-ckpt.py')
    with pytest.raises(SystemExit) as e:
        main([cfg, '--work-dir', str(work), '--cfg-options',
              f'train_dataloader.dataset.data_root={demo_data}',
              f'custom_hooks.2.out_dir={work}/trace',
              'train_cfg.max_epochs=1'])
    assert e.value.code == 1
    lines = [x for x in capsys.readouterr().err.splitlines()
             if x.startswith('tools/train.py: error:')]
    assert len(lines) == 1 and str(work) in lines[0]
    assert 'no space left' in lines[0] and 'free' in lines[0]
    assert not (work / 'last_checkpoint').exists()
    assert not [n for n in os.listdir(work) if n.endswith('.pth')]


class _SignalAt:
    """Sends SIGTERM to this process during one iteration."""

    priority = 'NORMAL'

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            os.kill(os.getpid(), signal.SIGTERM)


def test_preemption_right_after_an_epoch_checkpoint_saves_the_iteration(
        tmp_path):
    """Epoch checkpoints (2 iterations an epoch); SIGTERM during iteration 3,
    the first of epoch 2: epoch_1.pth does not hold it, iter_3.pth does."""
    from mmengine.hooks import Hook

    from selective_mae.engine.hooks import TrainingPreempted
    work = tmp_path / 'work'
    runner = _runner(work, interval=1)
    runner.register_hook(dict(type='PreemptionHook'))
    runner.register_hook(type('SignalAt', (_SignalAt, Hook), {})(2))
    with pytest.raises(TrainingPreempted) as e:
        runner.train()
    assert e.value.checkpoint == str(work / 'iter_3.pth')
    ckpt = torch.load(work / 'iter_3.pth', weights_only=True)
    assert (ckpt['meta']['epoch'], ckpt['meta']['iter']) == (1, 3)
    assert ckpt['train_loop']['batches_done'] == 1
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_3.pth')
