"""Keyed (counter-based) noise: a pure function of (seed, step, stream,
sample id, element index), independent of batch layout and process."""
import math

import pytest
import torch

from selective_mae.models.utils.keyed_random import (hash32, keyed_gumbel,
                                                     keyed_uniform)


def _python_hash32(x):
    """Reference: the same 32-bit mixer in plain Python integers."""
    m = 0xFFFFFFFF
    x &= m
    x ^= x >> 16
    x = (x * 0x7FEB352D) & m
    x ^= x >> 15
    x = (x * 0x846CA68B) & m
    x ^= x >> 16
    return x


def test_hash32_matches_a_python_reference():
    xs = [0, 1, 2, 12345, 2**31 - 1, 2**31, 2**32 - 1, 0xDEADBEEF]
    got = hash32(torch.tensor(xs, dtype=torch.int64)).tolist()
    assert got == [_python_hash32(x) for x in xs]
    # values stay 32-bit unsigned in int64, no sign or overflow leak
    big = hash32(torch.arange(0, 2**32, 2**20, dtype=torch.int64))
    assert int(big.min()) >= 0 and int(big.max()) < 2**32


def test_same_key_same_noise_whatever_the_batch_layout():
    ids = torch.tensor([7, 3, 11, 0])
    u = keyed_uniform((4, 50), seed=5, step=9, sample_ids=ids, stream=1)
    # the same samples in another order / split over two "ranks"
    perm = torch.tensor([2, 0, 3, 1])
    u_perm = keyed_uniform((4, 50), seed=5, step=9, sample_ids=ids[perm],
                           stream=1)
    assert torch.equal(u_perm, u[perm])
    halves = [keyed_uniform((2, 50), seed=5, step=9, sample_ids=ids[s],
                            stream=1) for s in (slice(0, 2), slice(2, 4))]
    assert torch.equal(torch.cat(halves), u)


@pytest.mark.parametrize('change', ['seed', 'step', 'stream', 'sample'])
def test_every_key_part_changes_the_noise(change):
    kw = dict(seed=1, step=2, sample_ids=torch.tensor([3]), stream=4)
    base = keyed_uniform((1, 256), **kw)
    if change == 'sample':
        kw['sample_ids'] = torch.tensor([4])
    else:
        kw[change] += 1
    other = keyed_uniform((1, 256), **kw)
    # independent draws: about 0 correlation, and almost never equal
    assert (base == other).float().mean() < 0.01
    r = torch.corrcoef(torch.stack([base[0], other[0]]))[0, 1]
    assert abs(float(r)) < 0.25


def test_uniform_in_open_unit_interval_and_uniform():
    u = keyed_uniform((64, 1024), seed=0, step=0,
                      sample_ids=torch.arange(64), stream=0)
    assert u.dtype == torch.float32
    assert float(u.min()) > 0 and float(u.max()) < 1
    n = u.numel()
    assert abs(float(u.mean()) - 0.5) < 3 * math.sqrt(1 / 12 / n) + 1e-4
    # Kolmogorov-Smirnov distance to U(0, 1); 1.63/sqrt(n) is p = 0.01
    s = u.flatten().sort().values.double()
    grid = torch.arange(1, n + 1, dtype=torch.float64) / n
    assert float((s - grid).abs().max()) < 1.63 / math.sqrt(n)
    # neighbouring tokens and neighbouring samples are uncorrelated
    c_tok = torch.corrcoef(torch.stack([u[:, :-1].flatten(),
                                        u[:, 1:].flatten()]))[0, 1]
    c_smp = torch.corrcoef(torch.stack([u[:-1].flatten(),
                                        u[1:].flatten()]))[0, 1]
    assert abs(float(c_tok)) < 0.02 and abs(float(c_smp)) < 0.02


def test_gumbel_top1_samples_the_softmax():
    """argmax(logits + Gumbel) draws from softmax(logits): the property
    PSTS relies on."""
    logits = torch.tensor([0., 1., 2., -1.])
    n = 20000
    g = keyed_gumbel((n, 4), seed=3, step=0, sample_ids=torch.arange(n),
                     stream=0)
    freq = torch.bincount((logits + g).argmax(1), minlength=4).float() / n
    assert torch.allclose(freq, logits.softmax(0), atol=0.015)


def test_steps_and_sample_ids_may_be_tensors_on_the_target_device():
    ids = torch.tensor([1, 2])
    a = keyed_uniform((2, 8), seed=0, step=torch.tensor(5), sample_ids=ids,
                      stream=2, dtype=torch.float64)
    b = keyed_uniform((2, 8), seed=0, step=5, sample_ids=ids, stream=2)
    assert a.dtype == torch.float64
    assert torch.allclose(a.float(), b)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match='sample_ids'):
        keyed_uniform((3, 4), seed=0, step=0, sample_ids=torch.arange(2),
                      stream=0)
