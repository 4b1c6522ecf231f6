"""tools/visualization/visualize_psts.py on a generated scene."""
import importlib.util
import os.path as osp

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(REPO, 'configs', 'selectivemae',
               'selectivemae_vit-tiny-p8_1xb16-20e_demo.py')


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'visualize_psts',
        osp.join(REPO, 'tools', 'visualization', 'visualize_psts.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_visualize_psts_with_checkpoint(tmp_path):
    from PIL import Image

    from selective_mae.datasets.demo_data import make_scene
    vis = _load_tool()
    img = tmp_path / 'scene.png'
    Image.fromarray(make_scene(0, 3, 96)).save(img)  # resized+cropped to 64
    model = vis.build_model(CFG, None, 'cpu')
    ckpt = tmp_path / 'model.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)

    out = tmp_path / 'psts.png'
    progress = [0., 0.36, 0.5, 0.9]
    res = vis.main([
        str(img), '--config', CFG, '--checkpoint',
        str(ckpt), '--progress', *map(str, progress), '--out',
        str(out)
    ])
    png = Image.open(out)
    assert png.size[0] > png.size[1] > 300  # one row per kind of panel

    # 64 px, patch 8: 64 patches, 9 visible (4 seeds + rounds of 3, 2), 16
    # targets
    assert res['grid'] == (8, 8)
    np.testing.assert_allclose(res['prob'].sum(), 1., rtol=1e-5)
    seeds = res['steps'][0]['seed']
    for step, t in zip(res['steps'], progress):
        assert step['t'] == t
        vis_ids = np.concatenate([step['seed'], *step['rounds']])
        assert len(step['seed']) == 4
        assert [len(r) for r in step['rounds']] == [3, 2]
        assert len(set(vis_ids)) == 9
        assert len(step['targets']) == 16
        assert not set(step['targets']) & set(vis_ids)
        # same seed at every t: the seeds do not depend on the curriculum
        np.testing.assert_array_equal(step['seed'], seeds)
        rec = step['recon'][0]  # [3, 64, 64], NaN where not drawn
        drawn = ~torch.isnan(rec[0]).reshape(8, 8, 8, 8).transpose(
            1, 2).reshape(64, 64).all(-1)
        assert drawn.sum() == 9 + 16
        assert step['loss'] > 0
    assert res['steps'][0]['modes'] == 'near'
    assert res['steps'][1]['modes'] == 'near->far 0.40'
    assert res['steps'][3]['modes'] == 'random'


def test_visible_patches_keep_the_input_pixels(tmp_path):
    vis = _load_tool()
    model = vis.build_model(CFG, None, 'cpu')
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, 64, 64, generator=g)
    res = vis.analyse(model, x, [0.5], seed=1)
    step = res['steps'][0]
    patches = model.head.patchify(step['recon'])[0]  # [64, 192]
    ids = np.concatenate([step['seed'], *step['rounds']])
    torch.testing.assert_close(patches[ids], model.head.patchify(x)[0][ids])
    # targets: the decoder's per-patch normalised prediction, mapped back
    # with each target patch's own mean and variance
    with torch.no_grad():
        tokens, grid = model.backbone.embed(x)
        pred = model.neck(
            model.backbone.encode(tokens,
                                  torch.from_numpy(ids)[None]),
            torch.from_numpy(step['targets'])[None], grid)[0]
    ref = model.head.patchify(x)[0][step['targets']]
    var, mean = torch.var_mean(ref, dim=-1, keepdim=True)
    torch.testing.assert_close(patches[step['targets']],
                               pred * (var + 1e-6)**.5 + mean)
    assert model.selector.progress == 0.  # restored


def test_visualiser_and_loss_run_the_same_step():
    """Same seed and progress: the picture's ids and loss are those of a
    training loss() call (both go through SelectiveMAE.forward_step)."""
    from mmpretrain.structures import DataSample
    vis = _load_tool()
    model = vis.build_model(CFG, None, 'cpu')
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 3, 64, 64, generator=g)
    res = vis.analyse(model, x, [0.6], seed=7)
    step = res['steps'][0]
    seen = {}
    handle = model.selector.register_forward_hook(
        lambda m, i, o: seen.update(vis=o[0], rec=o[1]))
    model.selector.set_progress(0.6)
    torch.manual_seed(7)
    with torch.no_grad():
        loss = model.loss(x, [DataSample()])['loss']
    handle.remove()
    ids = np.concatenate([step['seed'], *step['rounds']])
    assert seen['vis'][0].tolist() == ids.tolist()
    assert seen['rec'][0].tolist() == step['targets'].tolist()
    assert abs(float(loss) - step['loss']) < 1e-6
