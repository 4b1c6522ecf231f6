"""PSTS with keyed draws: an image's selection depends on (seed, step,
sample id), not on its batch, its position or the process."""
import torch

import selective_mae  # noqa: F401
from selective_mae.models.selectors.psts import PSTS


def _batch(n=6, L=64, dim=16):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(n, 3, 64, 64, generator=g),
            torch.randn(n, L, dim, generator=g))


def _select(psts, imgs, tokens, ids):
    return psts(imgs, tokens, 8, sample_ids=ids)


def test_selection_follows_the_sample_not_the_batch():
    psts = PSTS(mask_ratio=0.75, recon_ratio=0.25)
    psts.set_progress(0.73)  # a far/random blend: every kind of draw
    psts.set_noise_key(seed=3, step=11)
    imgs, tokens = _batch()
    ids = torch.tensor([10, 4, 7, 0, 2, 9])
    vis, rec = _select(psts, imgs, tokens, ids)
    torch.manual_seed(123)  # torch's generator plays no part
    perm = torch.tensor([3, 5, 0, 1, 4, 2])
    vis_p, rec_p = _select(psts, imgs[perm], tokens[perm], ids[perm])
    assert torch.equal(vis_p, vis[perm]) and torch.equal(rec_p, rec[perm])
    # two "ranks" with half the batch each
    halves = [_select(psts, imgs[s], tokens[s], ids[s])
              for s in (slice(0, 3), slice(3, 6))]
    assert torch.equal(torch.cat([h[0] for h in halves]), vis)
    assert torch.equal(torch.cat([h[1] for h in halves]), rec)


def test_draws_change_with_step_and_seed():
    psts = PSTS(mask_ratio=0.75, recon_ratio=0.25)
    imgs, tokens = _batch()
    ids = torch.arange(6)
    out = []
    for seed, step in ((0, 0), (0, 1), (1, 0)):
        psts.set_noise_key(seed, step)
        out.append(_select(psts, imgs, tokens, ids)[1])
    assert not torch.equal(out[0], out[1])
    assert not torch.equal(out[0], out[2])


def test_without_sample_ids_torch_generator_is_used():
    psts = PSTS(mask_ratio=0.75, recon_ratio=0.25)
    psts.set_noise_key(0, 0)
    imgs, tokens = _batch()
    out = []
    for seed in (5, 5, 6):
        torch.manual_seed(seed)
        out.append(psts(imgs, tokens, 8)[1])
    assert torch.equal(out[0], out[1]) and not torch.equal(out[0], out[2])
