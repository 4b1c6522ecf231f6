"""ViTLayerDecayOptimWrapperConstructor: the whole lr / weight-decay table."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper

from selective_mae.engine.optimizers import (
    ViTLayerDecayOptimWrapperConstructor, get_vit_layer_depth)

NUM_LAYERS = 3
DECAY = 0.75
BASE_LR = 1e-3
BASE_WD = 0.05


class _Block(nn.Module):

    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(4)
        self.attn = nn.Linear(4, 12)


class _ViT(nn.Module):
    """Parameter names of mmpretrain's VisionTransformer, nothing else."""

    def __init__(self):
        super().__init__()
        self.num_layers = NUM_LAYERS
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 4))
        self.pos_embed = nn.Parameter(torch.zeros(1, 5, 4))
        self.patch_embed = nn.Module()
        self.patch_embed.projection = nn.Conv2d(3, 4, 2, 2)
        self.layers = nn.ModuleList(_Block() for _ in range(NUM_LAYERS))
        self.ln1 = nn.LayerNorm(4)


class _Detector(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = _ViT()
        self.neck = nn.Conv2d(4, 8, 1)
        self.head = nn.Linear(8, 2)


# Depth of every parameter, written out by hand.
EXPECTED_DEPTH = {
    'backbone.cls_token': 0,
    'backbone.pos_embed': 0,
    'backbone.patch_embed.projection.weight': 0,
    'backbone.patch_embed.projection.bias': 0,
    'backbone.layers.0.ln1.weight': 1,
    'backbone.layers.0.ln1.bias': 1,
    'backbone.layers.0.attn.weight': 1,
    'backbone.layers.0.attn.bias': 1,
    'backbone.layers.1.ln1.weight': 2,
    'backbone.layers.1.ln1.bias': 2,
    'backbone.layers.1.attn.weight': 2,
    'backbone.layers.1.attn.bias': 2,
    'backbone.layers.2.ln1.weight': 3,
    'backbone.layers.2.ln1.bias': 3,
    'backbone.layers.2.attn.weight': 3,
    'backbone.layers.2.attn.bias': 3,
    'backbone.ln1.weight': 4,
    'backbone.ln1.bias': 4,
    'neck.weight': 4,
    'neck.bias': 4,
    'head.weight': 4,
    'head.bias': 4,
}
# Only matrices / conv kernels of non-embedding parameters get decay.
EXPECTED_DECAYED = {
    'backbone.patch_embed.projection.weight', 'backbone.layers.0.attn.weight',
    'backbone.layers.1.attn.weight', 'backbone.layers.2.attn.weight',
    'neck.weight', 'head.weight'
}


def _build(model, **paramwise):
    cfg = dict(
        constructor='ViTLayerDecayOptimWrapperConstructor',
        optimizer=dict(type='AdamW', lr=BASE_LR, weight_decay=BASE_WD),
        paramwise_cfg=dict(layer_decay_rate=DECAY, **paramwise))
    return build_optim_wrapper(model, cfg)


def _table(optim_wrapper):
    """{param name: (lr, weight decay, layer_id)} from the built groups."""
    table = {}
    for group in optim_wrapper.optimizer.param_groups:
        for name in group['param_names']:
            assert name not in table, f'{name} in two groups'
            table[name] = (group['lr'], group['weight_decay'],
                           group['layer_id'], group['lr_scale'])
    return table


def test_depth_function_matches_hand_table():
    for name, depth in EXPECTED_DEPTH.items():
        assert get_vit_layer_depth(name, NUM_LAYERS) == depth, name


def test_full_table():
    model = _Detector()
    table = _table(_build(model))
    assert set(table) == {n for n, _ in model.named_parameters()}
    assert set(table) == set(EXPECTED_DEPTH)
    for name, (lr, wd, layer_id, lr_scale) in table.items():
        depth = EXPECTED_DEPTH[name]
        assert layer_id == depth, name
        assert lr_scale == pytest.approx(DECAY**(NUM_LAYERS + 1 - depth))
        assert lr == pytest.approx(BASE_LR * DECAY**(NUM_LAYERS + 1 - depth))
        assert wd == (BASE_WD if name in EXPECTED_DECAYED else 0.), name
    # Head and neck are at full lr, the embeddings at decay ** (L + 1).
    assert table['head.weight'][0] == pytest.approx(BASE_LR)
    assert table['backbone.pos_embed'][0] == pytest.approx(BASE_LR *
                                                           DECAY**4)


def test_groups_are_merged_and_frozen_params_skipped():
    model = _Detector()
    model.backbone.layers[0].attn.weight.requires_grad = False
    optim_wrapper = _build(model)
    groups = optim_wrapper.optimizer.param_groups
    # One group per (depth, decayed or not): depths 0..4, each both kinds,
    # except depth 1 whose only decayed tensor is frozen.
    assert len(groups) == 2 * (NUM_LAYERS + 2) - 1
    table = _table(optim_wrapper)
    assert 'backbone.layers.0.attn.weight' not in table
    assert len(table) == len(EXPECTED_DEPTH) - 1


def test_custom_keys_and_num_layers_override():
    model = _Detector()
    table = _table(
        _build(
            model,
            num_layers=NUM_LAYERS,
            custom_keys={'head': dict(lr_mult=10., decay_mult=0.)}))
    assert table['head.weight'][0] == pytest.approx(10 * BASE_LR)
    assert table['head.weight'][1] == 0.
    assert table['neck.weight'][1] == BASE_WD


def test_wrapped_model_and_step():
    model = _Detector()
    wrapper = nn.Module()
    wrapper.module = model
    optim_wrapper = _build(wrapper)
    assert 'backbone.cls_token' in _table(optim_wrapper)
    loss = sum(p.sum() for p in model.parameters())
    optim_wrapper.update_params(loss)
    assert torch.isfinite(model.head.weight).all()


def test_bad_config_errors():
    model = _Detector()
    with pytest.raises(ValueError, match='layer_decay_rate'):
        build_optim_wrapper(
            model,
            dict(
                constructor='ViTLayerDecayOptimWrapperConstructor',
                optimizer=dict(type='AdamW', lr=1., weight_decay=0.05),
                paramwise_cfg=dict(custom_keys={})))
    with pytest.raises(ValueError, match='no such submodule'):
        _build(model, backbone_prefix='encoder.')
    with pytest.raises(ValueError, match='names layer 7'):
        get_vit_layer_depth('backbone.layers.7.x', NUM_LAYERS)


def test_registered_in_mmengine_root():
    from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
    assert OPTIM_WRAPPER_CONSTRUCTORS.get(
        'ViTLayerDecayOptimWrapperConstructor') is \
        ViTLayerDecayOptimWrapperConstructor


def test_mmpretrain_classifier_table():
    """The same block on an mmpretrain ViT classifier (Engineer C's use)."""
    import mmpretrain.models  # noqa: F401
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = _build_classifier(MODELS)
    table = _table(_build(model))
    assert set(table) == {n for n, _ in model.named_parameters()}
    for name, (lr, wd, layer_id, lr_scale) in table.items():
        depth = {'backbone.layers.0': 1, 'backbone.layers.1': 2}.get(
            '.'.join(name.split('.')[:3]), 0 if name.startswith(
                ('backbone.cls_token', 'backbone.pos_embed',
                 'backbone.patch_embed')) else 3)
        assert layer_id == depth, name
        assert lr == pytest.approx(BASE_LR * DECAY**(3 - depth)), name


def _build_classifier(registry):
    return registry.build(
        dict(
            type='ImageClassifier',
            backbone=dict(
                type='VisionTransformer',
                arch=dict(embed_dims=16, num_layers=2, num_heads=2,
                          feedforward_channels=32),
                img_size=32, patch_size=8, out_type='avg_featmap'),
            head=dict(type='LinearClsHead', num_classes=3, in_channels=16)))
