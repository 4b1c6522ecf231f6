"""Every pretraining config under configs/selectivemae/ and configs/mae/
builds its model and does one forward/backward at batch 2 on the CPU."""
import copy
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs/selectivemae/*.py')) +
    glob.glob(osp.join(REPO, 'configs/mae/*.py')))
RS4M_SELECTIVE = [
    c for c in CONFIGS
    if osp.basename(c).startswith('selectivemae') and c.endswith('rs4m.py')
]


def _name(path):
    return osp.relpath(path, REPO)


def test_configs_found():
    names = [osp.basename(c) for c in CONFIGS]
    assert 'selectivemae_vit-tiny-p8_1xb16-20e_demo.py' in names
    assert 'selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m-released.py' \
        in names
    assert len(RS4M_SELECTIVE) >= 5


_STEPPED = {}


def _build_and_step(model_cfg):
    """Build a model config and do one forward/backward at batch 2.

    The input is the smallest square image of 4 x 4 patches (64 px at patch
    16): the architecture is the config's own, only the token count shrinks
    (SelectiveMAE resizes its position embeddings; stock MAE's fixed-size
    ones are set to that grid). Configs that share a model config share the
    result.
    """
    key = json.dumps(model_cfg, sort_keys=True, default=str)
    if key in _STEPPED:
        return _STEPPED[key]
    model_cfg = copy.deepcopy(model_cfg)
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    patch = model_cfg['backbone'].get('patch_size', 16)
    size = 4 * patch
    if model_cfg['type'] == 'MAE':
        model_cfg['backbone']['img_size'] = size
        model_cfg['neck']['num_patches'] = 16
    model = MODELS.build(model_cfg)
    loss = model.loss(torch.randn(2, 3, size, size),
                      [DataSample() for _ in range(2)])['loss']
    loss.backward()
    result = dict(
        loss=loss.detach(),
        no_grad=[n for n, p in model.named_parameters()
                 if p.requires_grad and p.grad is None],
        per_sample=getattr(model, 'per_sample_loss', None))
    _STEPPED[key] = result
    return result


@pytest.mark.parametrize('path', CONFIGS, ids=_name)
def test_config_builds_and_steps(path):
    import selective_mae  # noqa: F401
    cfg = Config.fromfile(path)
    assert 'selective_mae' in cfg.custom_imports['imports']
    result = _build_and_step(cfg.model.to_dict())
    assert result['loss'].ndim == 0 and torch.isfinite(result['loss'])
    assert not result['no_grad']
    if cfg.model.type == 'SelectiveMAE':
        assert result['per_sample'].shape == (2, )
        assert any(h.type == 'PSTSProgressHook' for h in cfg.custom_hooks)


@pytest.mark.parametrize('path', RS4M_SELECTIVE, ids=_name)
def test_rs4m_recipe(path):
    cfg = Config.fromfile(path)
    selector = cfg.model.selector
    assert (selector.mask_ratio, selector.recon_ratio) == (0.85, 0.25)
    assert cfg.train_dataloader.batch_size == 256
    optim = cfg.optim_wrapper
    assert optim.type == 'BF16OptimWrapper'  # bf16, no loss scaler
    assert optim.constructor == 'DecayGroupsOptimWrapperConstructor'
    assert optim.optimizer.lr == pytest.approx(1.5e-4 * 2048 / 256 *
                                               (0.25 / 0.85))
    assert optim.optimizer.betas == (0.9, 0.95)
    assert optim.optimizer.weight_decay == 0.05
    warmup, cosine = cfg.param_scheduler
    assert warmup.end == 40 and cosine.begin == 40
    assert cosine.end == cfg.train_cfg.max_epochs in (400, 800)


def test_released_recipe_prunes_data():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/selectivemae/selectivemae_vit-base-p16_'
                 '8xb256-amp-coslr-800e_rs4m-released.py'))
    assert cfg.train_cfg.max_epochs == 800
    assert cfg.model.neck.decoder_depth == 8
    assert cfg.train_dataloader.sampler.type == 'InfoBatchSampler'
    assert {h.type for h in cfg.custom_hooks} >= {
        'PSTSProgressHook', 'InfoBatchHook'
    }
