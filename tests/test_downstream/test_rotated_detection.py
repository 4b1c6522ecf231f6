"""Oriented detection with the pretrained ViT (mmrotate): the real DOTA /
DIOR-R configs build and take a training step on the CPU; a tiny-ViT Oriented
R-CNN trains through tools/train.py and evaluates with DOTAMetric; the
inference tool draws the boxes."""
import os.path as osp
import re

import numpy as np
import pytest
import torch

from selective_mae.testing import make_dota_dataset

CONFIGS = {
    'dota-ss': 'configs/dota/oriented-rcnn-le90_selectivemae-vit-base-p16-'
    'sfp_fpn_4xb2-1x_dota-ss.py',
    'dota-ms': 'configs/dota/oriented-rcnn-le90_selectivemae-vit-base-p16-'
    'sfp_fpn_4xb2-1x_dota-ms.py',
    'dior-r': 'configs/dior/oriented-rcnn-le90_selectivemae-vit-base-p16-'
    'sfp_fpn_4xb2-1x_dior-r.py',
}
TINY = ('tests/test_downstream/configs/'
        'oriented-rcnn_vit-tiny-p16_fake-dota-128.py')


def _load_cfg(path):
    from mmengine.config import Config
    return Config.fromfile(path)


@pytest.mark.parametrize('name', ['dota-ss', 'dior-r'])
def test_real_config_trains_one_step(name, repo_root, tmp_path, monkeypatch):
    """ViT-B, real recipe (window attention, checkpointing, layer decay,
    grad clip), one AdamW step at batch 1 on a 128 px generated image."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmrotate.registry import DATASETS, MODELS

    monkeypatch.chdir(repo_root)
    cfg = _load_cfg(CONFIGS[name])
    init_default_scope('mmrotate')
    num_classes = cfg.model.roi_head.bbox_head.num_classes
    assert num_classes == {'dota-ss': 15, 'dior-r': 20}[name]
    assert cfg.model.backbone.type == 'PlainViT'
    # DOTA: RVSA's 0.75; DIOR-R: the authors' released 0.9
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == \
        {'dota-ss': 0.75, 'dior-r': 0.9}[name]
    assert cfg.optim_wrapper.clip_grad.max_norm == 35
    assert cfg.custom_hooks == [dict(type='FiniteLossHook')]

    # the pyramid's norm: SyncBN, not LN2d (docs/detection.md, "Adapter
    # check": LN2d diverged at lr 1e-3 in 3 of 3 seeds)
    assert cfg.model.neck[0].norm_cfg.type == 'SyncBN'
    cfg.model.backbone.init_cfg = None
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).train()
    norm = model.neck[0].branches[0][1]  # BN after mmengine's revert
    assert isinstance(norm, torch.nn.modules.batchnorm._BatchNorm)
    assert not isinstance(norm, torch.nn.SyncBatchNorm)
    root = make_dota_dataset(str(tmp_path), num_images=1, size=128)
    pipeline = _load_cfg(CONFIGS['dota-ss']).train_pipeline
    assert pipeline[3]['type'] == 'mmdet.Resize'
    pipeline[3]['scale'] = (128, 128)
    dataset = DATASETS.build(
        dict(type='DOTADataset', data_root=root,
             ann_file='trainval/annfiles/',
             data_prefix=dict(img_path='trainval/images/'),
             img_shape=(128, 128), pipeline=pipeline))
    from mmengine.dataset import pseudo_collate
    batch = pseudo_collate([dataset[0]])
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.backbone.layers[0].attn.qkv.weight.detach().clone()
    log_vars = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls',
            'loss_bbox'} <= set(log_vars)
    assert not torch.equal(before, model.backbone.layers[0].attn.qkv.weight)
    # Layer decay table on the real detector: every group's multiplier is
    # decay ** (13 - depth), backbone layer N at depth N + 1.
    decay = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    for group in optim_wrapper.optimizer.param_groups:
        assert group['lr_scale'] == pytest.approx(decay**(13 -
                                                          group['layer_id']))
        for pname in group['param_names']:
            m = re.match(r'backbone\.layers\.(\d+)\.', pname)
            if m:
                assert group['layer_id'] == int(m.group(1)) + 1, pname
            elif pname.startswith(('neck.', 'rpn_head.', 'roi_head.')):
                assert group['layer_id'] == 13, pname


def test_multiscale_config():
    cfg = _load_cfg(CONFIGS['dota-ms'])
    ds = cfg.train_dataloader.dataset
    assert ds.data_root == 'data/split_ms_dota/'
    assert 'RandomRotate' in [t['type'] for t in ds.pipeline]
    assert cfg.test_dataloader.dataset.data_root == 'data/split_ms_dota/'
    assert cfg.test_evaluator.merge_patches and cfg.test_evaluator.format_only
    ss = _load_cfg(CONFIGS['dota-ss'])
    assert cfg.model == ss.model and cfg.optim_wrapper == ss.optim_wrapper


@pytest.fixture(scope='module')
def tiny_detector_run(tmp_path_factory, tool):
    tmp = tmp_path_factory.mktemp('det')
    root = make_dota_dataset(str(tmp / 'dota'), num_images=2, size=128)
    out = tool(['tools/train.py', TINY, '--work-dir', tmp / 'work',
                    '--cfg-options',
                    f'train_dataloader.dataset.data_root={root}',
                    f'val_dataloader.dataset.data_root={root}',
                    f'test_dataloader.dataset.data_root={root}'],
                   timeout=400).stdout
    return tmp, root, out


def test_tiny_vit_oriented_rcnn_trains_and_evaluates(tiny_detector_run):
    tmp, _, out = tiny_detector_run
    assert re.search(r'Iter\(train\) \[2/2\].*loss: \d', out), out[-3000:]
    assert re.search(r'dota/mAP: \d\.\d+', out), out[-3000:]
    assert 'nan' not in re.findall(r'loss: (\S+)', out)
    assert osp.isfile(tmp / 'work' / 'iter_2.pth')


def test_inference_tool_draws_boxes(tiny_detector_run, tool):
    from PIL import Image
    tmp, root, _ = tiny_detector_run
    image = f'{root}/trainval/images/P0000.png'
    out_png = tmp / 'boxes.png'
    out = tool(['tools/inference/detect_rotated.py', image, TINY,
                    tmp / 'work' / 'iter_2.pth', '--out', out_png,
                    '--score-thr', '0']).stdout
    n = int(re.search(r'(\d+) boxes \(score >= 0.0\)', out).group(1))
    assert n > 0, out
    drawn = np.asarray(Image.open(out_png).convert('RGB'))
    src = np.asarray(Image.open(image).convert('RGB'))
    assert drawn.shape == src.shape
    assert (drawn != src).any(axis=2).sum() > 50


def test_draw_rotated_boxes_pixels():
    from selective_mae.downstream.mmrotate import (draw_rotated_boxes,
                                                   rotated_boxes_to_corners)
    img = np.zeros((100, 100, 3), np.uint8)
    box = torch.tensor([[50., 50., 40., 20., 0.]])
    corners = rotated_boxes_to_corners(box)[0]
    assert sorted(map(tuple, corners.round().astype(int).tolist())) == \
        [(30, 40), (30, 60), (70, 40), (70, 60)]
    out = draw_rotated_boxes(img, box, torch.tensor([0]), torch.tensor([0.9]),
                             ['plane'], palette=[(255, 0, 0)], thickness=1)
    b, g, r = out[40, 50]  # on the top edge: red (BGR), anti-aliased
    assert b == 0 and g == 0 and r > 200
    assert tuple(out[50, 50]) == (0, 0, 0)  # inside untouched
    skipped = draw_rotated_boxes(img, box, torch.tensor([0]),
                                 torch.tensor([0.1]), ['plane'])
    assert not skipped.any()
