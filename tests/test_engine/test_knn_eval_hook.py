"""KNNEvalHook inside a real pretraining run (tools/train.py)."""
import json
import re

import torch

SEL_CFG = 'configs/selectivemae/selectivemae_vit-tiny-p8_1xb16-20e_demo.py'


def _config(path, repo_root, demo_data, labelled, with_probe):
    hooks = ["dict(type='BadImageHook')", "dict(type='PSTSProgressHook')"]
    if with_probe:
        # by iteration: before iteration 1, after 3 and after the last (4);
        # one loader worker, whose seed comes from torch's generator
        hooks.append(
            "dict(type='KNNEvalHook', interval=3, by_epoch=False, "
            "probe=dict(dataset=dict(type='CustomDataset', "
            f"data_root='{labelled}'), k=5, batch_size=8, num_workers=1))")
    path.write_text(
        f"_base_ = '{repo_root}/{SEL_CFG}'\n"
        "train_dataloader = dict(\n"
        f"    dataset=dict(data_root='{demo_data}'),\n"
        "    num_workers=0, persistent_workers=False)\n"
        "train_cfg = dict(max_epochs=2)\n"
        f"custom_hooks = [{', '.join(hooks)}]\n"
        "default_hooks = dict(logger=dict(interval=1),\n"
        "                     checkpoint=dict(interval=2))\n"
        "log_processor = dict(window_size=1)\n")
    return path


def _scalars(work):
    (path, ) = work.glob('2*/vis_data/scalars.json')
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_probe_leaves_training_unchanged(tool, repo_root, demo_data,
                                         demo_labelled, tmp_path):
    runs = {}
    for with_probe in (False, True):
        name = 'probe' if with_probe else 'plain'
        cfg = _config(tmp_path / f'{name}.py', repo_root, demo_data,
                      demo_labelled, with_probe)
        work = tmp_path / name
        out = tool(['tools/train.py', cfg, '--work-dir', work]).stdout
        runs[name] = (out, _scalars(work), torch.load(
            work / 'epoch_2.pth', map_location='cpu', weights_only=True))
    plain_out, plain, plain_ckpt = runs['plain']
    probe_out, probe, probe_ckpt = runs['probe']

    # 32 scenes, batch 16, 2 epochs: 4 iterations, the same losses step for
    # step, the same weights at the end
    def losses(records):
        return [(r['step'], r['loss']) for r in records if 'loss' in r]

    assert len(losses(plain)) == 4
    assert losses(probe) == losses(plain)
    for key, value in plain_ckpt['state_dict'].items():
        assert torch.equal(probe_ckpt['state_dict'][key], value), key
    assert 'knn/' not in plain_out

    # readings at iterations 0, 3 and 4, logged and in the scalars file
    knn = [r for r in probe if 'knn/cls_top1' in r]
    assert [r['step'] for r in knn] == [0, 3, 4]
    for r in knn:
        assert set(r) == {'knn/cls_top1', 'knn/avg_top1', 'knn/time', 'step'}
        assert 0 <= r['knn/cls_top1'] <= 100 and r['knn/time'] > 0
    lines = re.findall(r'Epoch\(knn\) \[\d\] iter (\d) .*knn/cls_top1: '
                       r'([\d.]+) .*time: [\d.]+ s', probe_out)
    assert [int(i) for i, _ in lines] == [0, 3, 4]
    assert [float(a) for _, a in lines] == pytest_approx(
        [r['knn/cls_top1'] for r in knn])
    assert 'KNNProbe(20 bank / 20 queries, 5 classes, k=5' in probe_out


def pytest_approx(values):
    import pytest
    return pytest.approx(values, abs=1e-4)
