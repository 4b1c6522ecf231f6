"""The pretraining runtime base stops a NaN run and keeps its last good
checkpoint, whatever custom_hooks a config sets."""
import glob
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import DataLoader

import selective_mae  # noqa: F401
from selective_mae.engine.hooks import NonFiniteLossError

RUNTIME = 'configs/_base_/rs4m_pretrain_runtime.py'


class _NaNAtThirdStep(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)
        self.calls = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        self.calls += 1
        loss = self.fc(inputs).pow(2).mean()
        return dict(loss=loss * float('nan') if self.calls >= 3 else loss)


def test_nan_stops_and_last_good_checkpoint_stays(tmp_path, repo_root):
    hooks = Config.fromfile(osp.join(repo_root, RUNTIME)).default_hooks
    assert hooks.finite_loss.type == 'FiniteLossHook'
    hooks.checkpoint.update(by_epoch=False, interval=1)
    hooks.logger.interval = 1
    runner = Runner(
        model=_NaNAtThirdStep(),
        work_dir=str(tmp_path),
        experiment_name=osp.basename(tmp_path),
        train_dataloader=DataLoader([dict(inputs=torch.ones(2))] * 16,
                                    batch_size=2),
        train_cfg=dict(by_epoch=False, max_iters=6),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=hooks.to_dict(),
        # a config's own list replaces the base's custom_hooks; the
        # finite-loss check is a default hook, so it stays
        custom_hooks=[dict(type='EMAHook')],
        default_scope='mmpretrain')
    with pytest.raises(NonFiniteLossError, match='iter_2.pth'):
        runner.train()
    assert sorted(osp.basename(p) for p in glob.glob(
        str(tmp_path / 'iter_*.pth'))) == ['iter_1.pth', 'iter_2.pth']
    assert open(tmp_path / 'last_checkpoint').read().endswith('iter_2.pth')


PRETRAINING = sorted(
    osp.relpath(p, REPO) for folder in ('mae', 'selectivemae')
    for p in glob.glob(osp.join(REPO, 'configs', folder, '*_rs4m*.py')))


def test_the_pretraining_configs_are_found():
    assert len(PRETRAINING) >= 10, PRETRAINING


@pytest.mark.parametrize('config', PRETRAINING)
def test_every_pretraining_config_has_it(config):
    cfg = Config.fromfile(osp.join(REPO, config), import_custom_modules=False)
    assert cfg.default_hooks.finite_loss == dict(type='FiniteLossHook')
