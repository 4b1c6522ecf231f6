"""tools/dataset/curate_rs.py: exclusion, slicing, uniform and duplicate
tiles, resumption."""
import json
import os
import runpy
import shutil
import sys

import numpy as np
import pytest
from PIL import Image

import selective_mae  # noqa: F401
from selective_mae.datasets import RS4M
from selective_mae.datasets import curation
from selective_mae.datasets.curation import (HashIndex, hamming,
                                             perceptual_hash, tile_starts)

TILE = 64


def _texture(seed, h, w):
    """Smooth random colour texture: every 64 px tile looks different."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return np.array(Image.fromarray(small).resize((w, h), Image.BICUBIC))


@pytest.fixture(scope='module')
def sources(tmp_path_factory):
    src = tmp_path_factory.mktemp('scenes')
    for d in 'abcdef':
        (src / d).mkdir()
    a = _texture(0, 200, 300)
    Image.fromarray(a).save(src / 'a' / 'scene_a.png')
    shutil.copy(src / 'a' / 'scene_a.png', src / 'b' / 'copy_of_a.png')
    c = _texture(1, 200, 300)
    c[:, 192:] = 0  # no-data border: tiles starting at x=192 and 236
    Image.fromarray(c).save(src / 'c' / 'blank_border.png')
    near = Image.fromarray(a[64:128, 128:192]).resize((60, 60), Image.BILINEAR)
    near.save(src / 'd' / 'near_dup.jpg', quality=80)
    Image.fromarray(_texture(2, 40, 40)).save(src / 'e' / 'small.png')
    (src / 'f' / 'corrupt.jpg').write_bytes(b'\xff\xd8 not a jpeg')
    return str(src)


EXPECTED = dict(
    sources=6,
    excluded_small=1,
    unreadable=1,
    tiles_total=61,
    uniform=8,
    duplicates=21,
    kept=32)


def test_tile_starts_cover_the_image():
    assert tile_starts(200, 64, 64) == [0, 64, 128, 136]
    assert tile_starts(300, 64, 64) == [0, 64, 128, 192, 236]
    assert tile_starts(256, 64, 64) == [0, 64, 128, 192]
    assert tile_starts(60, 64, 64) == [0]
    assert tile_starts(200, 64, 32)[-1] == 136


def test_hash_index_matches_brute_force():
    rng = np.random.default_rng(0)
    base = [int(x) for x in rng.integers(0, 2**63, 200, dtype=np.int64)]
    index = HashIndex(5)
    for h in base:
        index.add(h)
    for h in base[:50]:
        flipped = h
        for bit in rng.choice(64, rng.integers(0, 9), replace=False):
            flipped ^= 1 << int(bit)
        brute = [j for j, b in enumerate(base) if hamming(b, flipped) <= 5]
        found = index.find(flipped)
        assert (found is None) == (not brute)
        if found is not None:
            assert hamming(base[found], flipped) <= 5


def test_near_duplicate_hash_is_close(sources):
    a = np.asarray(Image.open(f'{sources}/a/scene_a.png'))
    near = np.asarray(Image.open(f'{sources}/d/near_dup.jpg'))
    h = perceptual_hash(a[64:128, 128:192])
    assert hamming(h, perceptual_hash(near)) <= 4
    others = [
        perceptual_hash(a[y:y + 64, x:x + 64]) for y in (0, 64, 128, 136)
        for x in (0, 64, 128, 192, 236) if (y, x) != (64, 128)
    ]
    assert min(hamming(h, o) for o in others) > 4


def test_curation_cli_counts_tiles_and_drops(repo_root, sources, tmp_path,
                                             capsys, monkeypatch):
    out = tmp_path / 'curated'
    # The command line, run in this process (no second start-up).
    monkeypatch.setattr(sys, 'argv', [
        'curate_rs.py', sources,
        str(out), '--tile-size',
        str(TILE), '--min-size', '48', '--hash-threshold', '4'
    ])
    runpy.run_path(
        os.path.join(repo_root, 'tools/dataset/curate_rs.py'),
        run_name='__main__')
    stdout = capsys.readouterr().out
    summary = json.loads((out / 'curation_summary.json').read_text())
    assert {k: summary[k] for k in EXPECTED} == EXPECTED
    assert summary['unreadable_files'] == ['f/corrupt.jpg']
    assert 'unreadable: f/corrupt.jpg' in stdout
    index = (out / 'index.txt').read_text().split()
    assert len(index) == 32 and len(set(index)) == 32
    assert sum(p.startswith('tiles/a/') for p in index) == 20
    assert sum(p.startswith('tiles/c/') for p in index) == 12
    assert not any(p.startswith(('tiles/b/', 'tiles/d/')) for p in index)
    assert not any(
        p.endswith(('_192.png', '_236.png'))
        for p in index if p.startswith('tiles/c/'))
    a = np.asarray(Image.open(f'{sources}/a/scene_a.png'))
    tile = np.asarray(Image.open(out / 'tiles/a/scene_a_136_236.png'))
    assert np.array_equal(tile, a[136:200, 236:300])
    # The index feeds the data set directly.
    ds = RS4M(data_root=str(out), ann_file='index.txt')
    assert len(ds) == 32


def test_interrupted_run_resumes_to_the_same_result(sources, tmp_path,
                                                    monkeypatch):
    ref = curation.curate(
        sources, str(tmp_path / 'ref'), TILE, min_size=48, progress=False)
    out = str(tmp_path / 'resumed')
    real = curation._slice_source
    calls = []

    def crash_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(curation, '_slice_source', crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        curation.curate(sources, out, TILE, min_size=48, progress=False)
    monkeypatch.setattr(curation, '_slice_source', real)
    with open(os.path.join(out, curation.JOURNAL)) as f:
        assert len(f.readlines()) == 2  # a and b are done
    done = []
    monkeypatch.setattr(curation, '_slice_source',
                        lambda *a, **k: done.append(a[1]) or real(*a, **k))
    summary = curation.curate(sources, out, TILE, min_size=48, progress=False)
    assert done == ['c/blank_border.png', 'd/near_dup.jpg']
    assert summary == ref
    assert (open(os.path.join(out, 'index.txt')).read() == open(
        os.path.join(tmp_path / 'ref', 'index.txt')).read())
