"""Horizontal detection with the pretrained ViT (mmdet): DIOR's XML files to
COCO json, the DIOR config's training step, and a tiny-ViT Faster R-CNN
trained through tools/train.py and evaluated with CocoMetric (mAP50)."""
import json
import os
import re

import pytest
import torch

from selective_mae.testing import make_dior_dataset

CONFIG = ('configs/dior/faster-rcnn_selectivemae-vit-base-p16-sfp_fpn_'
          '4xb1-1x_dior.py')
TINY = ('tests/test_downstream/configs/'
        'faster-rcnn_vit-tiny-p16_fake-dior-128.py')


@pytest.fixture(scope='module')
def dior_root(tmp_path_factory, tool):
    root = make_dior_dataset(str(tmp_path_factory.mktemp('dior')),
                             num_trainval=4, num_test=2, size=128)
    out = tool(['tools/dataset/dior_to_coco.py', root]).stdout
    assert '4 images (train+val), 12 boxes' in out, out
    return root


def test_dior_xml_to_coco(dior_root, tmp_path):
    from selective_mae.datasets.dior import (DIOR_CLASSES, dior_to_coco,
                                             parse_dior_xml)
    with open(f'{dior_root}/DIOR_test_coco.json') as f:
        coco = json.load(f)
    assert [c['name'] for c in coco['categories']] == list(DIOR_CLASSES)
    assert [im['file_name'] for im in coco['images']] == ['00005.jpg',
                                                          '00006.jpg']
    xml = parse_dior_xml(
        f'{dior_root}/Annotations/Horizontal Bounding Boxes/00005.xml')
    name, x1, y1, x2, y2 = xml['objects'][0]
    ann = [a for a in coco['annotations'] if a['image_id'] == 5][0]
    assert ann['bbox'] == [x1, y1, x2 - x1, y2 - y1]
    assert ann['category_id'] == DIOR_CLASSES.index(name) + 1
    # the files' 'Expressway-Service-area' is the lower-case class
    names = {o[0] for i in range(1, 7) for o in parse_dior_xml(
        f'{dior_root}/Annotations/Horizontal Bounding Boxes/{i:05d}.xml')
        ['objects']}
    assert 'expressway-service-area' in names

    bad = f'{dior_root}/Annotations/Horizontal Bounding Boxes/00001.xml'
    text = open(bad).read()
    try:
        with open(bad, 'w') as f:
            f.write(text.replace('<name>', '<name>helicopter', 1))
        with pytest.raises(ValueError, match="00001.xml: class 'helicopter"):
            dior_to_coco(dior_root, ['train'], 'JPEGImages-trainval',
                         str(tmp_path / 'x.json'))
    finally:
        with open(bad, 'w') as f:
            f.write(text)
    assert not (tmp_path / 'x.json').exists()


def test_missing_categories_are_named(dior_root, tmp_path):
    from mmengine.registry import init_default_scope

    import selective_mae.downstream.mmdet  # noqa: F401
    from mmdet.registry import DATASETS
    init_default_scope('mmdet')
    with open(f'{dior_root}/DIOR_test_coco.json') as f:
        coco = json.load(f)
    coco['categories'] = [c for c in coco['categories']
                          if c['name'] != 'windmill']
    with open(tmp_path / 'partial.json', 'w') as f:
        json.dump(coco, f)
    with pytest.raises(ValueError, match=r"\['windmill'\] of DIORCoco"):
        DATASETS.build(dict(type='DIORCocoDataset', data_root=dior_root,
                            ann_file=str(tmp_path / 'partial.json'),
                            data_prefix=dict(img='JPEGImages-test/'),
                            pipeline=[]))


def test_real_config_trains_one_step(dior_root, repo_root, monkeypatch):
    """ViT-B Faster R-CNN of the real config (layer decay 0.9 over 12
    blocks), one AdamW step at batch 1 on a 128 px generated image through
    the config's own training pipeline."""
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    from mmdet.registry import DATASETS, MODELS
    monkeypatch.chdir(repo_root)
    cfg = Config.fromfile(CONFIG)
    init_default_scope('mmdet')
    assert cfg.model.type == 'FasterRCNN'
    assert cfg.model.roi_head.bbox_head.num_classes == 20
    assert cfg.val_evaluator.type == 'CocoMetric'
    assert cfg.train_dataloader.batch_size == 1
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.9
    assert cfg.model.neck[0].norm_cfg.type == 'SyncBN'
    cfg.model.backbone.init_cfg = None
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).train()
    norm = model.neck[0].branches[0][1]  # BN after mmengine's revert
    assert isinstance(norm, torch.nn.modules.batchnorm._BatchNorm)
    assert not isinstance(norm, torch.nn.SyncBatchNorm)
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = dior_root
    ds_cfg.pipeline[2]['scale'] = (128, 128)
    dataset = DATASETS.build(ds_cfg)
    assert len(dataset) == 4
    batch = pseudo_collate([dataset[0]])
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.backbone.layers[0].attn.qkv.weight.detach().clone()
    log_vars = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls',
            'loss_bbox'} <= set(log_vars)
    assert not torch.equal(before, model.backbone.layers[0].attn.qkv.weight)
    for group in optim_wrapper.optimizer.param_groups:
        assert group['lr_scale'] == pytest.approx(0.9**(13 -
                                                        group['layer_id']))


def test_tiny_vit_faster_rcnn_trains_and_reports_map50(dior_root, tmp_path,
                                                        tool):
    out = tool(['tools/train.py', TINY, '--work-dir', tmp_path / 'work',
                '--cfg-options',
                f'train_dataloader.dataset.data_root={dior_root}/',
                f'val_dataloader.dataset.data_root={dior_root}/',
                f'test_dataloader.dataset.data_root={dior_root}/',
                f'val_evaluator.ann_file={dior_root}/DIOR_test_coco.json',
                f'test_evaluator.ann_file={dior_root}/DIOR_test_coco.json'],
               timeout=300).stdout
    assert re.search(r'Iter\(train\) \[2/2\].*loss: \d', out), out[-3000:]
    m = re.search(r'coco/bbox_mAP_50: (\d\.\d+)', out)
    assert m, out[-3000:]
    print(f'tiny DIOR run: coco/bbox_mAP_50 = {m.group(1)}')
    assert 0 <= float(m.group(1)) <= 1
    assert os.path.isfile(tmp_path / 'work' / 'iter_2.pth')
