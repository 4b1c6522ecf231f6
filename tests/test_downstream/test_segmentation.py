"""Semantic segmentation with the pretrained ViT (mmseg): the two Potsdam
protocols' label maps, the real configs' training step, a tiny-ViT UperNet
trained through tools/train.py in both protocols, and the inference tool."""
import os.path as osp
import re

import numpy as np
import pytest
import torch
from PIL import Image

from selective_mae.testing import (POTSDAM_LABELS, make_potsdam_dataset,
                                   make_seg_batch)

CFG = 'configs/potsdam/upernet_selectivemae-vit-base-p16-sfp_4xb2-{}.py'
CONFIGS = {
    'potsdam6-80k': CFG.format('80k_potsdam-512x512'),
    'potsdam6-160k': CFG.format('160k_potsdam-512x512'),
    'potsdam5-80k': CFG.format('80k_potsdam5-512x512'),
    'potsdam5-160k': CFG.format('160k_potsdam5-512x512'),
    'loveda': 'configs/loveda/upernet_selectivemae-vit-base-p16-sfp_4xb2-'
    '80k_loveda-512x512.py',
}
TINY = 'tests/test_downstream/configs/upernet_vit-tiny-p16_fake-potsdam-128.py'
TINY5 = ('tests/test_downstream/configs/'
         'upernet_vit-tiny-p16_fake-potsdam5-128.py')


def _load_cfg(path):
    from mmengine.config import Config
    return Config.fromfile(path)


@pytest.fixture(scope='module')
def potsdam_root(tmp_path_factory):
    return make_potsdam_dataset(
        str(tmp_path_factory.mktemp('potsdam')), num_train=4, num_val=2,
        size=128)


@pytest.mark.parametrize('protocol', ['potsdam6-80k', 'potsdam5-80k'])
def test_label_map_of_each_protocol(protocol, potsdam_root, repo_root,
                                    monkeypatch):
    """File values 1..6 -> 0..5 (6 classes) or 0..4 with clutter -> 255."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    monkeypatch.chdir(repo_root)
    cfg = _load_cfg(CONFIGS[protocol])
    init_default_scope('mmseg')
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.data_root = potsdam_root
    ds_cfg.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs')
    ]
    dataset = DATASETS.build(ds_cfg)
    raw = np.array(Image.open(f'{potsdam_root}/ann_dir/val/0.png'))
    sample = dataset[0]
    label = sample['data_samples'].gt_sem_seg.data[0].numpy()
    clutter = raw == POTSDAM_LABELS['clutter']
    assert clutter.any() and (raw == 0).any()
    assert (label[raw == 0] == 255).all()
    for name, value in POTSDAM_LABELS.items():
        if name == 'clutter':
            continue
        assert (label[raw == value] == value - 1).all(), name
    five = protocol.startswith('potsdam5')
    assert (label[clutter] == (255 if five else 5)).all()
    assert len(dataset.metainfo['classes']) == (5 if five else 6)
    assert cfg.model.decode_head.num_classes == (5 if five else 6)
    assert cfg.model.auxiliary_head.num_classes == (5 if five else 6)


def test_tiny_5class_config_matches_real_one():
    real = _load_cfg(CONFIGS['potsdam5-80k'])
    tiny = _load_cfg(TINY5)
    assert tiny.train_dataloader.dataset.metainfo == \
        real.train_dataloader.dataset.metainfo
    assert tiny.val_dataloader.dataset.metainfo == \
        real.val_dataloader.dataset.metainfo


def test_schedules():
    for name, iters in (('potsdam6-80k', 80000), ('potsdam6-160k', 160000),
                        ('potsdam5-160k', 160000), ('loveda', 80000)):
        cfg = _load_cfg(CONFIGS[name])
        assert cfg.train_cfg.max_iters == iters
        assert cfg.param_scheduler[-1].end == iters
        assert cfg.model.test_cfg == dict(
            mode='slide', crop_size=(512, 512), stride=(384, 384))
        assert cfg.optim_wrapper.constructor == \
            'ViTLayerDecayOptimWrapperConstructor'


@pytest.mark.parametrize('name', ['potsdam5-80k', 'loveda'])
def test_real_config_trains_one_step(name, repo_root, monkeypatch):
    """ViT-B UperNet of the real config, one AdamW step on 2 x 128 px crops
    (batch 2: the decode head's 1 x 1 pooling branch has a BatchNorm, which
    cannot train on one value per channel)."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    monkeypatch.chdir(repo_root)
    cfg = _load_cfg(CONFIGS[name])
    init_default_scope('mmseg')
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (128, 128)
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).train()
    num_classes = cfg.model.decode_head.num_classes
    batch = make_seg_batch(num_classes)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.backbone.layers[11].ffn.layers[1].weight.detach().clone()
    log_vars = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(log_vars)
    assert not torch.equal(before, model.backbone.layers[11].ffn.layers[1]
                           .weight)
    decay = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    for group in optim_wrapper.optimizer.param_groups:
        assert group['lr_scale'] == pytest.approx(decay**(13 -
                                                          group['layer_id']))


@pytest.fixture(scope='module')
def tiny_runs(tmp_path_factory, potsdam_root, tool):
    tmp = tmp_path_factory.mktemp('seg')
    outs = {}
    for key, cfg in (('6', TINY), ('5', TINY5)):
        outs[key] = tool(['tools/train.py', cfg, '--work-dir',
                          tmp / f'work{key}', '--cfg-options',
                          f'train_dataloader.dataset.data_root={potsdam_root}',
                          f'val_dataloader.dataset.data_root={potsdam_root}',
                          f'test_dataloader.dataset.data_root={potsdam_root}'],
                         timeout=300).stdout
    return tmp, outs


@pytest.mark.parametrize('protocol', ['6', '5'])
def test_tiny_vit_upernet_trains_and_evaluates(tiny_runs, protocol):
    tmp, outs = tiny_runs
    out = outs[protocol]
    assert re.search(r'Iter\(train\) \[4/4\].*loss: \d', out), out[-3000:]
    assert re.search(r'mIoU: \d+\.\d+', out), out[-3000:]
    # The per-class table lists exactly the protocol's classes.
    table_rows = re.findall(r'^\|\s*(\w+)\s*\|\s*[\d.na]+\s*\|', out, re.M)
    classes = [r for r in table_rows if r != 'Class']
    expected = ['impervious_surface', 'building', 'low_vegetation', 'tree',
                'car'] + (['clutter'] if protocol == '6' else [])
    assert classes == expected, out[-3000:]
    assert osp.isfile(tmp / f'work{protocol}' / 'iter_4.pth')


def test_inference_tool_writes_mask(tiny_runs, potsdam_root, tool):
    tmp, _ = tiny_runs
    image = f'{potsdam_root}/img_dir/val/1.png'
    out = tool(['tools/inference/segment.py', image, TINY,
                tmp / 'work6' / 'iter_4.pth', '--out-dir',
                tmp / 'pred']).stdout
    assert 'mask:' in out, out
    mask = np.asarray(Image.open(tmp / 'pred' / '1_mask.png').convert('RGB'))
    labels = np.asarray(Image.open(tmp / 'pred' / '1_labels.png'))
    overlay = np.asarray(Image.open(tmp / 'pred' / '1_overlay.png'))
    assert mask.shape == (128, 128, 3) and labels.shape == (128, 128)
    assert overlay.shape == (128, 128, 3)
    palette = np.array([[255, 255, 255], [0, 0, 255], [0, 255, 255],
                        [0, 255, 0], [255, 255, 0], [255, 0, 0]])
    assert labels.max() < 6
    assert (mask == palette[labels]).all()


def test_colorize_and_overlay():
    from selective_mae.downstream.mmseg import colorize_mask, overlay_mask
    mask = np.array([[0, 1], [255, 1]])
    color = colorize_mask(mask, [[10, 20, 30], [40, 50, 60]])
    assert color.tolist() == [[[10, 20, 30], [40, 50, 60]],
                              [[0, 0, 0], [40, 50, 60]]]
    img = np.full((2, 2, 3), 100, np.uint8)
    assert overlay_mask(img, color, 0.5)[0, 0].tolist() == [55, 60, 65]
