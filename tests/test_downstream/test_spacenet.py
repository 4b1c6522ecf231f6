"""SpaceNet v1 building extraction: the preparation tool against an
independent rasterisation, mmseg's mF1 on a hand-computed case, the real
config's training step, and a tiny-ViT UperNet trained through
tools/train.py and evaluated (mIoU, mF1)."""
import json
import os.path as osp
import re

import numpy as np
import pytest
import torch
from PIL import Image

from selective_mae.testing import (SPACENET_ORIGIN, SPACENET_PIXEL_DEG,
                                   make_seg_batch, make_spacenet_v1_raw)

CONFIG = ('configs/spacenet/upernet_selectivemae-vit-base-p16-sfp_8xb1-80k_'
          'spacenetv1-384x384.py')
TINY = ('tests/test_downstream/configs/'
        'upernet_vit-tiny-p16_fake-spacenetv1-64.py')


@pytest.fixture(scope='module')
def spacenet(tmp_path_factory, tool):
    tmp = tmp_path_factory.mktemp('spacenet')
    raw = make_spacenet_v1_raw(str(tmp / 'raw'), num_chips=5, size=64)
    out = tool(['tools/dataset/prepare_spacenet_v1.py', f'{raw}/3band',
                f'{raw}/geojson', tmp / 'spacenetv1', '--val-ratio', '0.4'
                ]).stdout
    assert '3 train and 2 val chips' in out, out
    return raw, str(tmp / 'spacenetv1')


def reference_label(geojson, size):
    """Pixel-centre rasterisation written independently of the tool:
    lon/lat -> pixels from the generator's own georeferencing, inclusion by
    matplotlib's point-in-path test, holes removed, footprints united."""
    from matplotlib.path import Path
    lon0, lat0 = SPACENET_ORIGIN
    s = SPACENET_PIXEL_DEG
    rows, cols = np.mgrid[0:size, 0:size]
    centres = np.stack([cols.ravel() + 0.5, rows.ravel() + 0.5], 1)
    label = np.zeros(size * size, bool)
    with open(geojson) as f:
        features = json.load(f)['features']
    for feature in features:
        geom = feature['geometry']
        if geom is None:
            continue
        polys = ([geom['coordinates']] if geom['type'] == 'Polygon' else
                 geom['coordinates'])
        for rings in polys:
            px = [np.array([[(lon - lon0) / s, (lat0 - lat) / s]
                            for lon, lat, _ in ring]) for ring in rings]
            inside = Path(px[0]).contains_points(centres)
            for hole in px[1:]:
                inside &= ~Path(hole).contains_points(centres)
            label |= inside
    return label.reshape(size, size).astype(np.uint8)


def test_labels_equal_an_independent_rasterisation(spacenet):
    raw, root = spacenet
    names = {split: open(f'{root}/splits/{split}.txt').read().split()
             for split in ('train', 'val')}
    assert sorted(names['train'] + names['val']) == sorted(
        f'3band_AOI_1_RIO_img{n}' for n in range(1, 6))
    total = 0
    for split, chips in names.items():
        for name in chips:
            n = name.rsplit('img', 1)[1]
            label = np.array(Image.open(f'{root}/{split}/labels/{name}.png'))
            ref = reference_label(
                f'{raw}/geojson/Geo_AOI_1_RIO_img{n}.geojson', 64)
            assert label.dtype == np.uint8 and label.shape == (64, 64)
            np.testing.assert_array_equal(label, ref, err_msg=name)
            total += int(ref.sum())
            img = np.array(Image.open(f'{root}/{split}/images/{name}.png'))
            src = np.array(Image.open(f'{raw}/3band/{name}.tif'))
            np.testing.assert_array_equal(img, src)
    # the comparison is not trivial: buildings, holes and empty chips
    assert 300 < total < 5 * 64 * 64 / 2


def test_unpaired_chips_fail_or_are_counted(tmp_path):
    import shutil

    from selective_mae.datasets.spacenet import prepare_spacenet_v1
    raw = make_spacenet_v1_raw(str(tmp_path / 'raw'), num_chips=2, size=32)
    shutil.copy(f'{raw}/3band/3band_AOI_1_RIO_img1.tif',
                f'{raw}/3band/3band_AOI_1_RIO_img7.tif')
    with pytest.raises(FileNotFoundError, match='img7.tif'):
        prepare_spacenet_v1(f'{raw}/3band', f'{raw}/geojson',
                            str(tmp_path / 'out'))
    counts = prepare_spacenet_v1(f'{raw}/3band', f'{raw}/geojson',
                                 str(tmp_path / 'out'), skip_unpaired=True)
    assert counts['unpaired'] == 1 and counts['train'] + counts['val'] == 2
    assert counts['repaired_polygons'] == 0


def test_invalid_footprint_is_repaired_and_counted(tmp_path):
    """A bow-tie ring (self-intersecting) becomes its two triangles."""
    from selective_mae.datasets.spacenet import (crs_to_pixel,
                                                 load_footprints,
                                                 rasterize_footprints)
    lon0, lat0 = SPACENET_ORIGIN
    s = SPACENET_PIXEL_DEG
    ring = [[lon0 + c * s, lat0 - r * s, 0.] for c, r in
            ((2, 2), (12, 12), (12, 2), (2, 12), (2, 2))]
    path = tmp_path / 'bowtie.geojson'
    path.write_text(json.dumps(dict(type='FeatureCollection', features=[
        dict(type='Feature', properties={},
             geometry=dict(type='Polygon', coordinates=[ring]))])))
    polygons, repaired = load_footprints(str(path))
    assert repaired == 1 and polygons[0].is_valid
    label, _ = rasterize_footprints(
        polygons, (16, 16), crs_to_pixel((s, 0., lon0, 0., -s, lat0)))
    # two triangles meeting at (7, 7): left and right, not top and bottom
    assert label[7, 3] and label[7, 11] and not label[3, 7]
    assert not label[11, 7]


def test_mfscore_on_a_hand_computed_two_class_case():
    """4 x 4 map, 6 building pixels; the prediction marks 5, 4 of them
    right. Building: TP 4, FP 1, FN 2 -> F1 = 2*4 / (2*4 + 1 + 2) = 8/11,
    IoU 4/7. Background: TP 9, FP 2, FN 1 -> F1 = 18/21, IoU 9/12.
    mF1 = (8/11 + 18/21) / 2 = 79.22 %, mIoU = 66.07 %."""
    from mmseg.evaluation import IoUMetric
    gt = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0],
                       [0, 0, 0, 0]])
    pred = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0],
                         [0, 0, 0, 0]])
    metric = IoUMetric(iou_metrics=['mIoU', 'mFscore'])
    metric.dataset_meta = dict(classes=('background', 'building'))
    metric.process({}, [
        dict(pred_sem_seg=dict(data=pred[None]),
             gt_sem_seg=dict(data=gt[None]))
    ])
    res = metric.evaluate(1)
    assert res['mFscore'] == pytest.approx(
        round(100 * (8 / 11 + 18 / 21) / 2, 2))
    assert res['mFscore'] == pytest.approx(79.22)
    assert res['mIoU'] == pytest.approx(round(100 * (4 / 7 + 9 / 12) / 2, 2))
    assert res['mPrecision'] == pytest.approx(
        round(100 * (4 / 5 + 9 / 11) / 2, 2))
    assert res['mRecall'] == pytest.approx(round(100 * (4 / 6 + 9 / 10) / 2,
                                                 2))


def test_dataset_and_real_config_step(spacenet, repo_root, monkeypatch):
    """The registered data set reads the prepared layout; the ViT-B UperNet
    of the real config (layer decay 0.9, no auxiliary head) takes one AdamW
    step on two 128 px crops."""
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    import selective_mae.downstream.mmseg  # noqa: F401
    from mmseg.registry import DATASETS, MODELS
    _, root = spacenet
    monkeypatch.chdir(repo_root)
    cfg = Config.fromfile(CONFIG)
    init_default_scope('mmseg')
    assert cfg.model.auxiliary_head is None
    assert cfg.model.decode_head.num_classes == 2
    assert cfg.model.test_cfg == dict(mode='slide', crop_size=(384, 384),
                                      stride=(256, 256))
    assert cfg.val_evaluator.iou_metrics == ['mIoU', 'mFscore']
    assert cfg.param_scheduler[-1].type == 'CosineAnnealingLR'
    assert cfg.param_scheduler[-1].end == cfg.train_cfg.max_iters == 80000

    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.data_root = root
    dataset = DATASETS.build(ds_cfg)
    assert len(dataset) == 2
    assert dataset.metainfo['classes'] == ('background', 'building')
    sample = dataset[0]['data_samples']
    name = osp.basename(sample.img_path)[:-4]
    raw = np.array(Image.open(f'{root}/val/labels/{name}.png'))
    np.testing.assert_array_equal(sample.gt_sem_seg.data[0].numpy(), raw)

    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (128, 128)
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).train()
    batch = make_seg_batch(2)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.backbone.layers[11].ffn.layers[1].weight.detach().clone()
    log_vars = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    assert 'decode.loss_ce' in log_vars and 'aux.loss_ce' not in log_vars
    assert not torch.equal(before,
                           model.backbone.layers[11].ffn.layers[1].weight)
    for group in optim_wrapper.optimizer.param_groups:
        assert group['lr_scale'] == pytest.approx(0.9**(13 -
                                                        group['layer_id']))


def test_tiny_vit_upernet_trains_and_reports_mf1(spacenet, tmp_path, tool):
    _, root = spacenet
    out = tool(['tools/train.py', TINY, '--work-dir', tmp_path / 'work',
                '--cfg-options', f'train_dataloader.dataset.data_root={root}',
                f'val_dataloader.dataset.data_root={root}',
                f'test_dataloader.dataset.data_root={root}'],
               timeout=300).stdout
    assert re.search(r'Iter\(train\) \[4/4\].*loss: \d', out), out[-3000:]
    m = re.search(r'mIoU: (\d+\.\d+).*mFscore: (\d+\.\d+)', out)
    assert m, out[-3000:]
    print(f'tiny SpaceNet v1 run: mIoU {m.group(1)}, mF1 {m.group(2)}')
    rows = re.findall(r'^\|\s*(\w+)\s*\|\s*[\d.na]+\s*\|', out, re.M)
    assert [r for r in rows if r != 'Class'] == ['background', 'building']
    assert osp.isfile(tmp_path / 'work' / 'iter_4.pth')
