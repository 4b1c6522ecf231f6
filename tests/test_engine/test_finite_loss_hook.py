"""FiniteLossHook: a NaN/Inf loss stops training, the last good checkpoint
stays and no checkpoint of the diverged weights is written."""
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from selective_mae.engine.hooks import FiniteLossHook, NonFiniteLossError


class _DivergingModel(BaseModel):
    """Finite loss until call ``bad_at`` (1-based), then ``bad_value``."""

    def __init__(self, bad_at, bad_value):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)
        self.bad_at, self.bad_value, self.calls = bad_at, bad_value, 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        self.calls += 1
        loss = self.fc(inputs).pow(2).mean()
        if self.calls >= self.bad_at:
            loss = loss * self.bad_value
        return dict(loss=loss, loss_aux=torch.ones(()))


def _runner(tmp_path, bad_at, bad_value, interval=1):
    data = DataLoader([dict(inputs=torch.ones(2))] * 16, batch_size=2)
    return Runner(
        model=_DivergingModel(bad_at, bad_value),
        work_dir=str(tmp_path),
        experiment_name=osp.basename(tmp_path),
        train_dataloader=data,
        train_cfg=dict(by_epoch=False, max_iters=6),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1,
                            by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='FiniteLossHook', interval=interval)],
        default_scope='mmengine')


@pytest.mark.parametrize('bad_value', [float('nan'), float('inf')])
def test_stops_at_first_bad_loss_and_keeps_last_good(tmp_path, bad_value):
    runner = _runner(tmp_path, bad_at=3, bad_value=bad_value)
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    msg = str(info.value)
    assert 'iteration 3' in msg and 'iter_2.pth' in msg
    assert f'loss={bad_value}' in msg and 'loss_aux' not in msg
    assert osp.isfile(tmp_path / 'iter_2.pth')
    assert not osp.exists(tmp_path / 'iter_3.pth')
    assert open(tmp_path / 'last_checkpoint').read().endswith('iter_2.pth')
    good = torch.load(tmp_path / 'iter_2.pth', weights_only=False)
    assert all(torch.isfinite(v).all()
               for v in good['state_dict'].values())


def test_first_iteration_bad_says_no_checkpoint(tmp_path):
    runner = _runner(tmp_path, bad_at=1, bad_value=float('nan'))
    with pytest.raises(NonFiniteLossError, match='no checkpoint was saved'):
        runner.train()
    assert not osp.exists(tmp_path / 'iter_1.pth')


def test_finite_run_is_untouched(tmp_path):
    runner = _runner(tmp_path, bad_at=100, bad_value=float('nan'))
    runner.train()
    assert osp.isfile(tmp_path / 'iter_6.pth')


def test_refuses_save_after_bad_loss_between_checks(tmp_path):
    hook = FiniteLossHook()
    hook._bad = 'loss=nan'
    with pytest.raises(NonFiniteLossError, match='Refusing to save'):
        hook.before_save_checkpoint(None, {})
    with pytest.raises(ValueError, match='interval'):
        FiniteLossHook(interval=0)
