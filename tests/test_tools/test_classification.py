"""Scene classification configs: build, one step each, and a tiny
fine-tune through tools/train.py and tools/test.py."""
import glob
import os
import os.path as osp
import re

import numpy as np
import pytest
import torch
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


CONFIGS = sorted(
    glob.glob(
        osp.join(REPO, 'configs', 'classification', 'selectivemae_*.py')))


def make_class_folders(root, classes, per_class, size):
    rng = np.random.default_rng(0)
    for k, cls in enumerate(classes):
        os.makedirs(osp.join(root, cls), exist_ok=True)
        for i in range(per_class):
            # a class-dependent colour plus noise, so classes are learnable
            img = rng.integers(0, 60, (size, size, 3)) + (k * 70) % 196
            Image.fromarray(img.astype(np.uint8)).save(
                osp.join(root, cls, f'{i}.png'))
    return str(root)


@pytest.fixture(scope='module')
def scene_roots(tmp_path_factory):
    from selective_mae.datasets.scene_classification import (
        AID_CLASSES, RESISC45_CLASSES, UCM_CLASSES)
    from selective_mae.datasets.scene_splits import generate_scene_splits
    roots = {}
    for name, classes in (('AID', AID_CLASSES),
                          ('NWPURESISC45', RESISC45_CLASSES),
                          ('UCMerced', UCM_CLASSES)):
        root = make_class_folders(
            tmp_path_factory.mktemp(name), classes, per_class=2, size=40)
        for ratio in (10, 20, 50, 80):
            generate_scene_splits(root, classes, ratio, seed=0)
        roots[name] = root
    return roots


def test_config_set_is_complete():
    names = {osp.basename(c) for c in CONFIGS}
    for data, ratios in (('aid', (20, 50)), ('resisc45', (10, 20)),
                         ('ucm', (80, ))):
        for r in ratios:
            for arch in ('base', 'large'):
                assert (f'selectivemae_vit-{arch}-p16_8xb64-ft-coslr-100e_'
                        f'{data}-tr{r}.py') in names
                assert (f'selectivemae_vit-{arch}-p16_8xb128-linear-coslr-'
                        f'100e_{data}-tr{r}.py') in names
    assert len(names) == 20


@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_config_builds_and_steps_at_batch_2(config, scene_roots):
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS, MODELS

    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    ds_cfg = cfg.train_dataloader.dataset
    num_classes = {'AID': 30, 'NWPURESISC45': 45, 'UCMerced': 21}[ds_cfg.type]
    assert cfg.model.head.num_classes == num_classes
    assert cfg.data_preprocessor.num_classes == num_classes
    ds_cfg.data_root = scene_roots[ds_cfg.type]
    dataset = DATASETS.build(ds_cfg)
    assert len(dataset) == num_classes  # one training image per class
    test_cfg = cfg.test_dataloader.dataset
    test_cfg.data_root = scene_roots[ds_cfg.type]
    assert len(DATASETS.build(test_cfg)) == num_classes

    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    if config.endswith('aid-tr20.py') and '_vit-base-' in config:
        # the real size builds (ViT-L: tests/test_downstream/test_vit_large)
        vit_b = MODELS.build(cfg.model)
        assert vit_b.backbone.embed_dims == 768
        assert len(vit_b.backbone.layers) == 12
        del vit_b
    # the step itself on a narrower ViT (width 192, the config's depth: 12
    # for ViT-B, 24 for ViT-L) to save time
    large = cfg.model.backbone.arch == 'large'
    depth = 24 if large else 12
    assert large == ('_vit-large-' in config)
    cfg.model.backbone.arch = dict(
        embed_dims=192, num_layers=depth, num_heads=3,
        feedforward_channels=768)
    if cfg.model.get('neck'):
        cfg.model.neck.input_features = 192
    cfg.model.head.in_channels = 192
    model = MODELS.build(cfg.model)
    model.train()
    batch = model.data_preprocessor(
        pseudo_collate([dataset[0], dataset[num_classes - 1]]), True)
    assert batch['inputs'].shape == (2, 3, 224, 224)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    losses = model(**batch, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss)
    head_before = model.head.state_dict()
    head_before = {k: v.clone() for k, v in head_before.items()}
    optim.update_params(loss)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable and all(
        p.grad is None or torch.isfinite(p.grad).all() for p in trainable)
    assert any(not torch.equal(v,
                               model.head.state_dict()[k])
               for k, v in head_before.items())
    if '-linear-' in config:
        assert all(not p.requires_grad for p in model.backbone.parameters())
    else:
        # layer decay 0.75 over 12 (24) blocks: patch embedding at
        # 0.75 ** 13 (0.75 ** 25), block N at 0.75 ** (depth - N)
        groups = {
            id(p): g
            for g in optim.optimizer.param_groups
            for p in g['params']
        }
        embed = groups[id(model.backbone.patch_embed.projection.weight)]
        head = groups[id(model.head.fc.weight)]
        assert embed['lr'] == pytest.approx(head['lr'] * 0.75**(depth + 1))
        last = groups[id(model.backbone.layers[depth - 1].attn.qkv.weight)]
        assert last['lr'] == pytest.approx(head['lr'] * 0.75)


TINY_CFG = """
_base_ = '{base}'
model = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=64, num_layers=2, num_heads=4,
                  feedforward_channels=128),
        img_size=32, patch_size=8,
        init_cfg=dict(checkpoint='{pretrained}')),
    head=dict(num_classes=3, in_channels=64))
data_preprocessor = dict(num_classes=3)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=32, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2,
         total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand',
         min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=[103.53, 116.28, 123.675],
         fill_std=[57.375, 57.12, 58.395]),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=36, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
classes = ['Airport', 'Beach', 'Forest']
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root='{root}', metainfo=dict(classes=classes),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root='{root}', metainfo=dict(classes=classes),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=10, val_interval=10)
default_hooks = dict(logger=dict(interval=4))
# the recipe's batch-scaled lr (3.9e-6 at batch 4) would need far more steps
auto_scale_lr = dict(enable=False)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=8, by_epoch=True, begin=2, end=10,
         eta_min=1e-6, convert_to_iter_based=True),
]
"""


def test_tiny_finetune_reports_top1(tmp_path, tool):
    from mmpretrain.models import VisionTransformer

    from selective_mae.datasets.scene_splits import generate_scene_splits
    from selective_mae.checkpoint import mmpretrain_to_timm

    root = make_class_folders(
        tmp_path / 'AID', ['Airport', 'Beach', 'Forest'],
        per_class=10,
        size=40)
    generate_scene_splits(root, ['Airport', 'Beach', 'Forest'], 50, seed=0)
    # a "released" (timm layout) tiny encoder, pretrained at 64 px
    torch.manual_seed(0)
    vit = VisionTransformer(
        arch=dict(
            embed_dims=64, num_layers=2, num_heads=4,
            feedforward_channels=128),
        img_size=64,
        patch_size=8)
    torch.save({'model': mmpretrain_to_timm(vit.state_dict())},
               tmp_path / 'released.pth')
    cfg = tmp_path / 'tiny_aid_ft.py'
    cfg.write_text(
        TINY_CFG.format(
            base=osp.join(
                REPO, 'configs', 'classification',
                'selectivemae_vit-base-p16_8xb64-ft-coslr-100e_aid-tr50.py'),
            pretrained=tmp_path / 'released.pth',
            root=root))

    work = tmp_path / 'work'
    from tools.train import main as train
    train([str(cfg), '--work-dir', str(work)])
    log = open(glob.glob(str(work / '*' / '*.log'))[0]).read()
    assert re.search(r'Loaded \d+ encoder tensors \(timm layout\)', log), \
        log[-3000:]
    assert 'Epoch(train) [10][4/4]' in log, log[-3000:]
    assert re.search(r'Epoch\(val\) \[10\]\[\d+/\d+\]\s+accuracy/top1', log)
    assert osp.isfile(work / 'epoch_10.pth')

    out = tool([
        'tools/test.py', cfg, work / 'epoch_10.pth', '--work-dir',
        tmp_path / 'test'
    ]).stdout
    top1 = re.search(r'accuracy/top1: ([\d.]+)', out)
    assert top1, out[-3000:]
    # 3 colour-coded classes, 5 test images each: chance is 33%
    assert float(top1.group(1)) >= 60.0, out[-3000:]
