"""Scene classification data sets (AID, NWPU-RESISC45) and their splits."""
import os
import os.path as osp
import sys

import numpy as np
import pytest
from PIL import Image

from selective_mae.datasets import (AID, NWPURESISC45,
                                    SceneClassificationDataset,
                                    generate_scene_splits)
from selective_mae.datasets.scene_classification import (AID_CLASSES,
                                                         RESISC45_CLASSES)
from selective_mae.datasets.scene_splits import split_file_names

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COUNTS = {'Airport': 10, 'Beach': 7, 'Forest': 5}


def make_class_folders(root, counts, size=16, ext='.png'):
    """One folder per class with ``counts[cls]`` small images."""
    rng = np.random.default_rng(0)
    for cls, n in counts.items():
        os.makedirs(osp.join(root, cls), exist_ok=True)
        for i in range(n):
            img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            Image.fromarray(img).save(osp.join(root, cls, f'{cls}_{i}{ext}'))
    return str(root)


def read_list(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


@pytest.mark.parametrize('ratio,expected', [
    (10, {
        'Airport': 1,
        'Beach': 1,
        'Forest': 1
    }),
    (20, {
        'Airport': 2,
        'Beach': 1,
        'Forest': 1
    }),
    (50, {
        'Airport': 5,
        'Beach': 4,
        'Forest': 3
    }),
])
def test_splits_per_class_counts_disjoint_reproducible(tmp_path, ratio,
                                                       expected):
    root = make_class_folders(tmp_path / 'AID', COUNTS)
    paths = generate_scene_splits(root, list(COUNTS), ratio, seed=0)
    assert osp.basename(paths['train']) == f'train_tr{ratio}_seed0.txt'
    train, test = read_list(paths['train']), read_list(paths['test'])
    per_class = {c: sum(p.startswith(c + '/') for p in train) for c in COUNTS}
    assert per_class == expected
    assert not set(train) & set(test)
    everything = {
        f'{c}/{c}_{i}.png'
        for c, n in COUNTS.items()
        for i in range(n)
    }
    assert set(train) | set(test) == everything
    assert len(train) + len(test) == len(everything)

    again = generate_scene_splits(
        root, list(COUNTS), ratio, seed=0, out_dir=str(tmp_path / 'again'))
    assert read_list(again['train']) == train
    assert read_list(again['test']) == test
    other = generate_scene_splits(
        root, list(COUNTS), ratio, seed=1, out_dir=str(tmp_path / 'other'))
    # a class's split does not depend on the other classes listed
    beach = generate_scene_splits(root, ['Beach'], ratio, seed=0,
                                  out_dir=str(tmp_path / 'beach'))
    assert read_list(beach['train']) == [p for p in train
                                         if p.startswith('Beach/')]
    if ratio == 50:  # 5 of 10 airports: another seed draws others
        assert read_list(other['train']) != train


def test_dataset_reads_generated_split(tmp_path):
    root = make_class_folders(tmp_path / 'AID', COUNTS)
    generate_scene_splits(root, list(COUNTS), 50, seed=0)
    meta = dict(classes=list(COUNTS))
    train = AID(data_root=root, split='train', train_ratio=50, metainfo=meta)
    test = AID(data_root=root, split='val', train_ratio=50, metainfo=meta)
    assert len(train) == 12 and len(test) == 10
    for ds in (train, test):
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            cls = osp.basename(osp.dirname(info['img_path']))
            assert info['gt_label'] == list(COUNTS).index(cls)
            assert osp.isfile(info['img_path'])
    assert tuple(train.CLASSES) == tuple(COUNTS)


def test_dataset_accepts_user_split_and_checks_labels(tmp_path):
    root = make_class_folders(tmp_path / 'AID', COUNTS)
    user = tmp_path / 'my_split.txt'
    user.write_text('Forest/Forest_0.png 2\nAirport/Airport_3.png\n'
                    'Beach/Beach_1.png 1\n')
    ds = SceneClassificationDataset(
        data_root=root, ann_file=str(user), metainfo=dict(classes=COUNTS))
    assert [ds.get_data_info(i)['gt_label'] for i in range(3)] == [2, 0, 1]

    user.write_text('Forest/Forest_0.png 1\n')
    with pytest.raises(ValueError, match=r"label 1 disagrees.*'Forest'"):
        SceneClassificationDataset(
            data_root=root,
            ann_file=str(user),
            metainfo=dict(classes=['Forest', 'Beach']),
            allow_empty_classes=True)


def test_class_missing_from_split_or_disk_is_named(tmp_path):
    root = make_class_folders(tmp_path / 'AID', COUNTS)
    generate_scene_splits(root, list(COUNTS), 20, seed=0)
    with pytest.raises(ValueError, match=r"\['Bridge'\] have no image"):
        AID(data_root=root,
            train_ratio=20,
            metainfo=dict(classes=[*COUNTS, 'Bridge']))

    split = tmp_path / 'split.txt'
    split.write_text('Airport/Airport_0.png\nChurch/Church_1.png\n')
    with pytest.raises(
            FileNotFoundError,
            match=r"split.txt:2: class folder 'Church' is missing"):
        AID(data_root=root,
            ann_file=str(split),
            metainfo=dict(classes=['Airport', 'Church']))

    split.write_text('Airport/Airport_0.png\nbeach/x.png\n')
    with pytest.raises(ValueError, match=r"folder 'beach' is not a class"):
        AID(data_root=root,
            ann_file=str(split),
            metainfo=dict(classes=COUNTS),
            allow_empty_classes=True)

    with pytest.raises(FileNotFoundError, match='train_tr10_seed0.txt'):
        AID(data_root=root, train_ratio=10, metainfo=dict(classes=COUNTS))


def test_class_lists_and_split_tool(tmp_path, monkeypatch):
    assert len(AID.METAINFO['classes']) == 30 == len(set(AID_CLASSES))
    assert len(NWPURESISC45.METAINFO['classes']) == 45 == len(
        set(RESISC45_CLASSES))

    root = make_class_folders(
        tmp_path / 'RESISC', {c: 3
                              for c in RESISC45_CLASSES}, size=8)
    monkeypatch.syspath_prepend(osp.join(REPO, 'tools', 'dataset'))
    import make_scene_splits
    make_scene_splits.main([root, '--dataset', 'resisc45', '--seed', '3'])
    for ratio in (10, 20):
        names = split_file_names(ratio, 3)
        train = read_list(osp.join(root, 'splits', names['train']))
        test = read_list(osp.join(root, 'splits', names['test']))
        assert len(train) == 45 and len(test) == 90
    ds = NWPURESISC45(data_root=root, train_ratio=20, split_seed=3)
    assert len(ds) == 45
    sys.modules.pop('make_scene_splits', None)
