"""The ViT-L children of the detection and segmentation configs, and the
Vaihingen configs.

Each ViT-L config differs from its ViT-B parent only in the backbone's
architecture lines, the channel counts that follow from the width and the
checkpoint path; its full-size model (built on the meta device, no memory)
has 24 blocks of width 1024 with features after blocks 7/11/15/23, and the
layer-decay constructor gives 26 depths with the ViT-L multipliers. Every
config then takes one optimizer step at a tiny size: the config's own model
with the ViT narrowed to width 64 (same depth, outputs, attention windows),
on 128 px inputs. The Vaihingen configs map mmseg's ISPRS labels in both
protocols."""
import copy
import functools
import glob
import os.path as osp
import re

import numpy as np
import pytest
import torch
from PIL import Image

from selective_mae.testing import (POTSDAM_LABELS, make_dior_dataset,
                                   make_dota_dataset, make_potsdam_dataset,
                                   make_seg_batch)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LARGE = sorted(
    osp.relpath(p, REPO) for family in ('dota', 'dior', 'potsdam', 'loveda',
                                        'spacenet', 'vaihingen')
    for p in glob.glob(osp.join(REPO, 'configs', family, '*vit-large*.py')))
VAIHINGEN = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', 'vaihingen', '*.py')))
SCOPE = {'oriented-rcnn': 'mmrotate', 'faster-rcnn': 'mmdet',
         'upernet': 'mmseg'}
# what a ViT-L child may change in its parent (flattened config keys)
ALLOWED = re.compile(
    r'^(pretrained|model\.backbone\.(arch|out_indices|global_attn_indexes|'
    r'with_cp|init_cfg\.checkpoint)|model\.neck(\.\d+)?\.in_channels|'
    r'model\.(decode_head|auxiliary_head)\.in_channels)$')


@functools.lru_cache(maxsize=None)
def _parse(path):
    from mmengine.config import Config
    return Config.fromfile(osp.join(REPO, path))


def _load(path):
    """A fresh copy of a config (parsed once: mmseg's bases are slow)."""
    return copy.deepcopy(_parse(path))


def _scope(path):
    name = osp.basename(path)
    return next(v for k, v in SCOPE.items() if name.startswith(k))


def _flatten(obj, prefix=''):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f'{prefix}{k}.'))
        return out
    if isinstance(obj, list) and obj and isinstance(obj[0], dict):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f'{prefix}{i}.'))
        return out
    return {prefix[:-1]: obj}


def test_every_vit_b_config_has_a_vit_l_child():
    base = sorted(
        osp.relpath(p, REPO) for family in ('dota', 'dior', 'potsdam',
                                            'loveda', 'spacenet', 'vaihingen')
        for p in glob.glob(osp.join(REPO, 'configs', family,
                                    '*vit-base*.py')))
    assert [p.replace('vit-base', 'vit-large') for p in base] == LARGE
    assert len(LARGE) == 12


@pytest.mark.parametrize('path', LARGE, ids=osp.basename)
def test_vit_l_child_changes_only_the_architecture(path):
    child = _flatten(_load(path).to_dict())
    parent = _flatten(_load(path.replace('vit-large', 'vit-base')).to_dict())
    changed = sorted(k for k in set(child) | set(parent)
                     if child.get(k) != parent.get(k))
    assert changed and all(ALLOWED.match(k) for k in changed), changed
    assert child['model.backbone.arch'] == 'large'
    assert child['model.backbone.out_indices'] == (7, 11, 15, 23)
    assert 'vit-large' in child['model.backbone.init_cfg.checkpoint']
    assert 'optim_wrapper.paramwise_cfg.num_layers' not in child
    if child.get('model.backbone.window_size'):
        assert child['model.backbone.global_attn_indexes'] == (5, 11, 17, 23)


@pytest.mark.parametrize('path', LARGE, ids=osp.basename)
def test_vit_l_full_size_structure_and_layer_decay(path):
    from mmengine.registry import init_default_scope

    import selective_mae.downstream.mmdet  # noqa: F401
    import selective_mae.downstream.mmrotate  # noqa: F401
    import selective_mae.downstream.mmseg  # noqa: F401
    from selective_mae.engine.optimizers.layer_decay import \
        build_layer_decay_groups
    cfg = _load(path)
    scope = _scope(path)
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    cfg.model.backbone.init_cfg = None
    with torch.device('meta'):
        model = registry.build(cfg.model)
    vit = model.backbone
    assert (vit.num_layers, vit.embed_dims) == (24, 1024)
    assert tuple(vit.out_indices) == (7, 11, 15, 23)
    assert vit.layers[23].attn.qkv.weight.shape == (3072, 1024)
    decay = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    groups = build_layer_decay_groups(model, cfg.optim_wrapper.paramwise_cfg)
    assert {g['layer_id'] for g in groups} == set(range(26))
    for g in groups:
        assert g['lr_scale'] == pytest.approx(decay**(25 - g['layer_id']))
        for name in g['param_names']:
            m = re.match(r'backbone\.layers\.(\d+)\.', name)
            if m:
                assert g['layer_id'] == int(m.group(1)) + 1


def _narrow(cfg, width=64):
    """The config's model with the ViT narrowed to ``width`` (same depth,
    outputs and attention windows) and the heads' inputs to match."""
    model = cfg.model
    depth = 24 if model.backbone.arch == 'large' else 12
    model.backbone.arch = dict(embed_dims=width, num_layers=depth,
                               num_heads=4, feedforward_channels=2 * width)
    model.backbone.init_cfg = None
    if isinstance(model.neck, list):
        model.neck[0].in_channels = width
        model.neck[1].in_channels = [width] * 4
    else:
        model.neck.in_channels = width
        model.decode_head.update(in_channels=[width] * 4, channels=width)
        if model.get('auxiliary_head'):
            model.auxiliary_head.update(in_channels=width, channels=width)
    return depth


@pytest.fixture(scope='module')
def det_data(tmp_path_factory, tool):
    tmp = tmp_path_factory.mktemp('det_data')
    dota = make_dota_dataset(str(tmp / 'dota'), num_images=1, size=128)
    dior = make_dior_dataset(str(tmp / 'dior'), num_trainval=2, num_test=1,
                             size=128)
    tool(['tools/dataset/dior_to_coco.py', dior])
    return dict(dota=dota, dior=dior)


def _det_batch(cfg, path, data):
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DATASETS
    if _scope(path) == 'mmdet':
        ds = cfg.train_dataloader.dataset
        ds.data_root = data['dior']
    else:  # DOTA-format data through the DOTA pipeline (as for DIOR-R)
        ds = dict(type='DOTADataset', data_root=data['dota'],
                  ann_file='trainval/annfiles/',
                  data_prefix=dict(img_path='trainval/images/'),
                  img_shape=(128, 128),
                  pipeline=_load(
                      'configs/dota/oriented-rcnn-le90_selectivemae-vit-'
                      'base-p16-sfp_fpn_4xb2-1x_dota-ss.py').train_pipeline)
    for t in ds['pipeline']:
        if t['type'].endswith('Resize'):
            t['scale'] = (128, 128)
    dataset = DATASETS.build(ds)
    return pseudo_collate([dataset[0]])


@pytest.mark.parametrize('path', LARGE + [
    p for p in VAIHINGEN if 'vit-base' in p], ids=osp.basename)
def test_config_takes_a_step_at_tiny_size(path, det_data, monkeypatch):
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import selective_mae.downstream.mmdet  # noqa: F401
    import selective_mae.downstream.mmrotate  # noqa: F401
    import selective_mae.downstream.mmseg  # noqa: F401
    monkeypatch.chdir(REPO)
    cfg = _load(path)
    scope = _scope(path)
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    depth = _narrow(cfg)
    if scope == 'mmseg':
        cfg.model.data_preprocessor.size = (128, 128)
        batch = make_seg_batch(cfg.model.decode_head.num_classes)
        expected = {'decode.loss_ce'}
    else:
        batch = _det_batch(cfg, path, det_data)
        expected = {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'}
    torch.manual_seed(0)
    model = revert_sync_batchnorm(registry.build(cfg.model)).train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    last = model.backbone.layers[depth - 1].attn.qkv.weight
    before = last.detach().clone()
    log_vars = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    assert expected <= set(log_vars)
    assert not torch.equal(before, last)
    decay = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    for g in optim_wrapper.optimizer.param_groups:
        assert g['lr_scale'] == pytest.approx(decay**(depth + 1 -
                                                      g['layer_id']))


@pytest.mark.parametrize('five', [False, True])
def test_vaihingen_label_maps(five, tmp_path, monkeypatch):
    """mmseg's ISPRS files (values 1..6, 0 on boundaries) -> 0..5, or 0..4
    with clutter ignored in the 5-class protocol."""
    from mmengine.registry import init_default_scope

    from mmseg.registry import DATASETS
    root = make_potsdam_dataset(str(tmp_path), num_train=1, num_val=1,
                                size=64)
    monkeypatch.chdir(REPO)
    name = 'vaihingen5' if five else 'vaihingen'
    cfg = _load(f'configs/vaihingen/upernet_selectivemae-vit-base-p16-sfp_'
                f'4xb2-80k_{name}-512x512.py')
    init_default_scope('mmseg')
    ds_cfg = cfg.val_dataloader.dataset
    assert (ds_cfg.type, ds_cfg.data_root) == ('ISPRSDataset',
                                               'data/vaihingen')
    assert cfg.train_dataloader.dataset.type == 'ISPRSDataset'
    ds_cfg.data_root = root
    ds_cfg.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs')
    ]
    dataset = DATASETS.build(ds_cfg)
    raw = np.array(Image.open(f'{root}/ann_dir/val/0.png'))
    label = dataset[0]['data_samples'].gt_sem_seg.data[0].numpy()
    assert (label[raw == 0] == 255).all()
    clutter = raw == POTSDAM_LABELS['clutter']
    assert clutter.any()
    assert (label[clutter] == (255 if five else 5)).all()
    for cls, value in POTSDAM_LABELS.items():
        if cls != 'clutter':
            assert (label[raw == value] == value - 1).all(), cls
    n = 5 if five else 6
    assert len(dataset.metainfo['classes']) == n
    assert cfg.model.decode_head.num_classes == n
