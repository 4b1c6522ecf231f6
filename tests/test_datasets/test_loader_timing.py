"""The loader timing function and tools/dataset/benchmark_loader.py (a tiny
run: that both decode paths time and count, not how fast)."""
import json
import sys

import pytest


@pytest.fixture(scope='module')
def benchmark_loader(repo_root):
    sys.path.insert(0, repo_root)
    from tools.dataset import benchmark_loader
    return benchmark_loader


def test_benchmark_loader_both_decode_paths(benchmark_loader, tmp_path):
    out = tmp_path / 'bench.json'
    result = benchmark_loader.main([
        '--num', '6', '--size', '320', '--workers', '0', '1',
        '--batch-size', '3', '--batches', '2', '--pipelines', 'reduced',
        'device', '--out', str(out)
    ])
    rows = json.loads(out.read_text())['results']
    assert rows == result['results']
    assert [(r['pipeline'], r['decode'], r['workers']) for r in rows] == [
        ('reduced', 'worker', 0), ('device', 'device', 0),
        ('reduced', 'worker', 1), ('device', 'device', 1)
    ]
    for r in rows:
        assert r['images'] == 6 and r['bad_images'] == 0
        assert r['images_per_s'] > 0
        assert r['seconds'] == pytest.approx(
            r['loader_wait_s'] + r['preprocess_s'], abs=2e-3)
