"""PSTS cost and tie-breaking: the similarity columns it computes, none in
the random stage, the same selection as the full [B, L, L] product, random
order among equal topk target scores."""
import pytest
import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from selective_mae.models.selectors.psts import PSTS

MATMULS = ('aten.bmm', 'aten.mm', 'aten.matmul', 'aten.baddbmm', 'aten.addmm')


class CountMatmuls(TorchDispatchMode):

    def __init__(self):
        super().__init__()
        self.shapes = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if str(func).split('.default')[0] in MATMULS or any(
                str(func).startswith(m + '.') for m in MATMULS):
            self.shapes.append(tuple(out.shape))
        return out


def _batch(n=4, L=64, dim=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 3, 64, 64,
                        generator=g), torch.randn(n, L, dim, generator=g))


def _reference_forward(psts, imgs, tokens, patch, sample_ids):
    """The previous forward: the full cosine-similarity matrix, masked to
    the selected columns every round."""
    logits = psts.scorer(imgs, patch)
    B, L = logits.shape
    _, n_seed, n_rec = psts.num_tokens(L)
    neg_inf = torch.finfo(logits.dtype).min
    psts._sample_ids, psts._draws = sample_ids, 0
    ids_seed = (logits + psts._gumbel(logits)).topk(n_seed, dim=1).indices
    selected = torch.zeros_like(logits, dtype=torch.bool)
    selected.scatter_(1, ids_seed, 1)
    chosen = [ids_seed]
    feats = F.normalize(tokens.float(), dim=-1)
    cos = feats @ feats.transpose(1, 2)
    for k in psts.round_sizes(L):
        sim = cos.masked_fill(~selected[:, None, :], neg_inf).amax(-1)
        for mode, n in psts.round_shares(k):
            if n == 0:
                continue
            key = (
                sim if mode == 'near' else
                -sim if mode == 'far' else psts._uniform(sim))
            ids = key.masked_fill(selected, neg_inf).topk(n, dim=1).indices
            selected.scatter_(1, ids, 1)
            chosen.append(ids)
    key = logits + psts._gumbel(logits)
    ids_rec = key.masked_fill(selected, neg_inf).topk(n_rec, dim=1).indices
    return torch.cat(chosen, 1), ids_rec


@pytest.mark.parametrize('t', [0.0, 0.2, 0.36, 0.5, 0.73, 0.9])
@pytest.mark.parametrize('rounds', [1, 2, 3])
def test_same_selection_as_the_full_similarity_matrix(t, rounds):
    psts = PSTS(mask_ratio=0.6, recon_ratio=0.25, num_rounds=rounds)
    psts.set_progress(t)
    psts.set_noise_key(seed=1, step=5)
    imgs, tokens = _batch()
    ids = torch.tensor([3, 1, 4, 15])
    vis, rec = psts(imgs, tokens, 8, sample_ids=ids)
    ref_vis, ref_rec = _reference_forward(psts, imgs, tokens, 8, ids)
    assert torch.equal(vis, ref_vis) and torch.equal(rec, ref_rec)


def test_random_stage_computes_no_similarity():
    psts = PSTS(mask_ratio=0.75)
    imgs, tokens = _batch()
    psts.set_progress(0.9)  # every round random
    with CountMatmuls() as count:
        psts(imgs, tokens, 8)
    assert count.shapes == []
    psts.set_progress(0.0)  # near: only the needed [B, L, n] columns
    with CountMatmuls() as count:
        psts(imgs, tokens, 8)
    assert count.shapes, 'the counter sees the similarity products'
    n_vis, n_seed, _ = psts.num_tokens(64)
    assert [s[-1] for s in count.shapes] == [n_seed, 4]  # seeds, round 1
    assert all(s[:2] == (4, 64) for s in count.shapes)


def test_topk_targets_on_a_flat_image_are_spread_at_random():
    """All scores equal: every non-visible patch is about as likely to be a
    target (top-k alone returns a fixed block of indices for ties)."""
    psts = PSTS(mask_ratio=0.75, target_mode='topk')
    psts.set_noise_key(seed=0, step=2)
    n = 128
    imgs = torch.zeros(n, 3, 64, 64)  # all scores equal
    tokens = torch.randn(n, 64, 16)
    ids = torch.arange(n)
    vis, rec = psts(imgs, tokens, 8, sample_ids=ids)
    visible = torch.zeros(n, 64).scatter_(1, vis, 1.)
    target = torch.zeros(n, 64).scatter_(1, rec, 1.)
    assert not (visible * target).any()
    rate = target.sum(0) / (1 - visible).sum(0)  # P(target | not visible)
    expected = rec.shape[1] / (64 - vis.shape[1])  # 16 / 48
    assert ((rate - expected).abs() < 0.2).all(), rate
    # keyed draws: an image's targets follow it, not its batch position
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    vis_p, rec_p = psts(imgs[perm], tokens[perm], 8, sample_ids=ids[perm])
    assert torch.equal(rec_p, rec[perm]) and torch.equal(vis_p, vis[perm])


def test_topk_with_distinct_scores_is_exact():
    psts = PSTS(mask_ratio=0.75, target_mode='topk')
    logits = torch.randn(3, 64)
    selected = torch.zeros(3, 64, dtype=torch.bool)
    selected[:, ::5] = True
    got = psts._top_with_random_ties(logits, selected, 10)
    ref = logits.masked_fill(selected, -1e9).topk(10).indices
    assert torch.equal(got, ref)
