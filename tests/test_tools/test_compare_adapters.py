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


@pytest.mark.parametrize('task,metric', [('seg', 'mIoU'), ('rotated', 'mAP')])
def test_compare_adapters_table(tool, tmp_path, task, metric):
    work = tmp_path / task
    size = ['--crop', '64', '--tile', '64'] if task == 'seg' else \
        ['--crop', '96']
    out = tool([
        'tools/analysis_tools/compare_adapters.py', task, '--work-dir', work,
        '--seeds', '0', '--iters', '2', '--batch-size', '2',
        '--embed-dims', '32', '--depth', '4', '--heads', '2',
        '--head-channels', '16', '--num-train', '2', '--num-val', '1',
        '--candidates', 'ours', 'ref', 'ours-dp0=ours',
        '--set', 'ours-dp0', 'model.backbone.drop_path_rate=0.0', *size
    ], timeout=600).stdout
    header, rows = _table(out, metric)
    assert [r[0] for r in rows] == ['ours', 'ref', 'ours-dp0']
    assert [r[1] for r in rows] == ['ours', 'ref', 'ours']
    assert rows[2][2] == 'model.backbone.drop_path_rate=0.0'
    for r in rows:
        value = float(r[3])
        assert 0 <= value <= 100 and float(r[4]) == value
        assert float(r[5]) == 0  # one seed
        assert np.isfinite(float(r[6])) and float(r[7]) > 0
    result = json.loads((work / 'compare_adapters.json').read_text())
    assert result['task'] == task and result['metric'] == metric
    assert result['settings']['iters'] == 2
    assert [s['candidate'] for s in result['summary']] == \
        ['ours', 'ref', 'ours-dp0']
    runs = {r['candidate']: r for r in result['runs']}
    assert set(runs) == {'ours', 'ref', 'ours-dp0'}
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
