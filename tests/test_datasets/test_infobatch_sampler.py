"""InfoBatchSampler: the pruning rule on a fixed loss pattern."""
import math

import pytest
import torch

import selective_mae  # noqa: F401
from selective_mae.datasets.samplers import InfoBatchSampler

N = 100


def _sampler(**kw):
    kw.setdefault('num_epochs', 8)
    return InfoBatchSampler(list(range(N)), seed=3, **kw)


def _scored(**kw):
    s = _sampler(**kw)
    # Scores 0..99: mean 49.5, so samples 0..49 are "well learned".
    s.update_scores(
        torch.arange(N, dtype=torch.float32), torch.ones(N, dtype=torch.bool))
    return s


def test_no_scores_no_pruning():
    s = _sampler()
    assert sorted(s) == list(range(N)) and len(s) == N
    assert torch.equal(s.weights, torch.ones(N))


@pytest.mark.parametrize('ratio', [0.5, 0.3])
def test_prunes_share_of_below_mean_and_rescales(ratio):
    s = _scored(prune_ratio=ratio)
    s.set_epoch(1)
    kept = list(s)
    assert len(kept) == len(set(kept)) == len(s)
    n_keep_low = int((1 - ratio) * 50)
    assert len(s) == 50 + n_keep_low  # epoch length as computed
    assert set(range(50, N)) <= set(kept)  # every above-mean sample kept
    low = [i for i in kept if i < 50]
    assert len(low) == n_keep_low
    w = s.weights
    assert torch.allclose(w[low], torch.full((n_keep_low, ), 1 / (1 - ratio)))
    others = sorted(set(range(N)) - set(low))
    assert torch.equal(w[others], torch.ones(len(others)))
    assert s.plan()[2] == dict(
        kept=len(kept), pruned=50 - n_keep_low, well_learned=50)


def test_unscored_samples_are_kept_and_mean_over_scored():
    s = _sampler()
    seen = torch.zeros(N, dtype=torch.bool)
    seen[:60] = True
    s.update_scores(torch.arange(N, dtype=torch.float32), seen)
    s.set_epoch(1)
    kept = set(s)
    # mean of scores 0..59 is 29.5: 0..29 prunable, 30..99 kept
    assert set(range(30, N)) <= kept and len(kept) == 70 + 15


def test_no_pruning_after_delta():
    s = _scored(delta=0.875)  # 8 epochs: epochs 0..6 prune, 7 does not
    for epoch in range(8):
        s.set_epoch(epoch)
        assert s.pruning_active() == (epoch < 7)
    s.set_epoch(7)
    assert sorted(s) == list(range(N))
    assert torch.equal(s.weights, torch.ones(N))


def test_rescale_off_and_seed_determinism():
    s = _scored(rescale=False)
    s.set_epoch(2)
    assert torch.equal(s.weights, torch.ones(N)) and len(s) == 75
    a, b = _scored(), _scored()
    for epoch in (1, 2):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        assert list(a) == list(b)
    a.set_epoch(1)
    e1 = set(a)
    a.set_epoch(2)
    assert set(a) != e1  # a new random share every epoch


def test_ranks_split_the_same_kept_set():
    ref = _scored()
    ref.set_epoch(1)
    kept = set(ref)
    for world in (2, 3, 4):
        parts = []
        for rank in range(world):
            s = _scored()
            s.rank, s.world_size = rank, world
            s.set_epoch(1)
            parts.append(list(s))
            assert len(s) == math.ceil(len(kept) / world)
        assert set().union(*parts) == kept
        assert sum(map(len, parts)) - len(kept) < world  # padding only


def test_state_dict_round_trip():
    a = _scored()
    b = _sampler()
    b.load_state_dict(a.state_dict())
    a.set_epoch(3)
    b.set_epoch(3)
    assert list(a) == list(b) and torch.equal(a.weights, b.weights)
    with pytest.raises(ValueError, match='cover 100 samples'):
        InfoBatchSampler(
            list(range(5)), seed=0).load_state_dict(a.state_dict())


def test_bad_arguments():
    with pytest.raises(ValueError, match='prune_ratio'):
        _sampler(prune_ratio=1.0)
    with pytest.raises(ValueError, match='delta'):
        _sampler(delta=1.5)
