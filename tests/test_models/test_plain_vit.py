"""PlainViT (dense downstream backbone) and SimpleFeaturePyramid."""
import pytest
import torch

from selective_mae.models.backbones.plain_vit import (PlainViT,
                                                      window_partition,
                                                      window_unpartition)
from selective_mae.models.necks.simple_feature_pyramid import \
    SimpleFeaturePyramid

TINY = dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)


def _vit(**kwargs):
    cfg = dict(arch=TINY, img_size=64, patch_size=8, out_indices=(0, 1, 2, 3),
               drop_path_rate=0.)
    cfg.update(kwargs)
    torch.manual_seed(0)
    model = PlainViT(**cfg)
    model.init_weights()
    return model


@pytest.mark.parametrize('hw', [(8, 8), (7, 10)])
def test_window_partition_round_trip(hw):
    x = torch.randn(2, hw[0] * hw[1], 5)
    windows, padded = window_partition(x, hw, 4)
    assert padded == (8, 12 if hw[1] == 10 else 8)
    assert windows.shape == (2 * padded[0] * padded[1] // 16, 16, 5)
    # The first window holds the top-left 4 x 4 tokens, row-major.
    grid = x.view(2, hw[0], hw[1], 5)
    assert torch.equal(windows[0], grid[0, :4, :4].reshape(16, 5))
    assert torch.equal(window_unpartition(windows, 4, padded, hw), x)


def test_global_attention_matches_mmpretrain_vit():
    from mmpretrain.models.backbones import VisionTransformer
    ours = _vit()
    ref = VisionTransformer(
        arch=TINY, img_size=64, patch_size=8, out_indices=[0, 1, 2, 3],
        with_cls_token=False, out_type='featmap', final_norm=False)
    missing, unexpected = ref.load_state_dict(ours.state_dict(), strict=True)
    ours.eval(), ref.eval()
    x = torch.randn(2, 3, 64, 64)
    for a, b in zip(ours(x), ref(x)):
        assert a.shape == (2, 32, 8, 8)
        torch.testing.assert_close(a, b)


def test_window_attention_equals_attention_per_window():
    """Windowed block == the same block run on each window as an image."""
    model = _vit(window_size=4, global_attn_indexes=()).eval()
    layer = model.layers[0]
    x = torch.randn(1, 64, 32)
    out = layer(x, (8, 8))
    grid = x.view(1, 8, 8, 32)
    layer.window_size = 0
    for i in range(2):
        for j in range(2):
            win = grid[:, 4 * i:4 * i + 4, 4 * j:4 * j + 4].reshape(1, 16, 32)
            expected = layer(win, (4, 4)).view(1, 4, 4, 32)
            got = out.view(1, 8, 8, 32)[:, 4 * i:4 * i + 4, 4 * j:4 * j + 4]
            torch.testing.assert_close(got, expected)
    # Windows are independent: changing one window leaves the others.
    layer.window_size = 4
    x2 = grid.clone()
    x2[:, :4, :4] += 1
    out2 = layer(x2.view(1, 64, 32), (8, 8)).view(1, 8, 8, 32)
    torch.testing.assert_close(out2[:, 4:, 4:], out.view(1, 8, 8, 32)[:, 4:,
                                                                       4:])


def test_window_and_global_layers_and_padding():
    model = _vit(window_size=3, global_attn_indexes=(1, 3))
    assert [layer.window_size for layer in model.layers] == [3, 0, 3, 0]
    outs = model(torch.randn(2, 3, 64, 80))  # 8 x 10 grid, padded to 9 x 12
    assert [tuple(o.shape) for o in outs] == [(2, 32, 8, 10)] * 4


def test_checkpointing_gives_same_outputs_and_grads():
    x = torch.randn(2, 3, 64, 64)
    grads = []
    for with_cp in (False, True):
        model = _vit(window_size=4, global_attn_indexes=(3, ),
                     with_cp=with_cp).train()
        outs = model(x)
        sum((o**2).mean() for o in outs).backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
        if with_cp:
            torch.testing.assert_close(outs[-1], ref_out)
        ref_out = outs[-1].detach()
    for name, g in grads[0].items():
        torch.testing.assert_close(grads[1][name], g, msg=name)


def test_every_parameter_gets_a_gradient():
    model = _vit(window_size=4, global_attn_indexes=(1, )).train()
    sum(o.mean() for o in model(torch.randn(1, 3, 64, 64))).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert no_grad == []


def test_drop_path_is_per_sample_outside_windows():
    model = _vit(window_size=4, global_attn_indexes=(), drop_path_rate=0.3)
    rates = [layer.drop_path.drop_prob for layer in model.layers]
    assert rates == pytest.approx([0, 0.1, 0.2, 0.3])
    assert all(isinstance(layer.attn.out_drop, torch.nn.Identity)
               for layer in model.layers)
    # FFN branch always dropped, attention branch with p=0.5: per image,
    # the attention update is zero in all 4 windows or in none.
    layer = model.layers[3].train()
    layer.ffn.dropout_layer.drop_prob = 1 - 1e-9
    layer.drop_path.drop_prob = 0.5
    torch.manual_seed(3)
    x = torch.randn(16, 64, 32)
    delta = (layer(x, (8, 8)) - x).view(16, 2, 4, 2, 4, 32)
    kept_windows = delta.abs().amax(dim=(2, 4, 5)).gt(0).flatten(1).sum(1)
    assert set(kept_windows.tolist()) == {0, 4}


def test_bad_arguments():
    with pytest.raises(ValueError, match='with_cls_token=False'):
        _vit(window_size=4, with_cls_token=True, out_type='featmap')
    with pytest.raises(ValueError, match='global_attn_indexes'):
        _vit(window_size=4, global_attn_indexes=(9, ))
    with pytest.raises(ValueError, match='scale factor 3'):
        SimpleFeaturePyramid(8, scale_factors=(3, ))


def test_simple_feature_pyramid_strides():
    neck = SimpleFeaturePyramid(32, norm_cfg=dict(type='BN'))
    feats = [torch.randn(2, 32, 8, 8) for _ in range(4)]
    outs = neck(feats)
    assert [tuple(o.shape[-2:]) for o in outs] == [(32, 32), (16, 16), (8, 8),
                                                    (4, 4)]
    assert torch.equal(outs[2], feats[2])
    torch.testing.assert_close(
        outs[3], torch.nn.functional.max_pool2d(feats[3], 2))
    with pytest.raises(ValueError, match='got 3 inputs'):
        neck(feats[:3])


def _demo_pretrain_checkpoint(kind, path):
    """An mmengine checkpoint of a tiny pretraining model (64 px, patch 8):
    stock mmpretrain MAE or our SelectiveMAE (its demo-sized model)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    arch = dict(embed_dims=64, num_layers=2, num_heads=4,
                feedforward_channels=128)
    if kind == 'mae':
        model_cfg = dict(
            type='MAE',
            backbone=dict(type='MAEViT', arch=arch, img_size=64,
                          patch_size=8, mask_ratio=0.75),
            neck=dict(type='MAEPretrainDecoder', num_patches=64,
                      patch_size=8, embed_dim=64, decoder_embed_dim=32,
                      decoder_depth=1, decoder_num_heads=4),
            head=dict(type='MAEPretrainHead', norm_pix=True, patch_size=8,
                      loss=dict(type='PixelReconstructionLoss',
                                criterion='L2')))
    else:
        model_cfg = Config.fromfile(
            'configs/_base_/models/selectivemae_vit-base-p16.py').model
        model_cfg.backbone.update(arch=arch, img_size=64, patch_size=8)
        model_cfg.neck.update(img_size=64, patch_size=8, embed_dim=64,
                              decoder_embed_dim=32, decoder_depth=1,
                              decoder_num_heads=4)
        model_cfg.head.update(patch_size=8)
    torch.manual_seed(1)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
    model.init_weights()
    torch.save(dict(meta=dict(epoch=2), state_dict=model.state_dict()), path)
    return model


@pytest.mark.parametrize('kind', ['mae', 'selectivemae'])
def test_loads_demo_pretraining_checkpoint(kind, tmp_path, repo_root,
                                          monkeypatch):
    from mmpretrain.models.utils import resize_pos_embed

    from selective_mae.checkpoint.layouts import is_encoder_key
    monkeypatch.chdir(repo_root)
    mae = _demo_pretrain_checkpoint(kind, tmp_path / 'epoch_2.pth')
    enc = mae.backbone
    arch = dict(embed_dims=enc.embed_dims, num_layers=enc.num_layers,
                num_heads=enc.layers[0].attn.num_heads,
                feedforward_channels=enc.layers[0].ffn.layers[0][0]
                .out_features)
    # Downstream at twice the pretraining size, window attention.
    patch = enc.patch_embed.projection.kernel_size[0]
    size = 2 * enc.img_size[0]
    model = PlainViT(
        arch=arch, img_size=size, patch_size=patch,
        out_indices=tuple(range(arch['num_layers'])), window_size=4,
        global_attn_indexes=(arch['num_layers'] - 1, ),
        init_cfg=dict(type='Pretrained',
                      checkpoint=str(tmp_path / 'epoch_2.pth')))
    model.init_weights()
    ours = model.state_dict()
    src = {k[len('backbone.'):]: v for k, v in mae.state_dict().items()
           if k.startswith('backbone.')}
    encoder_keys = [k for k in ours if is_encoder_key(k)]
    assert encoder_keys and set(encoder_keys) == set(ours)
    for key in ours:
        if key == 'pos_embed':
            expected = resize_pos_embed(
                src['pos_embed'][:, 1:], enc.patch_resolution,
                model.patch_resolution, 'bicubic', 0)
            torch.testing.assert_close(ours[key], expected)
        else:
            assert key in src, f'{key} missing from the checkpoint'
            assert torch.equal(ours[key], src[key]), key


def test_registered_for_every_downstream_scope():
    import mmdet.registry
    import mmpretrain.registry
    import mmseg.registry

    import selective_mae.downstream.mmrotate  # noqa: F401  (collections)
    import mmrotate.registry
    for registry in (mmpretrain.registry.MODELS, mmdet.registry.MODELS,
                     mmrotate.registry.MODELS, mmseg.registry.MODELS):
        assert registry.get('PlainViT') is PlainViT, registry.scope
        assert registry.get('SimpleFeaturePyramid') is SimpleFeaturePyramid
        vit = registry.build(
            dict(type='PlainViT', arch=TINY, img_size=32, out_indices=(1, 3)))
        assert isinstance(vit, PlainViT)


def test_random_init_reaches_every_block():
    """Without a checkpoint every block's Linear layers get the ViT standard
    init (truncated normal, std 0.02, zero bias), not PyTorch's default
    (uniform with std 1 / sqrt(3 fan_in), about 0.10 at width 32)."""
    model = _vit()
    assert type(model.layers).__name__ == 'ModuleList'
    assert hasattr(model.layers, 'init_weights')
    linears = [m for m in model.layers.modules()
               if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 4 * 4  # qkv, proj, fc1, fc2 per block
    for m in linears:
        assert m.weight.std().item() == pytest.approx(0.02, rel=0.15)
        assert abs(m.weight.mean().item()) < 0.005
        assert torch.count_nonzero(m.bias) == 0
    assert model.pos_embed.std().item() == pytest.approx(0.02, rel=0.3)
    # an explicit init_cfg replaces the default
    kaiming = _vit(init_cfg=dict(type='Kaiming', layer='Linear',
                                 distribution='uniform'))
    w = kaiming.layers[0].attn.qkv.weight
    assert w.std().item() > 0.1


def test_ln2d_normalises_channels_per_pixel():
    from mmcv.cnn import build_norm_layer
    from mmengine.registry import DefaultScope

    from selective_mae.models.utils import LayerNorm2d

    # in a scope without an LN2d of its own (mmseg, mmdet, mmrotate; not
    # mmpretrain, whose LN2d is the same formula with eps 1e-5), 'LN2d' is
    # ours, from the root registry; an earlier test may have left
    # mmpretrain's scope as the default
    with DefaultScope.overwrite_default_scope('mmengine'):
        name, norm = build_norm_layer(dict(type='LN2d'), 8)
        neck = SimpleFeaturePyramid(8)
    assert isinstance(norm, LayerNorm2d) and name.startswith('ln')
    x = torch.randn(2, 8, 5, 3) * 3 + 1
    y = norm(x)
    ref = torch.nn.functional.layer_norm(x.permute(0, 2, 3, 1), (8, ),
                                         eps=1e-6).permute(0, 3, 1, 2)
    torch.testing.assert_close(y, ref)
    # independent of the rest of the batch (unlike BatchNorm)
    torch.testing.assert_close(norm(x[:1]), y[:1])
    with pytest.raises(ValueError, match=r'LN2d\(8\) expects'):
        norm(torch.randn(2, 4, 3, 3))
    assert isinstance(neck.branches[0][1], LayerNorm2d)
