"""PSTSProgressHook: curriculum boundaries in epoch- and iteration-based
runs, and resume."""
import logging

import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

import selective_mae  # noqa: F401
from selective_mae.engine.hooks.psts_progress_hook import PSTSProgressHook
from selective_mae.models.selectors.psts import PSTS


class ToyModel(BaseModel):
    """A linear model carrying a PSTS module, as SelectiveMAE does."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.selector = PSTS()

    def forward(self, inputs, data_samples=None, mode='tensor'):
        loss = self.linear(torch.stack(inputs)).pow(2).mean()
        return dict(loss=loss)


class ToyData(torch.utils.data.Dataset):

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return dict(inputs=torch.full((2, ), float(i)))


class Recorder(Hook):
    priority = 'LOW'  # after PSTSProgressHook

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        t = runner.model.selector.progress
        self.seen.append((runner.iter, t, runner.model.selector.curriculum()))


def make_runner(tmp_path, by_epoch, recorder, **kwargs):
    loop = dict(type='EpochBasedTrainLoop', max_epochs=4) if by_epoch else \
        dict(type='IterBasedTrainLoop', max_iters=40)
    return Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            # one pass for the iteration-based run (mmengine sleeps 2 s
            # whenever its infinite iterator wraps around)
            dataset=ToyData(20 if by_epoch else 80),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=loop,
        custom_hooks=[dict(type='PSTSProgressHook'), recorder],
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=100),
            checkpoint=dict(
                type='CheckpointHook', interval=20, by_epoch=False)),
        default_scope='mmpretrain',
        log_level=logging.WARNING,
        **kwargs)


@pytest.mark.parametrize('by_epoch', [True, False])
def test_boundaries_land_at_configured_fractions(tmp_path, by_epoch):
    recorder = Recorder()
    make_runner(tmp_path, by_epoch, recorder).train()
    assert [it for it, _, _ in recorder.seen] == list(range(40))
    # 40 iterations in all (4 epochs x 10 batches, or 40 iterations)
    for it, t, _ in recorder.seen:
        assert t == pytest.approx(it / 40)
    pure = {it: c[0] for it, _, c in recorder.seen if c[0] == c[1]}
    blended = [it for it, _, c in recorder.seen if c[0] != c[1]]
    # near while t < 0.35, blends on [0.35, 0.375) and [0.725, 0.75)
    assert [it for it, m in pure.items() if m == 'near'] == list(range(14))
    assert blended == [14, 29]
    assert [it for it, m in pure.items() if m == 'far'] == list(range(15, 29))
    assert [it for it, m in pure.items()
            if m == 'random'] == list(range(30, 40))


def test_resume_restores_progress(tmp_path):
    full = Recorder()
    make_runner(tmp_path / 'full', False, full).train()
    ckpt = torch.load(tmp_path / 'full' / 'iter_20.pth', map_location='cpu',
                      weights_only=False)
    assert ckpt['meta']['psts_progress'] == pytest.approx(19 / 40)

    resumed = Recorder()
    runner = make_runner(
        tmp_path / 'full', False, resumed,
        resume=True, load_from=str(tmp_path / 'full' / 'iter_20.pth'))
    runner.train()
    assert resumed.seen == full.seen[20:]


def test_after_load_checkpoint_sets_saved_progress():
    model = ToyModel()

    class Stub:
        pass

    runner = Stub()
    runner.model = model
    PSTSProgressHook().after_load_checkpoint(
        runner, dict(meta=dict(psts_progress=0.6)))
    assert model.selector.progress == 0.6
    checkpoint = {}
    PSTSProgressHook().before_save_checkpoint(runner, checkpoint)
    assert checkpoint['meta']['psts_progress'] == 0.6


def test_epoch_progress_follows_a_shortened_epoch():
    """With data pruning an epoch may hold fewer batches than the first
    one: progress counts epochs, not iterations."""
    from mmengine.runner import EpochBasedTrainLoop

    class Stub:
        pass

    loop = object.__new__(EpochBasedTrainLoop)
    loop._max_epochs = 4
    loop.dataloader = [None] * 5  # a pruned epoch of 5 batches (was 10)
    runner = Stub()
    runner.train_loop, runner.epoch, runner.iter = loop, 2, 23
    runner.max_iters = 40
    assert PSTSProgressHook.progress(runner, 3) == pytest.approx(
        (2 + 3 / 5) / 4)


def test_selectors_are_looked_up_once_not_every_iteration():
    """The hook used to walk ``model.modules()`` every iteration."""
    from mmengine.runner import IterBasedTrainLoop

    class Stub:
        pass

    model = ToyModel()
    calls = []
    walk = model.modules

    def counting_modules():
        calls.append(1)
        return walk()

    model.modules = counting_modules
    loop = object.__new__(IterBasedTrainLoop)
    runner = Stub()
    runner.model, runner.train_loop, runner.seed = model, loop, 7
    runner.iter, runner.max_iters = 0, 10
    hook = PSTSProgressHook()
    hook.before_train(runner)
    for i in range(10):
        runner.iter = i
        hook.before_train_iter(runner, i)
        assert model.selector.progress == pytest.approx(i / 10)
        assert model.selector._noise_key == (7, i)
    assert len(calls) == 1
    # a different model (e.g. rebuilt) is looked up afresh
    runner.model = ToyModel()
    hook.before_train_iter(runner, 3)
    assert runner.model.selector.progress == pytest.approx(0.9)
