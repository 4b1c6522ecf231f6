"""InfoBatchHook refuses an iteration-based train loop (it prunes only
between epochs, so it would silently never prune)."""
import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

import selective_mae  # noqa: F401


class _Indexed(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(
            inputs=torch.zeros(1),
            data_samples=DataSample(metainfo=dict(sample_idx=i)))


class _Model(BaseModel):

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.steps = 0

    def forward(self, inputs, data_samples=None, mode='loss'):
        self.steps += 1
        return dict(loss=self.w.sum())


def test_iteration_based_loop_raises_and_says_why(tmp_path):
    model = _Model()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=_Indexed(),
            sampler=dict(type='InfoBatchSampler', prune_ratio=0.5),
            batch_size=4,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=4),
        custom_hooks=[dict(type='InfoBatchHook')],
        default_hooks=dict(checkpoint=None),
        default_scope='mmpretrain')
    with pytest.raises(TypeError) as err:
        runner.train()
    msg = str(err.value)
    assert 'InfoBatchHook' in msg and 'IterBasedTrainLoop' in msg
    assert 'never prune' in msg and 'epoch' in msg
    assert model.steps == 0  # raised before the first step
