"""HOG richness scorer: against a loop-by-loop reference, and its contract."""
import math

import numpy as np
import pytest
import torch

from selective_mae.models.utils.richness import HOGRichness


def _reference_cell_hist(img, cell, nbins):
    """Per-pixel loops: Sobel with replicated borders, unsigned angle bins,
    magnitudes summed over channels and cells."""
    C, H, W = img.shape
    pad = np.pad(img, ((0, 0), (1, 1), (1, 1)), mode='edge')
    hist = np.zeros((nbins, H // cell, W // cell))
    for c in range(C):
        for y in range(H):
            for x in range(W):
                win = pad[c, y:y + 3, x:x + 3]
                gx = (win[:, 2] * [1, 2, 1]).sum() - (win[:, 0] *
                                                      [1, 2, 1]).sum()
                gy = (win[2] * [1, 2, 1]).sum() - (win[0] * [1, 2, 1]).sum()
                ang = math.atan2(gy, gx) % math.pi
                b = min(int(ang / math.pi * nbins), nbins - 1)
                hist[b, y // cell, x // cell] += math.hypot(gx, gy)
    return hist


def test_cell_histograms_match_reference():
    rng = np.random.default_rng(0)
    img = rng.normal(size=(3, 16, 24)).astype(np.float64)
    scorer = HOGRichness(cell_size=8, nbins=9)
    ours = scorer.cell_histograms(torch.from_numpy(img)[None].float())[0]
    ref = _reference_cell_hist(img, 8, 9)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-4, atol=1e-3)
    # patch score = mean over the patch's cells of the histogram's L2 norm
    raw8 = scorer.raw_scores(torch.from_numpy(img)[None].float(), 8)
    np.testing.assert_allclose(
        raw8[0].numpy(), np.linalg.norm(ref, axis=0).reshape(-1), rtol=1e-4)


def test_flat_image_scores_zero_and_textured_patches_score_high():
    img = torch.zeros(1, 3, 64, 64)
    scorer = HOGRichness()
    assert torch.count_nonzero(scorer.raw_scores(img, 16)) == 0
    assert torch.count_nonzero(scorer(img, 16)) == 0  # uniform p
    torch.manual_seed(0)
    img[:, :, :16, :16] = torch.randn(1, 3, 16, 16)  # patch 0 textured
    logits = scorer(img, 16)
    assert logits.shape == (1, 16)
    assert logits[0, 0] > 3 and (logits[0, 1:] < 0).all()
    # standardised over the patches of the image
    assert abs(logits.mean()) < 1e-5 and abs(logits.std(correction=0) -
                                             1) < 1e-3


def test_any_size_divisible_by_patch_batched_and_scale_invariant():
    torch.manual_seed(0)
    imgs = torch.randn(3, 3, 48, 80)
    scorer = HOGRichness(cell_size=8)
    logits = scorer(imgs, 16)
    assert logits.shape == (3, 15) and logits.dtype == torch.float32
    single = scorer(imgs[1:2], 16)
    torch.testing.assert_close(logits[1:2], single)
    torch.testing.assert_close(scorer(imgs * 7.0, 16), logits,
                               rtol=1e-4, atol=1e-4)


def test_temperature_and_uniform():
    torch.manual_seed(0)
    imgs = torch.randn(2, 3, 32, 32)
    hot = HOGRichness(temperature=2.0)(imgs, 8)
    torch.testing.assert_close(hot * 2, HOGRichness()(imgs, 8))
    uniform = HOGRichness(score='uniform')(imgs, 8)
    assert uniform.shape == (2, 16) and torch.count_nonzero(uniform) == 0


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='score'):
        HOGRichness(score='entropy')
    with pytest.raises(ValueError, match='temperature'):
        HOGRichness(temperature=0)
    with pytest.raises(ValueError, match='divisible'):
        HOGRichness()(torch.zeros(1, 3, 30, 32), 8)
    with pytest.raises(ValueError, match='cell_size'):
        HOGRichness(cell_size=8)(torch.zeros(1, 3, 32, 32), 4)
