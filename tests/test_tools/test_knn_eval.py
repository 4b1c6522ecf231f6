"""tools/analysis_tools/knn_eval.py: any checkpoint layout, and the same
result from 2 processes (gloo) as from 1."""
import json
import random
import sys

import torch

SEL_CFG = 'configs/selectivemae/selectivemae_vit-tiny-p8_1xb16-20e_demo.py'
MAE_CFG = 'configs/mae/mae_vit-tiny-p8_1xb16-20e_demo.py'


def _checkpoint(tmp_path):
    """A SelectiveMAE demo model with random (non-initial) weights."""
    from mmengine.config import Config

    from selective_mae.evaluation.knn_probe import build_probe_model
    model = build_probe_model(Config.fromfile(SEL_CFG), seed=5)
    g = torch.Generator().manual_seed(1)
    state = {
        k: v + 0.02 * torch.randn(v.shape, generator=g)
        if v.is_floating_point() else v
        for k, v in model.state_dict().items()
    }
    path = tmp_path / 'sel.pth'
    torch.save(dict(meta={}, state_dict=state), path)
    return path, state


def test_one_and_two_processes_agree(tool, demo_labelled, tmp_path):
    ckpt, _ = _checkpoint(tmp_path)
    args = [SEL_CFG, ckpt, '--data-root', demo_labelled, '--k', '5',
            '--batch-size', '7', '--num-workers', '0']
    one = tmp_path / 'one.json'
    out = tool(['tools/analysis_tools/knn_eval.py', *args, '--out',
                one]).stdout
    assert '1 process(es)' in out
    two = tmp_path / 'two.json'
    # torchrun, 2 processes on the CPU: gloo, each extracts half
    out = tool([
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
        '2', '--master_port', str(random.randint(20000, 40000)),
        'tools/analysis_tools/knn_eval.py', *args, '--out', two,
        '--launcher', 'pytorch'
    ], timeout=300).stdout
    assert '2 process(es)' in out
    a, b = json.loads(one.read_text()), json.loads(two.read_text())
    assert a['processes'] == 1 and b['processes'] == 2
    assert a['bank'] == b['bank'] == 20 and a['queries'] == 20
    assert a['metrics'] == b['metrics']
    assert set(a['metrics']) == {'cls_top1', 'avg_top1'}


def test_layouts_give_the_same_accuracy(demo_labelled, tmp_path):
    """What the tool loads: ours, the encoder alone in timm naming (a
    released / timm file), and the same weights in a stock mmpretrain MAE
    model, give the same features and accuracies."""
    from mmengine.config import Config

    from selective_mae.evaluation.knn_probe import KNNProbe, build_probe_model
    from selective_mae.checkpoint import mmpretrain_to_timm
    ckpt, state = _checkpoint(tmp_path)
    encoder = {
        k[len('backbone.'):]: v
        for k, v in state.items() if k.startswith('backbone.')
    }
    timm = tmp_path / 'timm.pth'
    torch.save(dict(model=mmpretrain_to_timm(encoder)), timm)
    probe = KNNProbe(
        dataset=dict(type='CustomDataset', data_root=demo_labelled), k=5,
        num_workers=0).build(64)
    results = []
    for cfg, path in ((SEL_CFG, ckpt), (SEL_CFG, timm), (MAE_CFG, ckpt)):
        model = build_probe_model(Config.fromfile(cfg), str(path))
        for k, v in encoder.items():
            assert torch.equal(model.backbone.state_dict()[k], v), (path, k)
        results.append(probe.evaluate(model))
        results[-1].pop('time'), results[-1].pop('extract_time')
    assert results[0] == results[1] == results[2]
