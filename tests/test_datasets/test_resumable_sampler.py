"""Samplers that start an epoch part-way: same order as the
uninterrupted epoch, on any number of ranks."""
import pytest
import torch
from mmengine.dataset import DefaultSampler

import selective_mae  # noqa: F401
from selective_mae.datasets.samplers import InfoBatchSampler, ResumableSampler

N = 37


def _ranks(cls, world, **kw):
    out = []
    for rank in range(world):
        s = cls(list(range(N)), seed=4, **kw)
        s.rank, s.world_size = rank, world
        if hasattr(s, 'total_size'):  # DefaultSampler's padding
            s.num_samples = -(-N // world)
            s.total_size = s.num_samples * world
        out.append(s)
    return out


def _global(samplers):
    """Interleave the ranks' streams back into the global order."""
    streams = [list(s) for s in samplers]
    out = []
    for i in range(max(map(len, streams))):
        out += [st[i] for st in streams if i < len(st)]
    return out


@pytest.mark.parametrize('world', [1, 2, 3])
def test_same_order_as_default_sampler(world):
    for epoch in (0, 3):
        ours = _ranks(ResumableSampler, world)
        ref = _ranks(DefaultSampler, world)
        for s in ours + ref:
            s.set_epoch(epoch)
        assert [list(s) for s in ours] == [list(s) for s in ref]
        assert [len(s) for s in ours] == [len(s) for s in ref]


@pytest.mark.parametrize('cls', [ResumableSampler, InfoBatchSampler])
@pytest.mark.parametrize('world,resume_world', [(1, 1), (2, 2), (2, 1),
                                                (1, 3)])
def test_resumed_epoch_continues_the_global_order(cls, world, resume_world):
    kw = dict(num_epochs=4) if cls is InfoBatchSampler else {}
    full = _ranks(cls, world, **kw)
    if cls is InfoBatchSampler:  # with scores, so the epoch is pruned
        for s in full:
            s.update_scores(torch.arange(N, dtype=torch.float32),
                            torch.ones(N, dtype=torch.bool))
    for s in full:
        s.set_epoch(1)
    order = _global(full)
    # the epoch's samples before round_up padding (which depends on the
    # number of ranks)
    n = full[0].plan()[2]['kept'] if cls is InfoBatchSampler else N
    assert sorted(set(order)) == sorted(order[:n])
    consumed = 12
    resumed = _ranks(cls, resume_world, **kw)
    for s in resumed:
        if cls is InfoBatchSampler:
            s.load_state_dict(full[0].state_dict())
        s.set_epoch(1)
        s.set_resume_position(1, consumed)
    lengths = [len(s) for s in resumed]
    rest = _global(resumed)
    assert rest[:n - consumed] == order[consumed:n]
    if resume_world == world:
        assert rest == order[consumed:]
        # len() is the whole epoch's, for batch_idx / len(loader)
        assert lengths == [len(s) for s in full]
    # one-shot: the next pass over the epoch is whole again
    assert _global(resumed)[:n] == order[:n]


def test_position_for_another_epoch_is_ignored():
    s = ResumableSampler(list(range(N)), seed=1)
    s.set_epoch(2)
    whole = list(s)
    s.set_resume_position(1, 10)
    assert list(s) == whole
    with pytest.raises(ValueError, match='>= 0'):
        s.set_resume_position(0, -1)
