"""The demo scene generator is deterministic for a seed."""
import hashlib
import os.path as osp

import numpy as np
from PIL import Image

from selective_mae.datasets.demo_data import generate_demo_dataset


def _digest(root, paths):
    return [hashlib.sha1((root / p).read_bytes()).hexdigest() for p in paths]


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = generate_demo_dataset(str(tmp_path / 'a'), 6, 48, seed=7)
    b = generate_demo_dataset(str(tmp_path / 'b'), 6, 48, seed=7)
    c = generate_demo_dataset(str(tmp_path / 'c'), 6, 48, seed=8)
    assert a == b == c
    assert _digest(tmp_path / 'a', a) == _digest(tmp_path / 'b', b)
    assert _digest(tmp_path / 'a', a) != _digest(tmp_path / 'c', c)
    img = np.asarray(Image.open(tmp_path / 'a' / a[0]))
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8
    assert img.std() > 5  # a scene, not a flat image


def test_scene_types_and_the_held_out_labelled_set(tmp_path):
    from mmpretrain.datasets import CustomDataset

    from selective_mae.datasets.demo_data import (
        HELDOUT_OFFSET, SCENE_TYPES, generate_labelled_demo_dataset,
        make_scene, scene_type)
    assert [scene_type(i) for i in range(6)] == list(SCENE_TYPES) + [
        'fields']
    items = generate_labelled_demo_dataset(str(tmp_path / 'lab'), 3, 48)
    assert len(items) == 15
    names = [p for p, _ in items]
    # held-out indices, folders by type, labels in folder order
    for path, label in items:
        folder, name = path.split('/')
        index = int(name[len('scene_'):-len('.png')])
        assert index >= HELDOUT_OFFSET and scene_type(index) == folder
        assert SCENE_TYPES[label] == folder
        np.testing.assert_array_equal(
            np.asarray(Image.open(tmp_path / 'lab' / path)),
            make_scene(0, index, 48))
    ds = CustomDataset(data_root=str(tmp_path / 'lab'))
    assert ds.CLASSES == SCENE_TYPES
    assert sorted(
        (osp.relpath(d['img_path'], tmp_path / 'lab'), d['gt_label'])
        for d in map(ds.get_data_info, range(len(ds)))) == sorted(items)
    lines = (tmp_path / 'lab' / 'labels.txt').read_text().split('\n')
    assert lines[:2] == [f'{names[0]} 0', f'{names[1]} 1']


def test_types_differ_in_structure_not_colour():
    from selective_mae.datasets.demo_data import SCENE_TYPES, make_scene
    imgs = np.stack([
        make_scene(0, 5 * j + k, 64).astype(float) for k in range(5)
        for j in range(20)
    ])  # 20 scenes per type, grouped by type
    labels = np.repeat(np.arange(5), 20)
    # panchromatic: the three channels are one band
    assert (imgs == imgs[..., :1]).all()
    # tones and brightness are drawn per scene, whatever the type: a
    # nearest-centroid classifier on the mean and std of the tone (leave one
    # out) is near chance (0.2)
    colour = np.stack([imgs.mean((1, 2, 3)), imgs.std((1, 2, 3))], 1)
    hits = 0
    for i in range(len(imgs)):
        rest = np.arange(len(imgs)) != i
        centroids = np.stack(
            [colour[rest & (labels == c)].mean(0) for c in range(5)])
        hits += np.argmin(((centroids - colour[i])**2).sum(1)) == labels[i]
    assert hits / len(imgs) < 0.4
    # structure differs: lakes are the flattest scenes, crop-row stripes
    # make the field patchworks the busiest
    grad = np.abs(np.diff(imgs.mean(-1), axis=2)).mean((1, 2))
    by_type = {t: grad[labels == k].mean() for k, t in enumerate(SCENE_TYPES)}
    assert by_type['water'] == min(by_type.values())
    assert by_type['fields'] == max(by_type.values())


def test_older_generator_scenes_are_redrawn(tmp_path):
    import json
    root = tmp_path / 'a'
    generate_demo_dataset(str(root), 2, 32, seed=1)
    fresh = (root / 'region_00' / 'scene_00000.png').read_bytes()
    meta = json.loads((root / 'demo_meta.json').read_text())
    meta.pop('version')  # what version 1 wrote
    (root / 'demo_meta.json').write_text(json.dumps(meta))
    Image.new('RGB', (32, 32)).save(root / 'region_00' / 'scene_00000.png')
    generate_demo_dataset(str(root), 2, 32, seed=1)
    assert (root / 'region_00' / 'scene_00000.png').read_bytes() == fresh
    import pytest
    with pytest.raises(ValueError, match='choose another folder'):
        generate_demo_dataset(str(root), 2, 32, seed=2)
