"""The pretraining optimizer set-up: two parameter groups with the stated
membership, fused / multi-tensor AdamW, bf16 without a loss scaler and
without host synchronisation."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import selective_mae  # noqa: F401
from selective_mae.testing.tiny_models import TINY_MAE, TINY_SELECTIVE_MAE
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from selective_mae.engine.optimizers import decay_groups

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCHEDULE = osp.join(
    REPO, 'configs/_base_/schedules/'
    'rs4m_adamw-bf16_coslr-800e.py')
SELECTIVE = TINY_SELECTIVE_MAE
MAE = TINY_MAE


def _model(cfg):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    return model


def _schedule_wrapper(**optimizer):
    cfg = Config.fromfile(SCHEDULE).optim_wrapper.to_dict()
    cfg['optimizer'].update(lr=1e-3, **optimizer)
    return cfg


def _expected_no_decay(model):
    """The rule written out: 1-D tensors, and the token / position
    embedding parameters by name."""
    out = set()
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim == 1 or name.rsplit(
                '.', 1)[-1] in ('pos_embed', 'cls_token', 'mask_token'):
            out.add(name)
    return out


@pytest.mark.parametrize('cfg', [SELECTIVE, MAE], ids=['selectivemae', 'mae'])
def test_two_groups_with_the_stated_membership(cfg):
    model = _model(cfg)
    wrapper = build_optim_wrapper(model, _schedule_wrapper())
    groups = wrapper.optimizer.param_groups
    assert len(groups) == 2
    assert [g['weight_decay'] for g in groups] == [0.05, 0.]
    names = {id(p): n for n, p in model.named_parameters()}
    no_decay = {names[id(p)] for p in groups[1]['params']}
    decay = {names[id(p)] for p in groups[0]['params']}
    assert no_decay == _expected_no_decay(model)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert decay | no_decay == trainable and not decay & no_decay
    # our decoder's final norm, which substring-matched custom_keys ('ln')
    # missed (mmpretrain's MAE decoder calls its own `ln1`)
    norm = model.neck.decoder_norm.weight
    assert names[id(norm)] in no_decay
    assert 'neck.mask_token' in no_decay
    assert any(n.endswith('qkv.weight') for n in decay)


def test_previous_custom_keys_decayed_decoder_norm():
    """What the schedule did before: mmengine's per-parameter groups with
    substring custom_keys; decoder_norm.weight got weight decay."""
    model = _model(SELECTIVE)
    old = dict(
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
        paramwise_cfg=dict(
            custom_keys={
                k: dict(decay_mult=0.)
                for k in ('ln', 'bias', 'pos_embed', 'mask_token', 'cls_token')
            }))
    groups = build_optim_wrapper(model, old).optimizer.param_groups
    assert len(groups) > 20  # one group per parameter
    norm = model.neck.decoder_norm.weight
    assert [
        g['weight_decay'] for g in groups
        if any(p is norm for p in g['params'])
    ] == [0.05]


def test_fused_where_supported_else_foreach(monkeypatch):
    model = _model(SELECTIVE)
    opt = build_optim_wrapper(model, _schedule_wrapper()).optimizer
    fused = decay_groups.fused_supported(list(model.parameters()))
    assert opt.defaults.get('fused') is (True if fused else None)
    monkeypatch.setattr(decay_groups, 'fused_supported', lambda p: False)
    opt = build_optim_wrapper(model, _schedule_wrapper()).optimizer
    assert opt.defaults['foreach'] is True and not opt.defaults.get('fused')
    # an explicit choice is kept
    opt = build_optim_wrapper(model,
                              _schedule_wrapper(foreach=False)).optimizer
    assert opt.defaults['foreach'] is False


def test_timm_rule_and_bad_keys():
    model = _model(SELECTIVE)
    cfg = _schedule_wrapper()
    cfg['paramwise_cfg'] = dict(no_decay_names=())
    groups = build_optim_wrapper(model, cfg).optimizer.param_groups
    no_decay = {id(p) for p in groups[1]['params']}
    assert id(model.neck.mask_token) not in no_decay  # 3-D: decays
    assert all(p.ndim <= 1 for p in groups[1]['params'])
    cfg['paramwise_cfg'] = dict(custom_keys={'ln': dict(decay_mult=0.)})
    with pytest.raises(ValueError, match='custom_keys'):
        build_optim_wrapper(model, cfg)


def _batch(n=2):
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(n, 3, 32, 32, generator=g) * 255
    return dict(inputs=imgs, data_samples=[DataSample() for _ in range(n)])


def _count_host_syncs(fn):
    """``aten::_local_scalar_dense`` calls (``.item()``, ``bool(t)``, ...)
    in a profiled call, except inside ``Optimizer.step``: torch's CPU Adam
    kernels read their CPU-resident step counters that way, which on a GPU
    (fused kernels, device-side steps) they do not."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    count = 0
    for e in prof.events():
        if e.name != 'aten::_local_scalar_dense':
            continue
        parent, in_step = e.cpu_parent, False
        while parent is not None:
            in_step |= parent.name.startswith('Optimizer.step')
            parent = parent.cpu_parent
        count += not in_step
    return count


def test_bf16_step_without_scaler_has_no_host_sync():
    model = _model(
        dict(
            SELECTIVE,
            data_preprocessor=dict(
                type='SelfSupDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                to_rgb=False)))
    wrapper = build_optim_wrapper(model, _schedule_wrapper())
    assert type(wrapper).__name__ == 'BF16OptimWrapper'
    data = _batch()
    model.selector.set_progress(0.)  # what PSTSProgressHook does
    before = model.neck.decoder_pred.weight.detach().clone()
    model.train_step(data, wrapper)  # warm-up (lazy optimizer state)
    log = {}
    syncs = _count_host_syncs(
        lambda: log.update(model.train_step(data, wrapper)))
    assert syncs == 0
    assert torch.isfinite(log['loss'])
    assert not torch.equal(before, model.neck.decoder_pred.weight)
    # the forward ran in bf16
    seen = []
    h = model.backbone.layers[0].attn.qkv.register_forward_hook(
        lambda m, i, o: seen.append(o.dtype))
    model.train_step(data, wrapper)
    h.remove()
    assert seen == [torch.bfloat16]


def test_a_loss_scaler_step_does_sync():
    """The counter sees the sync of a GradScaler step (what
    AmpOptimWrapper does with a non-fused optimizer)."""
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([w], lr=0.1)
    scaler = torch.amp.GradScaler('cpu')

    def step():
        scaler.scale((w * 2).sum()).backward()
        scaler.step(opt)
        scaler.update()

    assert _count_host_syncs(step) > 0


def test_bf16_wrapper_state_and_dtype():
    from selective_mae.engine.optimizers import BF16OptimWrapper
    w = torch.nn.Parameter(torch.ones(3))
    wrapper = BF16OptimWrapper(optimizer=torch.optim.AdamW([w]))
    state = wrapper.state_dict()
    state['loss_scaler'] = {'scale': 65536.}  # an AmpOptimWrapper's
    wrapper.load_state_dict(state)
    with pytest.raises(ValueError, match='bfloat16'):
        BF16OptimWrapper(dtype='float16', optimizer=torch.optim.AdamW([w]))
