"""The downstream stack with the plugin imported: a stock rotated detector
(mmrotate) and a stock segmentor (mmseg) train a few iterations and evaluate
through tools/train.py on generated data in the benchmarks' formats."""
import re

import numpy as np
from PIL import Image

from selective_mae.testing import (POTSDAM_LABELS, make_dota_dataset,
                                   make_potsdam_dataset)

CFG_DIR = 'tests/test_foundation/configs'


def test_fake_dota_format(tmp_path):
    root = make_dota_dataset(str(tmp_path), num_images=2, size=64)
    lines = open(f'{root}/trainval/annfiles/P0001.txt').read().split('\n')
    fields = lines[0].split()
    assert len(fields) == 10 and fields[8] in ('plane', 'baseball-diamond',
                                               'bridge')
    pts = np.array(fields[:8], float).reshape(4, 2)
    assert ((pts >= 0) & (pts <= 64)).all()
    assert Image.open(f'{root}/trainval/images/P0001.png').size == (64, 64)


def test_oriented_rcnn_trains_and_evaluates(tool, tmp_path):
    root = make_dota_dataset(str(tmp_path / 'dota'), num_images=2, size=256)
    out = tool(['tools/train.py',
                f'{CFG_DIR}/oriented-rcnn-le90_r18_fpn_fake-dota.py',
                '--work-dir', tmp_path / 'work', '--cfg-options',
                f'train_dataloader.dataset.data_root={root}',
                f'val_dataloader.dataset.data_root={root}',
                f'test_dataloader.dataset.data_root={root}'],
               timeout=400).stdout
    assert re.search(r'Iter\(train\) \[2/2\].*loss: \d', out), out[-3000:]
    assert re.search(r'dota/mAP: \d\.\d+', out), out[-3000:]
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()


def test_pspnet_trains_and_evaluates(tool, tmp_path):
    root = make_potsdam_dataset(str(tmp_path / 'potsdam'), num_train=4,
                                num_val=2, size=128)
    label = np.array(Image.open(f'{root}/ann_dir/train/0.png'))
    assert set(np.unique(label)) <= {0, *POTSDAM_LABELS.values()}
    out = tool(['tools/train.py',
                f'{CFG_DIR}/pspnet_r18-d8_fake-potsdam-128x128.py',
                '--work-dir', tmp_path / 'work', '--cfg-options',
                f'train_dataloader.dataset.data_root={root}',
                f'val_dataloader.dataset.data_root={root}',
                f'test_dataloader.dataset.data_root={root}'],
               timeout=300).stdout
    assert re.search(r'Iter\(train\) \[4/4\].*loss: \d', out), out[-3000:]
    assert re.search(r'mIoU: \d+\.\d+', out), out[-3000:]
