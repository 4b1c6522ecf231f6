"""PSTS: token counts, set invariants, richness-driven sampling, curriculum."""
import pytest
import torch
import torch.nn.functional as F

from selective_mae.models.selectors.psts import PSTS


def _select(psts, imgs, dim=16, patch=8, tokens=None):
    B, _, H, W = imgs.shape
    L = (H // patch) * (W // patch)
    if tokens is None:
        tokens = torch.randn(B, L, dim)
    return psts(imgs, tokens, patch)


@pytest.mark.parametrize('size,patch,mask,recon,n_vis,n_rec', [
    ((224, 224), 16, 0.85, 0.25, 29, 49),   # released setting, L = 196
    ((224, 224), 16, 0.75, 0.25, 49, 49),
    ((64, 64), 8, 0.85, 0.25, 9, 16),       # demo config, L = 64
    ((96, 96), 16, 0.85, 0.25, 5, 9),       # L = 36
    ((64, 96), 16, 0.85, 0.25, 3, 6),       # non-square, L = 24
    ((32, 32), 8, 0.75, 0.5, 4, 8),         # L = 16
])
@pytest.mark.parametrize('t', [0.0, 0.36, 0.5, 0.74, 0.9])
@pytest.mark.parametrize('batch', [1, 3])
def test_counts_and_set_invariants(size, patch, mask, recon, n_vis, n_rec, t,
                                   batch):
    psts = PSTS(mask_ratio=mask, recon_ratio=recon)
    psts.set_progress(t)
    torch.manual_seed(0)
    imgs = torch.randn(batch, 3, *size)
    ids_vis, ids_rec = _select(psts, imgs, patch=patch)
    assert ids_vis.shape == (batch, n_vis) and ids_rec.shape == (batch, n_rec)
    L = (size[0] // patch) * (size[1] // patch)
    for b in range(batch):
        vis, rec = set(ids_vis[b].tolist()), set(ids_rec[b].tolist())
        assert len(vis) == n_vis and len(rec) == n_rec  # no index twice
        assert not vis & rec  # disjoint
        assert all(0 <= i < L for i in vis | rec)


def _flat_with_textured_block(copies):
    """64 px image, flat except a textured 32x32 block (16 of 64 patches)."""
    g = torch.Generator().manual_seed(0)
    img = torch.zeros(1, 3, 64, 64)
    img[:, :, :32, :32] = torch.randn(1, 3, 32, 32, generator=g)
    textured = torch.zeros(8, 8, dtype=torch.bool)
    textured[:4, :4] = True
    return img.expand(copies, -1, -1, -1), textured.flatten()


def _frequency(ids, L):
    counts = torch.zeros(L)
    counts.scatter_add_(0, ids.flatten(), torch.ones(ids.numel()))
    return counts / ids.shape[0]  # per-image probability of each patch


@pytest.mark.parametrize('t', [0.0, 0.9])
def test_hog_prefers_textured_patches_uniform_does_not(t):
    imgs, textured = _flat_with_textured_block(1000)
    tokens = torch.randn(1, 64, 16).expand(1000, -1, -1)
    ratios = {}
    for score in ('hog', 'uniform'):
        psts = PSTS(scorer=dict(type='HOGRichness', score=score))
        psts.set_progress(t)
        torch.manual_seed(1)
        ids_vis, ids_rec = psts(imgs, tokens, 8)
        n_seed = psts.num_tokens(64)[1]
        seed_p = _frequency(ids_vis[:, :n_seed], 64)
        rec_p = _frequency(ids_rec, 64)
        ratios[score] = [
            (p[textured].mean() / p[~textured].mean()).item()
            for p in (seed_p, rec_p)
        ]
    seed_ratio, rec_ratio = ratios['hog']
    assert seed_ratio >= 3 and rec_ratio >= 3, ratios
    for r in ratios['uniform']:
        assert 0.9 < r < 1.1, ratios


def _round_similarity(psts, tokens, imgs):
    """Mean max-cosine similarity of round-1 tokens to the seeds."""
    ids_vis, _ = psts(imgs, tokens, 8)
    n_seed = psts.num_tokens(tokens.shape[1])[1]
    k = psts.round_sizes(tokens.shape[1])[0]
    feats = F.normalize(tokens, dim=-1)
    cos = feats @ feats.transpose(1, 2)
    seeds = ids_vis[:, :n_seed]
    added = ids_vis[:, n_seed:n_seed + k]
    rows = torch.gather(cos, 1, added[..., None].expand(-1, -1, cos.shape[2]))
    sim = torch.gather(rows, 2, seeds[:, None, :].expand(-1, k, -1))
    return sim.amax(-1).mean().item()


@pytest.mark.parametrize('seed', range(5))
def test_near_adds_more_similar_tokens_than_far(seed):
    psts = PSTS()
    g = torch.Generator().manual_seed(seed)
    imgs = torch.randn(4, 3, 64, 64, generator=g)
    tokens = torch.randn(4, 64, 32, generator=g)
    sims = {}
    for t in (0.1, 0.5):  # near stage, far stage
        psts.set_progress(t)
        torch.manual_seed(seed)
        sims[t] = _round_similarity(psts, tokens, imgs)
    assert sims[0.1] > sims[0.5], sims


@pytest.mark.parametrize('t,k,expected', [
    (0.0, 4, (('near', 4), ('near', 0))),
    (0.35, 4, (('near', 4), ('far', 0))),
    (0.355, 5, (('near', 4), ('far', 1))),      # w = 0.2
    (0.3625, 3, (('near', 1), ('far', 2))),     # w = 0.5, halves round up
    (0.37, 10, (('near', 2), ('far', 8))),      # w = 0.8
    (0.5, 7, (('far', 7), ('far', 0))),
    (0.74, 5, (('far', 2), ('random', 3))),     # w = 0.6
    (0.75, 5, (('random', 5), ('random', 0))),
    (1.0, 5, (('random', 5), ('random', 0))),
])
def test_blend_shares_follow_the_formula(t, k, expected):
    assert PSTS().round_shares(k, t) == expected


def test_blended_round_takes_top_then_bottom():
    """At w = 0.5 a round of 4 adds the 2 most and the 2 least similar."""
    psts = PSTS(mask_ratio=0.75, num_rounds=1)  # L=64: 16 vis, 8 seeds
    psts.set_progress(0.3625)
    torch.manual_seed(0)
    tokens = torch.randn(2, 64, 16)
    ids_vis, _ = psts(torch.randn(2, 3, 64, 64), tokens, 8)
    (_, k_a), (_, k_b) = psts.round_shares(8)
    assert (k_a, k_b) == (4, 4)
    feats = F.normalize(tokens, dim=-1)
    cos = feats @ feats.transpose(1, 2)
    for b in range(2):
        seeds, added = ids_vis[b, :8], ids_vis[b, 8:]
        sim = cos[b][:, seeds].amax(-1)
        rest = torch.ones(64, dtype=torch.bool)
        rest[seeds] = False
        ranked = sim[rest].sort(descending=True).values
        torch.testing.assert_close(sim[added[:4]].sort(descending=True).values,
                                   ranked[:4])
        torch.testing.assert_close(sim[added[4:]].sort(descending=True).values,
                                   ranked[-4:])


def test_topk_targets_are_the_richest_non_visible_patches():
    psts = PSTS(target_mode='topk')
    imgs, _ = _flat_with_textured_block(2)
    imgs = imgs + 0.01 * torch.randn_like(imgs)
    ids_vis, ids_rec = _select(psts, imgs)
    logits = psts.scorer(imgs, 8)
    for b in range(2):
        rest = torch.ones(64, dtype=torch.bool)
        rest[ids_vis[b]] = False
        best = logits[b][rest].topk(ids_rec.shape[1]).values
        torch.testing.assert_close(logits[b][ids_rec[b]].sort(
            descending=True).values, best)


def test_reverse_curriculum_and_bad_configs():
    rev = PSTS(curriculum_modes=('far', 'near'), curriculum_bounds=(0.4, 0.6))
    assert rev.curriculum(0.1) == ('far', 'far', 0.)
    assert rev.curriculum(0.5) == ('far', 'near', pytest.approx(0.5))
    assert rev.curriculum(0.7) == ('near', 'near', 0.)
    with pytest.raises(ValueError, match='curriculum_bounds'):
        PSTS(curriculum_bounds=(0.5, 0.4, 0.7, 0.8))
    with pytest.raises(ValueError, match='curriculum_modes'):
        PSTS(curriculum_modes=('near', 'sideways'))
    with pytest.raises(ValueError, match='target_mode'):
        PSTS(target_mode='all')
    with pytest.raises(ValueError, match='progress'):
        PSTS().set_progress(1.5)
    with pytest.raises(ValueError, match='4 patches'):
        PSTS().num_tokens(4)
