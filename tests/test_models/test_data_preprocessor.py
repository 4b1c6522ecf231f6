"""RSSelfSupDataPreprocessor: SelfSupDataPreprocessor on uint8 batches, and
the guard that keeps non-finite values from the model."""
import pytest
import torch
from mmpretrain.models.utils import SelfSupDataPreprocessor
from mmpretrain.structures import DataSample

import selective_mae  # noqa: F401
from selective_mae.models.utils import RSSelfSupDataPreprocessor
from selective_mae.testing.log_capture import captured_log

NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])


def _samples(n):
    return [
        DataSample(metainfo=dict(img_path=f'scene_{i}.tif', sample_idx=i))
        for i in range(n)
    ]


@pytest.mark.parametrize('to_rgb', [False, True])
def test_uint8_batches_as_selfsup_preprocessor(to_rgb):
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8, generator=g)
    ours = RSSelfSupDataPreprocessor(**NORM, to_rgb=to_rgb)
    ref = SelfSupDataPreprocessor(**NORM, to_rgb=to_rgb)
    data = dict(inputs=imgs, data_samples=_samples(3))
    a, b = ours(data, True), ref(data, True)
    assert torch.equal(a['inputs'], b['inputs'])
    assert [s.metainfo for s in a['data_samples']] == [
        s.metainfo for s in b['data_samples']
    ]
    assert ours.nonfinite_images == 0 and not ours._pending


def test_nonfinite_float_inputs_replaced_counted_and_named():
    g = torch.Generator().manual_seed(0)
    imgs = torch.rand(4, 3, 8, 8, generator=g) * 255
    bad = imgs.clone()
    bad[1, 0, 2, 3] = float('nan')
    bad[1, 2, 5, 5] = float('inf')
    bad[3, 1, 0, 0] = -float('inf')
    ours = RSSelfSupDataPreprocessor(**NORM)
    ref = SelfSupDataPreprocessor(**NORM)
    with captured_log() as messages:
        out = ours(dict(inputs=bad, data_samples=_samples(4)), True)
    x = out['inputs']
    expected = ref(dict(inputs=imgs, data_samples=_samples(4)),
                   True)['inputs']
    assert torch.isfinite(x).all()
    nonfinite = ~torch.isfinite(bad)
    assert (x[nonfinite] == 0).all()  # the normalised mean
    assert torch.equal(x[~nonfinite], expected[~nonfinite])
    # On the CPU the flags are on the host at once: reported in this call.
    assert ours.nonfinite_images == 2
    warn = [m for m in messages if 'non-finite input values' in m]
    assert len(warn) == 1
    assert 'scene_1.tif (sample 1)' in warn[0]
    assert 'scene_3.tif (sample 3)' in warn[0]
    assert 'scene_0.tif' not in warn[0] and 'scene_2.tif' not in warn[0]
    # Multi-view inputs (a list) are guarded view by view.
    out = ours(dict(inputs=[bad, imgs], data_samples=_samples(4)), True)
    assert all(torch.isfinite(v).all() for v in out['inputs'])
    assert ours.nonfinite_images == 4
    ours.flush_reports()
    assert not ours._pending


def test_guard_keeps_nan_from_the_richness_score():
    """Without the guard a NaN pixel breaks the richness score (on the CPU
    its orientation bin is an invalid index; elsewhere NaN logits)."""
    from selective_mae.models.selectors import HOGRichness
    imgs = torch.rand(2, 3, 32, 32) * 255
    imgs[0, 1, 4, 4] = float('nan')
    hog = HOGRichness()
    raw = SelfSupDataPreprocessor(**NORM)(dict(inputs=imgs,
                                               data_samples=None))['inputs']
    try:
        assert not torch.isfinite(hog(raw, 16)).all()
    except RuntimeError as e:
        assert 'out of bounds' in str(e)
    guarded = RSSelfSupDataPreprocessor(**NORM)(
        dict(inputs=imgs, data_samples=None))['inputs']
    assert torch.isfinite(hog(guarded, 16)).all()


def test_bad_normalisation_rejected():
    with pytest.raises(ValueError, match='std > 0'):
        RSSelfSupDataPreprocessor(mean=[0, 0, 0], std=[1, 0, 1])
