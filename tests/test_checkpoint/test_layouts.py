"""Checkpoint layouts: timm <-> mmpretrain, loading into ViT backbones."""
import math
import os.path as osp
import pickle
import runpy
import sys

import pytest
import torch
import torch.nn.functional as F

from selective_mae.checkpoint import (
    convert_model, detect_layout, load_vit_backbone_weights,
    mmpretrain_to_timm, timm_to_mmpretrain)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


CONVERTERS = osp.join(REPO, 'tools', 'model_converters')


# --------------------------------------------------------------------------
# An independent timm-layout ViT: the formula written out.
# --------------------------------------------------------------------------
def make_timm_vit(embed=768, depth=12, mlp=3072, patch=16, img=224, seed=0):
    """Random timm ``vit_base_patch16_224`` weights (timm names)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, std=0.02, mean=0.):
        return torch.randn(*shape, generator=g) * std + mean

    n = (img // patch)**2
    sd = {
        'cls_token': rnd(1, 1, embed),
        'pos_embed': rnd(1, n + 1, embed),
        'patch_embed.proj.weight': rnd(embed, 3, patch, patch),
        'patch_embed.proj.bias': rnd(embed),
    }
    for i in range(depth):
        b = f'blocks.{i}.'
        sd.update({
            b + 'norm1.weight': rnd(embed, std=0.1, mean=1.),
            b + 'norm1.bias': rnd(embed),
            b + 'attn.qkv.weight': rnd(3 * embed, embed),
            b + 'attn.qkv.bias': rnd(3 * embed),
            b + 'attn.proj.weight': rnd(embed, embed),
            b + 'attn.proj.bias': rnd(embed),
            b + 'norm2.weight': rnd(embed, std=0.1, mean=1.),
            b + 'norm2.bias': rnd(embed),
            b + 'mlp.fc1.weight': rnd(mlp, embed),
            b + 'mlp.fc1.bias': rnd(mlp),
            b + 'mlp.fc2.weight': rnd(embed, mlp),
            b + 'mlp.fc2.bias': rnd(embed),
        })
    sd['norm.weight'] = rnd(embed, std=0.1, mean=1.)
    sd['norm.bias'] = rnd(embed)
    return sd


def timm_vit_forward(sd, x, num_heads, patch=16, eps=1e-6):
    """timm ``VisionTransformer.forward_features``: all tokens, final norm.

    Args:
        sd (dict): timm-layout weights.
        x (Tensor): Images [B, 3, H, W].

    Returns:
        Tensor: Tokens [B, 1 + L, C] after the final norm.
    """
    x = F.conv2d(
        x,
        sd['patch_embed.proj.weight'],
        sd['patch_embed.proj.bias'],
        stride=patch)  # [B, C, h, w]
    x = x.flatten(2).transpose(1, 2)  # [B, L, C]
    B, L, C = x.shape
    x = torch.cat([sd['cls_token'].expand(B, -1, -1), x], 1) + sd['pos_embed']
    depth = 1 + max(int(k.split('.')[1]) for k in sd if k.startswith('blocks'))
    hd = C // num_heads
    for i in range(depth):
        p = f'blocks.{i}.'
        h = F.layer_norm(x, (C, ), sd[p + 'norm1.weight'],
                         sd[p + 'norm1.bias'], eps)
        qkv = F.linear(h, sd[p + 'attn.qkv.weight'], sd[p + 'attn.qkv.bias'])
        q, k, v = qkv.reshape(B, L + 1, 3, num_heads,
                              hd).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) / math.sqrt(hd)).softmax(-1)
        h = (attn @ v).transpose(1, 2).reshape(B, L + 1, C)
        x = x + F.linear(h, sd[p + 'attn.proj.weight'],
                         sd[p + 'attn.proj.bias'])
        h = F.layer_norm(x, (C, ), sd[p + 'norm2.weight'],
                         sd[p + 'norm2.bias'], eps)
        h = F.gelu(
            F.linear(h, sd[p + 'mlp.fc1.weight'], sd[p + 'mlp.fc1.bias']))
        x = x + F.linear(h, sd[p + 'mlp.fc2.weight'], sd[p + 'mlp.fc2.bias'])
    return F.layer_norm(x, (C, ), sd['norm.weight'], sd['norm.bias'], eps)


def mae_decoder_keys(embed=768, dec=32, patch=16, n=196, depth=1):
    """A few released-MAE decoder tensors (kept beside the encoder)."""
    sd = {
        'mask_token': torch.randn(1, 1, dec),
        'decoder_pos_embed': torch.randn(1, n + 1, dec),
        'decoder_embed.weight': torch.randn(dec, embed),
        'decoder_embed.bias': torch.randn(dec),
        'decoder_norm.weight': torch.randn(dec),
        'decoder_norm.bias': torch.randn(dec),
        'decoder_pred.weight': torch.randn(patch * patch * 3, dec),
        'decoder_pred.bias': torch.randn(patch * patch * 3),
    }
    for i in range(depth):
        for name, shape in (('norm1.weight', (dec, )), ('attn.qkv.weight',
                                                        (3 * dec, dec)),
                            ('attn.proj.bias', (dec, )), ('mlp.fc1.weight',
                                                          (4 * dec, dec)),
                            ('mlp.fc2.bias', (dec, ))):
            sd[f'decoder_blocks.{i}.{name}'] = torch.randn(*shape)
    return sd


def run_converter(script, *argv, monkeypatch):
    monkeypatch.setattr(sys, 'argv', [script, *map(str, argv)])
    runpy.run_path(osp.join(CONVERTERS, script), run_name='__main__')


def tiny_vit(img_size, **kwargs):
    from mmpretrain.models import VisionTransformer
    arch = dict(
        embed_dims=64, num_layers=2, num_heads=4, feedforward_channels=128)
    return VisionTransformer(
        arch=arch, img_size=img_size, patch_size=16, **kwargs)


# --------------------------------------------------------------------------
def test_released_vit_b_gives_timm_features(tmp_path):
    from mmpretrain.models import VisionTransformer
    timm_sd = make_timm_vit()
    released = dict(model={**timm_sd, **mae_decoder_keys()})
    torch.save(released, tmp_path / 'released.pth')

    vit = VisionTransformer(
        arch='b', img_size=224, patch_size=16, out_type='raw')
    vit.eval()
    load_vit_backbone_weights(vit, str(tmp_path / 'released.pth'), strict=True)

    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = vit(x)[0]
        ref = timm_vit_forward(timm_sd, x, num_heads=12)
    assert ours.shape == (1, 197, 768)
    assert ref.abs().mean() > 0.1  # not a degenerate all-zero comparison
    assert (ours - ref).abs().max().item() < 1e-4

    # back from the loaded model to timm names: bit-exact
    back = mmpretrain_to_timm(vit.state_dict())
    assert set(back) == set(timm_sd)
    for k, v in timm_sd.items():
        assert torch.equal(back[k], v), k


def test_round_trip_key_maps_are_exact():
    timm_sd = {
        **make_timm_vit(embed=8, depth=3, mlp=16), 'fc_norm.weight':
        torch.randn(8),
        'blocks.1.ls1.gamma': torch.randn(8)
    }
    mm = timm_to_mmpretrain(timm_sd)
    assert 'layers.2.ffn.layers.0.0.weight' in mm and 'ln1.bias' in mm
    assert mm['ln2.weight'] is timm_sd['fc_norm.weight']
    back = mmpretrain_to_timm(mm)
    assert list(back) == list(timm_sd)
    assert all(torch.equal(back[k], v) for k, v in timm_sd.items())

    whole = {
        **timm_sd,
        **mae_decoder_keys(embed=8), 'head.weight': torch.randn(5, 8)
    }
    mm, rest = convert_model(whole, to='mmpretrain')
    assert rest == []
    assert 'backbone.layers.0.attn.qkv.weight' in mm
    assert 'neck.decoder_blocks.0.ffn.layers.0.0.weight' in mm
    assert 'neck.ln1.weight' in mm and 'head.layers.head.weight' in mm
    back, rest = convert_model(mm, to='timm')
    assert rest == [] and set(back) == set(whole)
    assert all(torch.equal(back[k], v) for k, v in whole.items())


def test_detect_layout():
    timm_sd = make_timm_vit(embed=8, depth=1, mlp=16)
    assert detect_layout(timm_sd) == 'timm'
    assert detect_layout({'encoder.' + k: v for k, v in timm_sd.items()}) \
        == 'timm'
    mm = {'backbone.' + k: v for k, v in timm_to_mmpretrain(timm_sd).items()}
    assert detect_layout(mm) == 'mmpretrain'
    with pytest.raises(ValueError, match='neither'):
        detect_layout({'layers.0.attn.attn.in_proj_weight': torch.zeros(1)})


MODEL_CFG = osp.join(REPO, 'configs', '_base_', 'models',
                     'selectivemae_vit-base-p16.py')


@pytest.fixture(scope='module')
def demo_checkpoint(tmp_path_factory):
    """A SelectiveMAE checkpoint with the demo config's encoder and decoder
    sizes at patch 16 / 224 px (like the released one), saved the way
    mmengine's runner saves it."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(MODEL_CFG)
    arch = dict(
        embed_dims=192, num_layers=4, num_heads=3, feedforward_channels=768)
    cfg.model.backbone.arch = arch
    cfg.model.neck.update(
        embed_dim=192,
        decoder_embed_dim=128,
        decoder_depth=2,
        decoder_num_heads=4)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = tmp_path_factory.mktemp('demo_pretrain') / 'epoch_20.pth'
    torch.save(
        dict(meta=dict(epoch=20, iter=40), state_dict=model.state_dict()),
        path)
    return path, arch, cfg.model


@pytest.mark.parametrize('img_size', [512, 1024, (512, 1024)])
def test_demo_checkpoint_to_backbone_file_loads_at_size(
        tmp_path, monkeypatch, demo_checkpoint, img_size):
    ckpt, arch, _ = demo_checkpoint
    src = torch.load(ckpt, weights_only=True)['state_dict']
    assert any(k.startswith('neck.') for k in src)
    run_converter(
        'extract_backbone.py',
        ckpt,
        tmp_path / 'backbone.pth',
        monkeypatch=monkeypatch)
    backbone_file = torch.load(tmp_path / 'backbone.pth', weights_only=True)
    assert all(not k.startswith(('backbone.', 'neck.', 'head.'))
               for k in backbone_file['state_dict'])
    C = arch['embed_dims']
    h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
    grid = src['backbone.pos_embed'][0, 1:].reshape(1, 14, 14, C)
    assert grid.std() > 0.1  # a real (sin-cos) embedding, not zeros
    ref = F.interpolate(
        grid.permute(0, 3, 1, 2),
        size=(h // 16, w // 16),
        mode='bicubic',
        align_corners=False)
    ref = ref.flatten(2).transpose(1, 2)

    for vit in _downstream_backbones(img_size, arch):
        vit.eval()
        load_vit_backbone_weights(
            vit, str(tmp_path / 'backbone.pth'), strict=True)
        sd = vit.state_dict()
        for k in ('layers.3.attn.qkv.weight', 'layers.0.ffn.layers.1.bias',
                  'patch_embed.projection.weight'):
            assert torch.equal(sd[k], src['backbone.' + k]), k
        # the 14x14 grid is resized bicubically to the backbone's grid
        extra = 0 if vit.cls_token is None else 1
        assert sd['pos_embed'].shape == (1, extra + h * w // 256, C)
        assert torch.allclose(sd['pos_embed'][:, extra:], ref, atol=1e-5)
        if extra:
            assert torch.equal(sd['cls_token'], src['backbone.cls_token'])
            assert torch.equal(sd['pos_embed'][:, 0],
                               src['backbone.pos_embed'][:, 0])
    with torch.no_grad():  # the windowed detection backbone runs
        feats = vit(torch.randn(1, 3, h, w))
    assert [f.shape for f in feats] == [(1, C, h // 16, w // 16)] * 2


def _downstream_backbones(img_size, arch):
    """mmpretrain's ViT and our detection/segmentation backbone (global and
    windowed attention)."""
    from mmpretrain.models import VisionTransformer

    from selective_mae.models.backbones import PlainViT
    yield VisionTransformer(
        arch=arch,
        img_size=img_size,
        patch_size=16,
        out_type='featmap',
        out_indices=(1, 3),
        final_norm=False)
    yield PlainViT(
        arch=arch,
        img_size=img_size,
        patch_size=16,
        out_indices=(1, 3),
        with_cls_token=True)
    yield PlainViT(
        arch=arch,
        img_size=img_size,
        patch_size=16,
        out_indices=(1, 3),
        window_size=14,
        global_attn_indexes=(1, 3))


def test_third_layout_fails_naming_keys(tmp_path):
    mmseg_layout = {
        'patch_embed.projection.weight': torch.zeros(64, 3, 16, 16),
        'layers.0.attn.attn.in_proj_weight': torch.zeros(192, 64),
        'layers.0.attn.attn.out_proj.weight': torch.zeros(64, 64),
    }
    torch.save({'state_dict': mmseg_layout}, tmp_path / 'mmseg_vit.pth')
    with pytest.raises(ValueError) as err:
        load_vit_backbone_weights(
            tiny_vit(224), str(tmp_path / 'mmseg_vit.pth'))
    msg = str(err.value)
    assert 'mmseg_vit.pth' in msg
    assert 'missing keys' in msg and "'layers.0.attn.qkv.weight'" in msg
    assert 'unexpected keys' in msg
    assert "'layers.0.attn.attn.in_proj_weight'" in msg


def test_pretrained_files_load_as_weights_only(tmp_path):
    torch.save(
        {
            'model': make_timm_vit(embed=64, depth=2, mlp=128),
            'args': _NotATensor()
        }, tmp_path / 'pickled.pth')
    with pytest.raises(pickle.UnpicklingError):
        load_vit_backbone_weights(tiny_vit(224), str(tmp_path / 'pickled.pth'))


class _NotATensor:
    pass


def test_converters_refuse_unmatched_keys(tmp_path, monkeypatch):
    sd = make_timm_vit(embed=64, depth=2, mlp=128)
    cross_decoder = {'decoder_blocks.0.cross_attn.q.weight': torch.zeros(2)}
    torch.save({'model': {**sd, **cross_decoder}}, tmp_path / 'released.pth')
    out = tmp_path / 'out.pth'
    with pytest.raises(SystemExit, match='cross_attn.q.weight'):
        run_converter(
            'convert_vit.py',
            '--to=mmpretrain',
            tmp_path / 'released.pth',
            out,
            monkeypatch=monkeypatch)
    assert not out.exists()

    run_converter(
        'convert_vit.py',
        '--to=mmpretrain',
        tmp_path / 'released.pth',
        out,
        '--backbone-only',
        monkeypatch=monkeypatch)
    mm = torch.load(out, weights_only=True)['state_dict']
    assert set(mm) == set(timm_to_mmpretrain(sd))

    run_converter(
        'convert_vit.py',
        '--to=timm',
        out,
        tmp_path / 'timm.pth',
        monkeypatch=monkeypatch)
    back = torch.load(tmp_path / 'timm.pth', weights_only=True)['model']
    assert set(back) == set(sd)
    assert all(torch.equal(back[k], v) for k, v in sd.items())


def test_released_encoder_starts_our_pretraining(tmp_path, monkeypatch,
                                                 demo_checkpoint):
    """Released file (timm encoder + a decoder we cannot map) ->
    ``--allow-unmatched`` -> ``load_from`` of a SelectiveMAE model."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import MODELS
    ckpt, _, model_cfg = demo_checkpoint
    src = torch.load(ckpt, weights_only=True)['state_dict']
    encoder = {
        k[len('backbone.'):]: v
        for k, v in src.items() if k.startswith('backbone.')
    }
    released = {
        **mmpretrain_to_timm(encoder),
        'decoder_blocks.0.cross_attn.q.weight': torch.zeros(4, 4)
    }
    torch.save({'model': released}, tmp_path / 'released.pth')
    out = tmp_path / 'for_load_from.pth'
    run_converter('convert_vit.py', '--to=mmpretrain',
                  tmp_path / 'released.pth', out, '--allow-unmatched',
                  monkeypatch=monkeypatch)
    init_default_scope('mmpretrain')
    model = MODELS.build(model_cfg)
    load_checkpoint(model, str(out), map_location='cpu')
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, src['backbone.' + k]), k
