"""The released SelectiveMAE checkpoints, converted whole into our model.

A state dict with the released ViT-B key list and shapes
(``tests/data/released_layout/``, random values) goes through the
converter; the result loads into the ``-released`` config with no missing
key, the dropped keys are exactly the unused ones, and our model's loss on a
fixed batch equals the released forward, written out here from the released
code (``models_selectivemae.py``, ``transformer_utils.py``) on the same
weights and the same token choice."""
import argparse
import math
import os.path as osp
import pickle
import runpy
import sys

import pytest
import torch
import torch.nn.functional as F

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LAYOUT = osp.join(REPO, 'tests', 'data', 'released_layout',
                  'selectivemae_vit-{}-p16_dec8_keys.txt')
CONFIG = osp.join(REPO, 'configs', 'selectivemae',
                  'selectivemae_vit-{}-p16_8xb256-amp-coslr-800e_rs4m-'
                  'released.py')
CONVERTERS = osp.join(REPO, 'tools', 'model_converters')
UNUSED_PREFIXES = ('decoder_embed1.', 'get_token_probs', 'pos_embed_probs',
                   'hog.')


def read_layout(arch):
    """``{key: shape}`` of a released model, in file order."""
    shapes = {}
    with open(LAYOUT.format(arch)) as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            key, shape = line.rstrip('\n').split('\t')
            shapes[key] = tuple(int(s) for s in shape.split('x'))
    return shapes


def random_released(shapes, seed=0):
    """Random tensors of the released shapes, scaled so that every layer
    matters: linear weights ~ N(0, 1 / fan_in) (outputs of unit size, so the
    prediction is far from zero), norm weights near 1, the rest N(0, 1)
    (biases 0.1)."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for key, shape in shapes.items():
        value = torch.randn(*shape, generator=g)
        if 'norm' in key and key.endswith('weight'):
            value = 1 + 0.1 * value
        elif key.endswith('.weight') and len(shape) >= 2:
            value = value / math.prod(shape[1:])**.5
        elif key.endswith('.bias'):
            value = 0.1 * value
        sd[key] = value
    return sd


def build_released_model(arch='base', meta=False):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import selective_mae  # noqa: F401
    cfg = Config.fromfile(CONFIG.format(arch))
    init_default_scope('mmpretrain')
    if meta:
        with torch.device('meta'):
            return MODELS.build(cfg.model), cfg
    torch.manual_seed(0)
    return MODELS.build(cfg.model), cfg


def run_converter(argv, monkeypatch, capsys):
    script = 'selectivemae_released_to_mmpretrain.py'
    monkeypatch.setattr(sys, 'argv', [script, *map(str, argv)])
    runpy.run_path(osp.join(CONVERTERS, script), run_name='__main__')
    return capsys.readouterr().out


@pytest.fixture(scope='module')
def released_vit_b(tmp_path_factory):
    shapes = read_layout('base')
    sd = random_released(shapes)
    path = tmp_path_factory.mktemp('released') / 'selectivemae_vitb.pth'
    # the released training script also saves its argparse namespace
    torch.save(dict(model=sd, epoch=799, args=argparse.Namespace(
        model='mae_vit_base_patch16', decoder_depth=8)), path)
    return sd, path


@pytest.fixture(scope='module')
def converted_vit_b(released_vit_b, tmp_path_factory):
    from _pytest.monkeypatch import MonkeyPatch

    from selective_mae.checkpoint import convert_released_selectivemae
    sd, path = released_vit_b
    dst = tmp_path_factory.mktemp('converted') / 'selectivemae_vitb_mm.pth'
    mp = MonkeyPatch()
    try:
        script = 'selectivemae_released_to_mmpretrain.py'
        mp.setattr(sys, 'argv', [
            script, str(path), str(dst), '--config',
            CONFIG.format('base')
        ])
        runpy.run_path(osp.join(CONVERTERS, script), run_name='__main__')
    finally:
        mp.undo()
    _, dropped, _ = convert_released_selectivemae(sd)
    return dst, dropped


def test_released_vit_b_converts_whole(released_vit_b, converted_vit_b):
    sd, _ = released_vit_b
    dst, dropped = converted_vit_b
    unused = {k for k in sd if k.startswith(UNUSED_PREFIXES)}
    assert len(unused) == 21
    assert set(dropped) == unused
    assert all(dropped[k] for k in dropped)  # every drop has its reason

    ckpt = torch.load(dst, weights_only=True)
    out = ckpt['state_dict']
    assert set(ckpt['meta']['dropped_keys']) == unused
    # every other released tensor is kept, one to one
    assert len(out) == len(sd) - len(unused)
    assert torch.equal(out['neck.mask_token'], sd['mask_token'])
    assert torch.equal(out['neck.decoder_pos_embed'], sd['decoder_pos_embed'])
    assert torch.equal(out['neck.decoder_blocks.7.cross_attn.kv.weight'],
                       sd['decoder_blocks.7.cross_attn.kv.weight'])
    assert torch.equal(out['backbone.layers.11.ffn.layers.1.weight'],
                       sd['blocks.11.mlp.fc2.weight'])
    assert torch.equal(out['backbone.pos_embed'][:, 1:],
                       sd['pos_embed'][:, 1:])
    # the cls slot the released encoder never adds is zeroed
    assert sd['pos_embed'][:, 0].abs().max() > 0
    assert not out['backbone.pos_embed'][:, 0].any()

    # no missing and no unexpected key in the -released config's model
    model, _ = build_released_model('base')
    result = model.load_state_dict(out, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_released_vit_l_layout_fits_the_vit_l_config():
    from selective_mae.checkpoint import convert_released_selectivemae
    shapes = read_layout('large')
    with torch.device('meta'):
        sd = {k: torch.empty(s) for k, s in shapes.items()}
    sd['pos_embed'] = torch.zeros(shapes['pos_embed'])
    out, dropped, notes = convert_released_selectivemae(sd)
    assert set(dropped) == {k for k in sd if k.startswith(UNUSED_PREFIXES)}
    assert not notes
    model, _ = build_released_model('large', meta=True)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in out.items()} == expected


# --------------------------------------------------------------------------
# The released forward, written out from its source.
# --------------------------------------------------------------------------
def _attn(q, k, v, heads):
    B, N, C = q.shape
    d = C // heads
    q = q.reshape(B, N, heads, d).transpose(1, 2)
    k = k.reshape(B, -1, heads, d).transpose(1, 2)
    v = v.reshape(B, -1, heads, d).transpose(1, 2)
    a = (q @ k.transpose(-2, -1) / math.sqrt(d)).softmax(-1)
    return (a @ v).transpose(1, 2).reshape(B, N, C)


def _ln(x, sd, name):
    return F.layer_norm(x, x.shape[-1:], sd[name + '.weight'],
                        sd[name + '.bias'], 1e-6)


def _lin(x, sd, name):
    return F.linear(x, sd[name + '.weight'], sd.get(name + '.bias'))


def released_loss(sd, imgs, ids_vis, ids_rec, heads=12, dec_heads=16,
                  p=16):
    """``MaskedAutoencoderViT.forward`` of the released code, with the
    token choice given: per-image loss [B]."""
    B = imgs.shape[0]
    # grid_patchify: patch embedding + pos_embed[:, 1:]
    x = F.conv2d(imgs, sd['patch_embed.proj.weight'],
                 sd['patch_embed.proj.bias'], stride=p)
    x = x.flatten(2).transpose(1, 2) + sd['pos_embed'][:, 1:]
    D = x.shape[-1]
    # random_masking -> the selected tokens; the cls token without any
    # position embedding
    x = torch.gather(x, 1, ids_vis[..., None].expand(-1, -1, D))
    x = torch.cat([sd['cls_token'].expand(B, -1, -1), x], 1)
    depth = 1 + max(int(k.split('.')[1]) for k in sd if k.startswith(
        'blocks.'))
    for i in range(depth):
        b = f'blocks.{i}.'
        h = _ln(x, sd, b + 'norm1')
        q, k, v = _lin(h, sd, b + 'attn.qkv').chunk(3, dim=-1)
        x = x + _lin(_attn(q, k, v, heads), sd, b + 'attn.proj')
        h = F.gelu(_lin(_ln(x, sd, b + 'norm2'), sd, b + 'mlp.fc1'))
        x = x + _lin(h, sd, b + 'mlp.fc2')
    y = _ln(x, sd, 'norm')
    # mask_tokens_grid: decoder_pos_embed[:, 1:] at the masked (target)
    # positions, in index order, plus the mask token
    L = sd['decoder_pos_embed'].shape[1] - 1
    mask = torch.zeros(B, L, dtype=torch.bool)
    mask.scatter_(1, ids_rec, True)
    C = sd['mask_token'].shape[-1]
    x = sd['decoder_pos_embed'][:, 1:].expand(B, -1, -1)[mask].reshape(
        B, -1, C) + sd['mask_token']
    dec_depth = 1 + max(
        int(k.split('.')[1]) for k in sd if k.startswith('decoder_blocks.'))
    for i in range(dec_depth):
        b = f'decoder_blocks.{i}.'
        q = _lin(_ln(x, sd, b + 'norm1'), sd, b + 'cross_attn.q')
        k, v = _lin(y, sd, b + 'cross_attn.kv').chunk(2, dim=-1)
        x = x + _lin(_attn(q, k, v, dec_heads), sd, b + 'cross_attn.proj')
        h = F.gelu(_lin(_ln(x, sd, b + 'norm2'), sd, b + 'mlp.fc1'))
        x = x + _lin(h, sd, b + 'mlp.fc2')
    pred = _lin(_ln(x, sd, 'decoder_norm'), sd, 'decoder_pred')
    # forward_loss_sampling with norm_pix_loss
    n = imgs.shape[-1] // p
    target = imgs.reshape(B, 3, n, p, n, p)
    target = torch.einsum('nchpwq->nhwpqc', target).reshape(B, n * n, -1)
    target = target[mask].reshape(B, -1, target.shape[-1])
    mean = target.mean(dim=-1, keepdim=True)
    var = target.var(dim=-1, keepdim=True)
    target = (target - mean) / (var + 1.e-6)**.5
    return ((pred - target)**2).mean(dim=-1).mean(dim=-1)


def test_converted_model_loss_equals_released_forward(released_vit_b,
                                                       converted_vit_b):
    from mmengine.runner import load_checkpoint
    from mmpretrain.structures import DataSample
    sd, _ = released_vit_b
    dst, _ = converted_vit_b
    model, _ = build_released_model('base')
    load_checkpoint(model, str(dst), map_location='cpu', strict=True)
    model.eval()
    captured = {}
    model.selector.register_forward_hook(
        lambda m, i, o: captured.update(ids=o))
    g = torch.Generator().manual_seed(1)
    imgs = torch.randn(2, 3, 224, 224, generator=g)
    torch.manual_seed(0)
    with torch.no_grad():
        losses = model.loss(imgs, [DataSample() for _ in range(2)])
        ids_vis, ids_rec = captured['ids']
        assert ids_vis.shape == (2, 29) and ids_rec.shape == (2, 49)
        ref = released_loss(sd, imgs, ids_vis, ids_rec)
    assert ref.min() > 0.5  # a real reconstruction error, not a zero
    torch.testing.assert_close(model.per_sample_loss, ref, rtol=0,
                               atol=1e-5)
    torch.testing.assert_close(losses['loss'], ref.mean(), rtol=0, atol=1e-5)
    assert torch.equal(losses['recon_unweighted'], losses['loss'])

    # The tolerance tells models apart: with the cls slot of pos_embed left
    # as stored (added to the cls token by our encoder, not by theirs) the
    # same batch and tokens give a loss off by far more than 1e-5.
    model.backbone.pos_embed.data.copy_(sd['pos_embed'])
    torch.manual_seed(0)
    with torch.no_grad():
        model.loss(imgs, [DataSample() for _ in range(2)])
    assert torch.equal(captured['ids'][1], ids_rec)
    assert (model.per_sample_loss - ref).abs().max() > 1e-4


def test_load_from_continues_pretraining_and_feeds_downstream(
        converted_vit_b):
    """``load_from`` (mmengine's load_checkpoint) of the converted file, one
    optimizer step of the released recipe's parameter groups; its encoder
    loads into a downstream backbone at another image size."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import load_checkpoint
    from mmpretrain.structures import DataSample

    from selective_mae.models.backbones import PlainViT
    from selective_mae.checkpoint import load_vit_backbone_weights
    dst, _ = converted_vit_b
    model, cfg = build_released_model('base')
    load_checkpoint(model, str(dst), map_location='cpu', strict=True)
    model.train()
    # the released recipe's groups on a plain (CPU) optimizer wrapper
    optim_cfg = dict(
        type='OptimWrapper',
        constructor=cfg.optim_wrapper.constructor,
        optimizer=cfg.optim_wrapper.optimizer,
        paramwise_cfg=cfg.optim_wrapper.paramwise_cfg)
    optim = build_optim_wrapper(model, optim_cfg)
    wd = {id(p): g['weight_decay'] for g in optim.optimizer.param_groups
          for p in g['params']}
    assert wd[id(model.backbone.cls_token)] == 0.05  # timm: decayed (3-D)
    assert wd[id(model.neck.mask_token)] == 0.05
    assert wd[id(model.backbone.layers[0].attn.qkv.weight)] == 0.05
    assert wd[id(model.backbone.layers[0].attn.qkv.bias)] == 0.
    assert wd[id(model.neck.decoder_blocks[0].ln_q.weight)] == 0.
    before = model.neck.decoder_blocks[0].cross_attn.kv.weight.detach(
    ).clone()
    loss = model.loss(torch.randn(2, 3, 224, 224),
                      [DataSample() for _ in range(2)])['loss']
    optim.update_params(loss)
    assert torch.isfinite(loss)
    assert not torch.equal(before,
                           model.neck.decoder_blocks[0].cross_attn.kv.weight)

    vit = PlainViT(arch='b', img_size=512, out_indices=(3, 11))
    load_vit_backbone_weights(vit, str(dst), strict=True)
    src = torch.load(dst, weights_only=True)['state_dict']
    assert torch.equal(vit.layers[5].attn.qkv.weight,
                       src['backbone.layers.5.attn.qkv.weight'])
    assert vit.pos_embed.shape == (1, 32 * 32, 768)


def test_converter_refuses_unknown_and_partial_files(tmp_path, monkeypatch,
                                                      capsys):
    from selective_mae.checkpoint import convert_released_selectivemae
    shapes = read_layout('base')
    with torch.device('meta'):
        sd = {k: torch.empty(s) for k, s in shapes.items()}
    with pytest.raises(ValueError, match='decoder_extra.weight'):
        convert_released_selectivemae({**sd, 'decoder_extra.weight': 0})
    no_pred = {k: v for k, v in sd.items() if not k.startswith('decoder_pred')}
    with pytest.raises(ValueError, match='neck.decoder_pred.weight'):
        convert_released_selectivemae(no_pred)
    mae_like = {k: v for k, v in sd.items() if 'cross_attn' not in k}
    with pytest.raises(ValueError, match='not a released SelectiveMAE'):
        convert_released_selectivemae(mae_like)

    # the whole-model timm converter points released files here
    small = {k: torch.zeros(1) for k in sd}
    torch.save({'model': small}, tmp_path / 'released.pth')
    for extra in ([], ['--allow-unmatched']):
        monkeypatch.setattr(sys, 'argv', [
            'convert_vit.py', '--to=mmpretrain',
            str(tmp_path / 'released.pth'),
            str(tmp_path / 'out.pth'), *extra
        ])
        with pytest.raises(SystemExit,
                           match='selectivemae_released_to_mmpretrain.py'):
            runpy.run_path(osp.join(CONVERTERS, 'convert_vit.py'),
                           run_name='__main__')
        assert not (tmp_path / 'out.pth').exists()


def test_weights_only_load_accepts_the_released_args_only(tmp_path):
    from selective_mae.checkpoint import load_checkpoint_file
    torch.save({'model': {}, 'args': argparse.Namespace(blr=1.5e-4)},
               tmp_path / 'ok.pth')
    assert load_checkpoint_file(str(tmp_path / 'ok.pth'))['args'].blr == \
        1.5e-4
    torch.save({'model': {}, 'args': _Other()}, tmp_path / 'bad.pth')
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint_file(str(tmp_path / 'bad.pth'))


class _Other:
    pass


def test_per_block_decoder_is_the_released_architecture():
    from mmpretrain.registry import MODELS

    import selective_mae  # noqa: F401
    dec = MODELS.build(
        dict(type='CrossAttentionDecoder', img_size=32, patch_size=8,
             embed_dim=48, decoder_embed_dim=32, decoder_depth=2,
             decoder_num_heads=4, memory_proj='per_block'))
    keys = set(dec.state_dict())
    assert not any(k.startswith('decoder_embed.') for k in keys)
    assert not any('ln_kv' in k for k in keys)
    assert dec.decoder_blocks[0].cross_attn.kv.in_features == 48
    assert dec.decoder_blocks[0].cross_attn.kv.out_features == 64
    assert dec.state_dict()['decoder_pos_embed'].shape == (1, 17, 32)
    latent = torch.randn(2, 5, 48)
    ids = torch.tensor([[0, 3, 15], [1, 2, 4]])
    assert dec(latent, ids, (4, 4)).shape == (2, 3, 8 * 8 * 3)
    # another grid: the stored table, resized
    assert dec(latent, torch.tensor([[0, 23], [5, 6]]),
               (4, 6)).shape == (2, 2, 192)
    with pytest.raises(ValueError, match='memory_proj'):
        MODELS.build(dict(type='CrossAttentionDecoder', memory_proj='x'))


@pytest.mark.parametrize('name,depth,warmup', [
    ('base', 8, 10), ('base-p16-dec12', 12, 30), ('large', 8, 10)])
def test_released_recipe(name, depth, warmup):
    from mmengine.config import Config
    path = CONFIG.format(name) if name != 'base-p16-dec12' else osp.join(
        REPO, 'configs', 'selectivemae', 'selectivemae_vit-base-p16-dec12_'
        '8xb256-amp-coslr-800e_rs4m-released.py')
    cfg = Config.fromfile(path)
    neck = cfg.model.neck
    assert neck.memory_proj == 'per_block'
    assert (neck.decoder_depth, neck.decoder_embed_dim) == (depth, 512)
    assert neck.embed_dim == (1024 if name == 'large' else 768)
    warm, cosine = cfg.param_scheduler
    assert warm.end == warmup and cosine.begin == warmup  # train.sh / README
    assert cosine.end == cfg.train_cfg.max_epochs == 800
    assert cosine.eta_min == 0
    loader = cfg.train_dataloader
    assert loader.drop_last is True and loader.batch_size == 256
    assert (loader.sampler.type, loader.sampler.prune_ratio,
            loader.sampler.delta) == ('InfoBatchSampler', 0.5, 0.875)
    optim = cfg.optim_wrapper
    assert (optim.type, optim.dtype) == ('AmpOptimWrapper', 'float16')
    assert optim.optimizer.lr == pytest.approx(1.5e-4 * 2048 / 256 * 0.25 /
                                               0.85)
    assert optim.optimizer.betas == (0.9, 0.95)
    assert 'custom_keys' not in optim.paramwise_cfg
    assert cfg.model.selector.curriculum_bounds == pytest.approx(
        (0.35, 0.375, 0.725, 0.75))
    assert {h.type for h in cfg.custom_hooks} >= {'PSTSProgressHook',
                                                  'InfoBatchHook'}


def test_raw_reconstruction_loss_is_logged_not_summed():
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample

    import selective_mae  # noqa: F401
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='SelectiveMAE',
             backbone=dict(type='SelectiveMAEViT', arch=dict(
                 embed_dims=32, num_layers=1, num_heads=2,
                 feedforward_channels=64), img_size=32, patch_size=8),
             selector=dict(type='PSTS', mask_ratio=0.75, recon_ratio=0.25),
             neck=dict(type='CrossAttentionDecoder', img_size=32,
                       patch_size=8, embed_dim=32, decoder_embed_dim=16,
                       decoder_depth=1, decoder_num_heads=2,
                       memory_proj='per_block'),
             head=dict(type='SelectiveMAEPretrainHead', patch_size=8)))
    weights = torch.tensor([2., 0.])  # InfoBatch-style weights
    batch = [DataSample(metainfo=dict(loss_weight=w))
             for w in weights.tolist()]
    losses = model.loss(torch.randn(2, 3, 32, 32), batch)
    raw = model.per_sample_loss.mean()
    assert not losses['recon_unweighted'].requires_grad
    torch.testing.assert_close(losses['recon_unweighted'], raw)
    total, log_vars = model.parse_losses(losses)
    torch.testing.assert_close(total, (model.per_sample_loss *
                                       weights).mean())
    assert not torch.allclose(total, raw)
    torch.testing.assert_close(log_vars['recon_unweighted'], raw)


def test_unweighted_loss_is_smoothed_like_the_loss():
    """The RS-4M SelectiveMAE configs average ``recon_unweighted`` over the
    same window as ``loss`` in the logs (mmengine smooths only keys matching
    'loss|time' by default)."""
    from types import SimpleNamespace

    from mmengine.config import Config
    from mmengine.logging import MessageHub
    from mmengine.runner import LogProcessor
    cfg = Config.fromfile(CONFIG.format('base'))
    processor = LogProcessor(**cfg.log_processor)
    hub = MessageHub.get_instance('test_unweighted_loss_is_smoothed')
    for loss, raw in ((4., 3.), (2., 1.)):
        hub.update_scalar('train/loss', loss)
        hub.update_scalar('train/recon_unweighted', raw)
    tag = processor._collect_scalars(
        processor._parse_windows_size(None, 1),
        SimpleNamespace(message_hub=hub), 'train')
    assert tag['loss'] == 3. and tag['recon_unweighted'] == 2.
