"""A config naming an unknown type or a missing data root fails with a
message that names the key and the value."""
import os.path as osp

import pytest
from mmengine.config import Config

from conftest import REPO
from selective_mae.utils.config_checks import (ConfigError, check_data_roots,
                                               config_key_errors, type_paths)

MAE_CFG = 'configs/mae/mae_vit-tiny-p8_1xb16-2e_demo.py'


def test_unknown_model_type_names_the_key(tool, demo_data):
    out = tool(['tools/train.py', MAE_CFG, '--cfg-options',
                f'train_dataloader.dataset.data_root={demo_data}',
                'model.neck.type=MAEPretrainDecoderr'], check=False)
    assert out.returncode != 0
    assert ("ConfigError: model.neck.type: 'MAEPretrainDecoderr' is not "
            'registered in the mmpretrain::model registry') in out.stdout


def test_unknown_pipeline_type_names_its_position(demo_data):
    import selective_mae  # noqa: F401
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(osp.join(REPO, MAE_CFG))
    cfg.train_dataloader.dataset.data_root = demo_data
    cfg.train_dataloader.dataset.pipeline[-1].type = 'PackInputz'
    with pytest.raises(ConfigError) as err:
        with config_key_errors(cfg):
            DATASETS.build(cfg.train_dataloader.dataset)
    # the dataset's pipeline entry, and the top-level variable it came from
    assert str(err.value).startswith(
        'train_dataloader.dataset.pipeline[2].type')
    assert "'PackInputz' is not registered" in str(err.value)


def test_other_key_errors_pass_through():
    with pytest.raises(KeyError, match='plain'):
        with config_key_errors(Config(dict())):
            raise KeyError('plain')


def test_type_paths_finds_nested_and_listed_types():
    cfg = dict(model=dict(type='A', neck=dict(type='B')),
               pipeline=[dict(type='B'), dict(type='C')])
    assert type_paths(cfg, 'B') == ['model.neck.type', 'pipeline[0].type']


def test_missing_data_root_names_the_key_and_path(tool, tmp_path):
    missing = tmp_path / 'no_such_folder'
    out = tool(['tools/train.py', MAE_CFG, '--cfg-options',
                f'train_dataloader.dataset.data_root={missing}'],
               check=False)
    assert out.returncode != 0
    assert 'ConfigError: train_dataloader.dataset.data_root' in out.stdout
    assert str(missing) in out.stdout


def test_missing_ann_file_in_a_wrapped_dataset(tmp_path):
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='RepeatDataset', times=2, dataset=dict(
            type='CustomDataset', data_root=str(tmp_path),
            ann_file='meta/train.txt')))))
    with pytest.raises(ConfigError,
                       match=r'train_dataloader\.dataset\.dataset\.ann_file'):
        check_data_roots(cfg)
