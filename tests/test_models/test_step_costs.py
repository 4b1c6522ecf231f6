"""Costs of a SelectiveMAE step that a test can see: the decoder's residual
stream in float32 under autocast, constant buffers (nothing for DDP to
broadcast), torch.compile of the encoder and decoder blocks."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import selective_mae  # noqa: F401
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from selective_mae.testing.tiny_models import TINY_MAE, TINY_SELECTIVE_MAE
from selective_mae.utils.regional_compile import (compile_encoder_decoder,
                                                  take_compile_key,
                                                  transformer_blocks)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = TINY_SELECTIVE_MAE


def _build(cfg=TINY, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    return model


def _samples(n):
    return [DataSample() for _ in range(n)]


@pytest.mark.parametrize('memory_proj', ['shared', 'per_block'])
def test_decoder_queries_stay_float32_under_bf16_autocast(memory_proj):
    cfg = copy.deepcopy(TINY)
    cfg['neck']['memory_proj'] = memory_proj
    model = _build(cfg)
    seen = []
    for block in model.neck.decoder_blocks:
        block.register_forward_pre_hook(
            lambda m, args: seen.append(args[0].dtype))
    model.neck.decoder_norm.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].dtype))
    linear_out = []
    model.neck.decoder_blocks[0].cross_attn.q.register_forward_hook(
        lambda m, i, o: linear_out.append(o.dtype))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = model.loss(torch.randn(2, 3, 32, 32), _samples(2))['loss']
    assert seen == [torch.float32] * 3
    assert linear_out == [torch.bfloat16]  # the matmuls still run in bf16
    loss.backward()


def test_buffers_are_constant_through_a_training_step():
    """Why the pretraining runtime sets ``broadcast_buffers=False``: no
    buffer of SelectiveMAE or MAE changes in training."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/_base_/rs4m_pretrain_runtime.py'))
    assert cfg.model_wrapper_cfg.broadcast_buffers is False
    mae = copy.deepcopy(TINY_MAE)
    mae['neck']['decoder_depth'] = 1
    for model_cfg in (TINY, mae):
        model = _build(model_cfg)
        before = {k: v.clone() for k, v in model.named_buffers()}
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
        for t in (0., 0.5, 0.9):
            if hasattr(model, 'selector'):
                model.selector.set_progress(t)
            model.loss(torch.randn(2, 3, 32, 32), _samples(2))['loss'] \
                .backward()
            opt.step()
        after = dict(model.named_buffers())
        assert set(after) == set(before)
        assert all(torch.equal(before[k], after[k]) for k in before)


def test_compile_of_encoder_and_decoder_blocks_trains_without_recompiles():
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    eager, compiled = _build(seed=1), _build(seed=1)
    counter = CompileCounter()
    names = compile_encoder_decoder(compiled, dict(backend=counter))
    assert names == [
        'backbone.layers.0', 'backbone.layers.1', 'neck.decoder_blocks.0',
        'neck.decoder_blocks.1'
    ]
    x = torch.randn(2, 3, 32, 32)
    opts = [
        torch.optim.AdamW(m.parameters(), lr=1e-3) for m in (eager, compiled)
    ]
    frames = []
    for step, t in enumerate((0., 0.36, 0.5, 0.74, 0.9)):  # every stage
        losses = []
        for model, opt in zip((eager, compiled), opts):
            model.selector.set_progress(t)
            torch.manual_seed(step)  # the same PSTS draws
            loss = model.loss(x, _samples(2))['loss']
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.detach())
        torch.testing.assert_close(losses[0], losses[1], rtol=1e-4, atol=1e-5)
        frames.append(counter.frame_count)
    # the graphs of the blocks (a few per block: mmcv's DropPath breaks
    # them) are compiled in the first step; the curriculum (PSTS, eager)
    # triggers no recompilation afterwards
    assert 0 < frames[0] <= 8 and frames[-1] == frames[0]
    # the state dict keeps its keys
    assert set(compiled.state_dict()) == set(eager.state_dict())
    torch._dynamo.reset()


def test_compile_key_is_taken_from_the_config():
    cfg = Config(dict(compile=dict(backend='inductor'), model=dict()))
    assert take_compile_key(cfg) == dict(backend='inductor')
    assert 'compile' not in cfg
    assert take_compile_key(Config(dict())) is None
    with pytest.raises(ValueError, match='no backbone.layers'):
        compile_encoder_decoder(torch.nn.Linear(2, 2))
    assert len(transformer_blocks(_build())) == 4
