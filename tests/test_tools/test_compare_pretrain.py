"""tools/analysis_tools/compare_pretrain.py and TrainBudgetHook."""
import json
import math

import pytest
from PIL import Image

MAE_CFG = 'configs/mae/mae_vit-tiny-p8_1xb16-20e_demo.py'
SEL_CFG = 'configs/selectivemae/selectivemae_vit-tiny-p8_1xb16-20e_demo.py'


def test_budget_schedule():
    from selective_mae.engine.hooks import TrainBudgetHook
    hook = TrainBudgetHook(100, warmup=0.1, min_lr_ratio=0.)
    assert hook.lr_factor(0.) == 0 and hook.lr_factor(0.05) == 0.5
    assert hook.lr_factor(0.1) == 1.
    assert hook.lr_factor(0.55) == pytest.approx(0.5)
    assert hook.lr_factor(1.) == pytest.approx(0.) == hook.lr_factor(2.)
    with pytest.raises(ValueError, match="unit must be 's' or 'images'"):
        TrainBudgetHook(1, unit='epochs')
    with pytest.raises(ValueError, match='snapshot fractions'):
        TrainBudgetHook(1, snapshots=(0, 1.5))


def test_compare_two_configs_same_image_budget(tool, demo_data,
                                               demo_labelled, tmp_path):
    work = tmp_path / 'cmp'
    out = tool([
        'tools/analysis_tools/compare_pretrain.py', MAE_CFG, SEL_CFG,
        '--names', 'MAE', 'SelectiveMAE', '--budget', '64', '--unit',
        'images', '--snapshots', '2', '--workers', '0', '--work-dir', work,
        '--data-root', demo_labelled, '--cfg-options',
        f'train_dataloader.dataset.data_root={demo_data}'
    ], timeout=900).stdout
    result = json.loads((work / 'compare.json').read_text())
    assert result['budget']['unit'] == 'images'
    assert result['mode'] == 'concurrent'
    assert result['probe']['bank'] == 20
    assert [r['name'] for r in result['runs']] == ['MAE', 'SelectiveMAE']
    for run in result['runs']:
        snaps = run['snapshots']
        # the same points of the budget in both runs: 0, 32 and 64 images
        # (batch 16), the lr at its warm-up start and at 0 at the end
        assert [s['fraction'] for s in snaps] == [0, 0.5, 1]
        assert [s['images'] for s in snaps] == [0, 32, 64]
        assert [s['iters'] for s in snaps] == [0, 2, 4]
        assert snaps[-1]['lr_factor'] == pytest.approx(0, abs=1e-12)
        for s in snaps:
            assert set(s['knn']) == {'cls_top1', 'avg_top1'}
        assert run['cpu_s'] > 0 and run['wall_s'] > 0
        log = (work / run['name'] / 'train_stdout.log').read_text()
        assert 'budget spent after 4 iterations, 64 images' in log
    # the weights at the start are each config's initialisation; both
    # encoders are built alike from the same seed
    assert (result['runs'][0]['snapshots'][0]['knn'] ==
            result['runs'][1]['snapshots'][0]['knn'])
    assert 'final k-NN top-1' in out
    w, h = Image.open(work / 'compare.png').size
    assert w > 600 and h > 400
    assert not math.isnan(result['runs'][1]['snapshots'][-1]['knn']
                          ['avg_top1'])
