"""The SelectiveMAE algorithm: loss against a written-out reference,
per-sample loss and weights, gradients, overfitting, layouts."""
import copy

import pytest
import torch

from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import selective_mae  # noqa: F401
from selective_mae.testing.tiny_models import TINY_SELECTIVE_MAE

TINY = dict(
    copy.deepcopy(TINY_SELECTIVE_MAE),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])


def build(**overrides):
    cfg = copy.deepcopy(TINY)
    for key, value in overrides.items():
        cfg[key].update(value)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples(n):
    return [DataSample() for _ in range(n)]


def smooth_images(n, size=32, seed=0):
    """Images of a few smooth blobs: learnable, not noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randn(n, 3, 4, 4, generator=g)
    return torch.nn.functional.interpolate(
        coarse, size=(size, size), mode='bicubic', align_corners=False)


def reference_loss(pred, imgs, ids_rec, p):
    """Per-image loss with explicit slicing: target patch pixels in
    (row, col, channel) order, normalised by the patch's mean and unbiased
    variance, squared error averaged over targets and pixels."""
    B, C, H, W = imgs.shape
    w = W // p
    out = torch.zeros(B)
    for b in range(B):
        errs = []
        for j, idx in enumerate(ids_rec[b].tolist()):
            r, c = divmod(idx, w)
            patch = imgs[b, :, r * p:(r + 1) * p, c * p:(c + 1) * p]
            target = patch.permute(1, 2, 0).reshape(-1)
            target = (target - target.mean()) / (target.var() + 1e-6)**.5
            errs.append(((pred[b, j] - target)**2).mean())
        out[b] = torch.stack(errs).mean()
    return out


def test_loss_equals_reference_and_per_sample_loss():
    model = build()
    captured = {}
    model.selector.register_forward_hook(
        lambda m, i, o: captured.update(ids=o))
    model.neck.register_forward_hook(lambda m, i, o: captured.update(pred=o))
    imgs = torch.randn(3, 3, 32, 32)
    loss = model.loss(imgs, samples(3))['loss']
    ids_vis, ids_rec = captured['ids']
    assert ids_vis.shape == (3, 4) and ids_rec.shape == (3, 4)
    assert captured['pred'].shape == (3, 4, 8 * 8 * 3)
    ref = reference_loss(captured['pred'].detach(), imgs, ids_rec, 8)
    per_sample = model.per_sample_loss
    assert per_sample.shape == (3, ) and not per_sample.requires_grad
    assert per_sample.dtype == torch.float32
    torch.testing.assert_close(per_sample, ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(loss.detach(), ref.mean(), rtol=1e-4,
                               atol=1e-5)


def test_loss_weights_travel_with_the_batch():
    model = build()
    imgs = torch.randn(4, 3, 32, 32)
    weights = torch.tensor([0., 2., 1., 0.5])
    batch = samples(4)
    for d, w in zip(batch, weights.tolist()):
        d.set_metainfo(dict(loss_weight=w))
    loss = model.loss(imgs, batch)['loss']
    torch.testing.assert_close(loss.detach(),
                               (model.per_sample_loss * weights).mean())
    # a batch without weights is a plain mean: nothing is remembered
    loss = model.loss(imgs, samples(4))['loss']
    torch.testing.assert_close(loss.detach(), model.per_sample_loss.mean())
    # some samples weighted, others not: an error that says so
    partial = samples(4)
    partial[1].set_metainfo(dict(loss_weight=1.))
    with pytest.raises(ValueError, match="3 of the 4 .*'loss_weight'"):
        model.loss(imgs, partial)


def test_train_step_without_the_progress_hook_names_it():
    from mmengine.optim import OptimWrapper
    model = build()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    data = dict(inputs=torch.randn(2, 3, 32, 32),
                data_samples=samples(2))
    with pytest.raises(RuntimeError, match='PSTSProgressHook'):
        model.train_step(data, wrapper)
    model.selector.set_progress(0.)  # what the hook does
    assert model.train_step(data, wrapper)['loss'].isfinite()


def test_forward_step_is_the_step_of_loss():
    model = build()
    imgs = torch.randn(3, 3, 32, 32)
    torch.manual_seed(0)
    step = model.forward_step(imgs, samples(3))
    torch.manual_seed(0)
    loss = model.loss(imgs, samples(3))['loss']
    assert step.ids_vis.shape == (3, 4) and step.ids_rec.shape == (3, 4)
    assert step.pred.shape == (3, 4, 8 * 8 * 3)
    assert step.patch_resolution == (4, 4)
    torch.testing.assert_close(step.per_sample_loss.detach(),
                               model.per_sample_loss)
    torch.testing.assert_close(loss.detach(), step.per_sample_loss.mean())


@pytest.mark.parametrize('self_attn', [False, True])
def test_every_parameter_gets_a_gradient(self_attn):
    model = build(neck=dict(self_attn=self_attn))
    model.loss(torch.randn(2, 3, 32, 32), samples(2))['loss'].backward()
    params = dict(model.named_parameters())
    missing = [n for n, p in params.items()
               if p.requires_grad and (p.grad is None or not p.grad.any())]
    assert not missing
    # only the fixed sin-cos position embedding is frozen
    assert [n for n, p in params.items() if not p.requires_grad] == \
        ['backbone.pos_embed']


def test_batch_one_non_square_and_feature_extraction():
    model = build()
    loss = model.loss(torch.randn(1, 3, 32, 32), samples(1))['loss']
    assert loss.isfinite()
    loss = model.loss(torch.randn(2, 3, 48, 64), samples(2))['loss']  # L=48
    assert loss.isfinite() and model.per_sample_loss.shape == (2, )
    feats = model.extract_feat(torch.randn(2, 3, 32, 32))
    assert feats[0].shape == (2, 17, 64)  # raw: cls + 16 patches


def test_backbone_state_dict_loads_into_mmpretrain_vit():
    model = build()
    vit = MODELS.build(
        dict(type='VisionTransformer', arch=TINY['backbone']['arch'],
             img_size=32, patch_size=8, out_type='cls_token'))
    vit.load_state_dict(model.backbone.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    model.backbone.eval()
    vit.eval()
    torch.testing.assert_close(vit(x)[0], model.backbone(x)[0][:, 0])


def test_tiny_model_overfits_one_batch():
    model = build()
    imgs = smooth_images(4)
    optim = torch.optim.AdamW(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(50):
        torch.manual_seed(0)  # the same visible tokens and targets each step
        loss = model.loss(imgs, samples(4))['loss']
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last <= 0.5 * first, (first, last)


def test_patch_size_mismatch_is_reported():
    with pytest.raises(ValueError, match='patch size'):
        build(head=dict(patch_size=16))
