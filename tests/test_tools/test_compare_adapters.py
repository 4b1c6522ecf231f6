"""tools/analysis_tools/compare_adapters.py and the generated scenes it
trains on."""
import json

import numpy as np
import pytest

FIELDS = ['candidate', 'preset', 'overrides', 'mIoU per seed', 'mIoU mean',
          'std', 'final loss', 's/iter']


def _table(out, metric):
    """The printed table's header fields and rows (as field lists)."""
    lines = out.splitlines()
    start = [i for i, ln in enumerate(lines)
             if ln.startswith('| candidate |')]
    assert len(start) == 1, out[-3000:]
    lines = lines[start[0]:]
    lines = lines[:next((i for i, ln in enumerate(lines)
                         if not ln.startswith('|')), len(lines))]
    rows = [[c.strip() for c in ln.strip('|').split('|')] for ln in lines
            if not ln.startswith('|---')]
    header = rows[0]
    assert header == [f.replace('mIoU', metric) for f in FIELDS], out[-2000:]
    return header, rows[1:]


def test_potsdam_shapes_need_more_than_colour():
    """All six classes (and ignored boundary pixels) are present, and a
    per-pixel nearest-class-colour rule is far from solving the labels."""
    from selective_mae.testing import POTSDAM_LABELS, potsdam_shape_scene
    imgs, labels = zip(*[potsdam_shape_scene(0, 'train', i, 128)
                         for i in range(6)])
    img = np.concatenate([i.reshape(-1, 3) for i in imgs]).astype(float)
    lab = np.concatenate([lb.reshape(-1) for lb in labels])
    assert set(np.unique(lab)) == {0, *POTSDAM_LABELS.values()}
    keep = lab > 0
    img, lab = img[keep], lab[keep]
    classes = sorted(POTSDAM_LABELS.values())
    means = np.stack([img[lab == c].mean(0) for c in classes])
    nearest = np.array(classes)[np.argmin(
        ((img[:, None] - means[None])**2).sum(-1), 1)]
    assert (nearest == lab).mean() < 0.8
    again, _ = potsdam_shape_scene(0, 'train', 3, 128)
    assert np.array_equal(again, imgs[3])
    other, _ = potsdam_shape_scene(0, 'val', 3, 128)
    assert not np.array_equal(other, imgs[3])


def test_dota_shapes_layout(tmp_path):
    from selective_mae.testing import DOTA_SHAPE_CLASSES, make_dota_shapes
    root = make_dota_shapes(str(tmp_path), splits=(('trainval', 3), ),
                            size=96)
    for i in range(3):
        lines = open(f'{root}/trainval/annfiles/P{i:04d}.txt').read()
        lines = lines.strip().split('\n')
        assert len(lines) >= 2
        for line in lines:
            fields = line.split()
            assert len(fields) == 10 and fields[9] == '0'
            assert fields[8] in DOTA_SHAPE_CLASSES
            pts = np.array(fields[:8], float).reshape(4, 2)
            assert ((pts >= 0) & (pts <= 96)).all()
            sides = np.linalg.norm(pts - np.roll(pts, 1, 0), axis=1)
            assert sides.min() > 5  # a real object, not a point


def test_dota_shapes_object_size():
    """Objects keep to the asked length range and their boxes stay inside
    the image at any angle, also at the largest size; bad ranges name the
    bad value."""
    from selective_mae.testing import dota_shape_scene
    lengths = []
    for i in range(8):
        _, objects = dota_shape_scene(0, 'trainval', i, 128, max_objects=4,
                                      object_size=(0.4, 0.7))
        assert 1 <= len(objects) <= 4  # large ones may leave no room
        for box, _ in objects:
            assert ((box >= 0) & (box <= 128)).all()
            sides = np.linalg.norm(box - np.roll(box, 1, 0), axis=1)
            lengths.append(sides.max())
    assert 0.4 * 128 - 1e-6 <= min(lengths) and max(lengths) <= 0.7 * 128
    with pytest.raises(ValueError, match='object_size'):
        dota_shape_scene(0, 'trainval', 0, 128, object_size=(0.3, 0.8))
    with pytest.raises(ValueError, match='max_objects 1'):
        dota_shape_scene(0, 'trainval', 0, 128, max_objects=1)


def test_presets_build(tmp_path, repo_root):
    """``ours-before`` puts BN back in the pyramid and its hook gives the
    blocks back the weights they were built with (PyTorch's default init),
    after ``init_weights`` set the ViT-standard one; ``ours-mln`` is
    PlainViT + mmseg's MultiLevelNeck."""
    import runpy

    import torch
    from mmengine.registry import MODELS, init_default_scope

    import selective_mae  # noqa: F401
    mod = runpy.run_path(
        f'{repo_root}/tools/analysis_tools/compare_adapters.py')
    args = mod['parse_args'](['seg', '--work-dir', str(tmp_path),
                              '--embed-dims', '32', '--heads', '2'])
    seg = {p: mod['seg_config'](p, args, str(tmp_path), str(tmp_path), 0, p)
           for p in ('ours', 'ours-before', 'ours-mln')}
    assert seg['ours'].model.neck.norm_cfg.type == 'LN2d'
    assert seg['ours-before'].model.neck.norm_cfg.type == 'BN'
    assert seg['ours-mln'].model.neck.type == 'mmseg.MultiLevelNeck'
    assert seg['ours-mln'].model.backbone.type == 'PlainViT'
    rot_args = mod['parse_args'](['rotated', '--work-dir', str(tmp_path)])
    rot = mod['rotated_config']('ours-before', rot_args, str(tmp_path),
                                str(tmp_path), 0, 'b')
    assert rot.model.neck[0].type == 'SimpleFeaturePyramid'
    assert rot.model.neck[0].norm_cfg.type == 'BN'
    # ours is the DOTA config's pyramid as shipped (SyncBN, BN on one process)
    rot_ours = mod['rotated_config']('ours', rot_args, str(tmp_path),
                                     str(tmp_path), 0, 'o')
    assert rot_ours.model.neck[0].norm_cfg.type == 'SyncBN'

    init_default_scope('mmseg')
    vit = MODELS.build(seg['ours-before'].model.backbone)
    hook = mod['keep_built_blocks'](vit.layers)
    built = vit.layers[0].ffn.layers[0][0].weight.detach().clone()
    vit.init_weights()
    w = vit.layers[0].ffn.layers[0][0].weight
    assert abs(w.std().item() - 0.02) < 0.005  # the fix's trunc normal
    hook.before_train(None)
    assert torch.equal(w, built)
    # PyTorch's Linear default: uniform(+-1/sqrt(fan_in)), std 1/sqrt(3 fan_in)
    assert abs(w.std().item() - (3 * 32)**-0.5) < 0.01
    assert vit.layers[1].attn.qkv.bias.abs().max() > 0.02  # not zeros


@pytest.mark.parametrize('task,metric', [('seg', 'mIoU'), ('rotated', 'mAP')])
def test_compare_adapters_table(tool, tmp_path, task, metric):
    work = tmp_path / task
    size = ['--crop', '64', '--tile', '64'] if task == 'seg' else \
        ['--crop', '96']
    # every preset the task has, and a --set variant
    presets = ['ours', 'ref', 'ours-before'] + \
        (['ours-mln'] if task == 'seg' else [])
    labels = presets + ['ours-dp0']
    out = tool([
        'tools/analysis_tools/compare_adapters.py', task, '--work-dir', work,
        '--seeds', '0', '--iters', '2', '--batch-size', '2',
        '--embed-dims', '32', '--depth', '4', '--heads', '2',
        '--head-channels', '16', '--num-train', '2', '--num-val', '1',
        '--candidates', *presets, 'ours-dp0=ours',
        '--set', 'ours-dp0', 'model.backbone.drop_path_rate=0.0', *size
    ], timeout=600).stdout
    header, rows = _table(out, metric)
    assert [r[0] for r in rows] == labels
    assert [r[1] for r in rows] == presets + ['ours']
    assert rows[-1][2] == 'model.backbone.drop_path_rate=0.0'
    for r in rows:
        value = float(r[3])
        assert 0 <= value <= 100 and float(r[4]) == value
        assert float(r[5]) == 0  # one seed
        assert np.isfinite(float(r[6])) and float(r[7]) > 0
    result = json.loads((work / 'compare_adapters.json').read_text())
    assert result['task'] == task and result['metric'] == metric
    assert result['settings']['iters'] == 2
    assert [s['candidate'] for s in result['summary']] == labels
    runs = {r['candidate']: r for r in result['runs']}
    assert set(runs) == set(labels)
    for r in runs.values():
        assert r['seed'] == 0 and r['metric'] == r[metric]
    # same head in both candidates, different backbone / neck
    heads = [k for k in runs['ours']['params']
             if k not in ('backbone', 'neck')]
    assert heads
    for k in heads:
        assert runs['ours']['params'][k] == runs['ref']['params'][k]
    assert runs['ours']['params']['backbone'] != \
        runs['ref']['params']['backbone']
    # ours-before: our backbone and pyramid (BN has as many parameters as
    # LN2d); ours-mln: our backbone, the reference's neck
    assert runs['ours-before']['params'] == runs['ours']['params']
    if task == 'seg':
        assert runs['ours-mln']['params']['backbone'] == \
            runs['ours']['params']['backbone']
        assert runs['ours-mln']['params']['neck'] == \
            runs['ref']['params']['neck']


def test_bad_candidates(tmp_path, repo_root):
    import runpy
    mod = runpy.run_path(
        f'{repo_root}/tools/analysis_tools/compare_adapters.py')
    with pytest.raises(SystemExit):
        mod['parse_args'](['seg', '--work-dir', str(tmp_path),
                           '--candidates', 'x=nope'])
    with pytest.raises(SystemExit):
        mod['parse_args'](['seg', '--work-dir', str(tmp_path),
                           '--set', 'other', 'a=1'])
    args = mod['parse_args'](['seg', '--work-dir', str(tmp_path),
                              '--candidates', 'ours', 'v=ours', '--set', 'v',
                              'model.neck.norm_cfg.type=BN'])
    assert args.presets == {'ours': 'ours', 'v': 'ours'}
    assert args.overrides['v'] == {'model.neck.norm_cfg.type': 'BN'}
    assert mod['_out_indices'](12) == (2, 5, 8, 11)
    with pytest.raises(SystemExit):  # MultiLevelNeck is a segmentation neck
        mod['parse_args'](['rotated', '--work-dir', str(tmp_path),
                           '--candidates', 'ours-mln'])
