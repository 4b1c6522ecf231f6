"""KNNProbe: the bank/query split, features of whole images, and that an
evaluation leaves the model's modes and every random state as it found
them."""
import os.path as osp
import random

import numpy as np
import pytest
import torch

from selective_mae.datasets.demo_data import (SCENE_TYPES,
                                              generate_labelled_demo_dataset)
from selective_mae.evaluation.knn_probe import (KNNProbe, build_probe_model,
                                                vit_features)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEL_CFG = osp.join(REPO, 'configs', 'selectivemae',
                   'selectivemae_vit-tiny-p8_1xb16-20e_demo.py')
MAE_CFG = osp.join(REPO, 'configs', 'mae', 'mae_vit-tiny-p8_1xb16-2e_demo.py')


@pytest.fixture(scope='module')
def labelled(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('labelled'))
    generate_labelled_demo_dataset(root, num_per_class=6, size=64)
    return root


def _probe(root, **kw):
    kw.setdefault('k', 3)
    kw.setdefault('num_workers', 0)
    return KNNProbe(
        dataset=dict(type='CustomDataset', data_root=root), **kw).build(64)


def _cfg(path):
    from mmengine.config import Config
    return Config.fromfile(path)


def test_split_per_class_deterministic(labelled):
    p = _probe(labelled)
    assert p.num_classes == 5 and p.classes == SCENE_TYPES
    assert p.num_bank == 15 and len(p.items) == 30
    bank, query = p.items[:15], p.items[15:]
    assert not set(bank) & set(query)
    for c in range(5):  # 3 bank and 3 query images of every class
        assert int((p.labels[:15] == c).sum()) == 3
        assert int((p.labels[15:] == c).sum()) == 3
    assert _probe(labelled).items == p.items
    assert _probe(labelled, split_seed=1).items != p.items
    capped = _probe(labelled, max_per_class=2, query_ratio=0.34)
    assert capped.num_bank == 10 and len(capped.items) == 20
    # labels are those of the class folders
    ds = p.datasets[0]
    for (_, idx), label in zip(p.items, p.labels.tolist()):
        path = ds.get_data_info(idx)['img_path']
        assert SCENE_TYPES[label] == osp.basename(osp.dirname(path))


def test_bank_and_query_sets_and_bad_settings(labelled):
    ds = dict(type='CustomDataset', data_root=labelled)
    p = KNNProbe(bank=ds, query=ds, max_per_class=4, k=3,
                 num_workers=0).build(64)
    assert p.num_bank == 20 and len(p.items) == 40
    with pytest.raises(ValueError, match='bank classes'):
        KNNProbe(bank=ds, query=dict(ds, metainfo=dict(
            classes=SCENE_TYPES[::-1])), k=3).build(64)
    with pytest.raises(ValueError, match='k=40 neighbours but the memory '
                       'bank has 15'):
        _probe(labelled, k=40)
    with pytest.raises(ValueError, match='either `dataset`'):
        KNNProbe(bank=ds)
    with pytest.raises(ValueError, match='query_ratio'):
        KNNProbe(dataset=ds, query_ratio=1.)
    # a missing data set says how to make it or turn the probe off
    with pytest.raises(FileNotFoundError, match='(?s)missing.*make_demo_'
                       'data.py.*remove the KNNEvalHook'):
        KNNProbe(dataset=dict(ds, data_root=labelled + '/missing')).build(64)


def test_features_of_whole_images_mae_and_selectivemae():
    from mmpretrain.models import VisionTransformer
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    for path in (MAE_CFG, SEL_CFG):
        model = build_probe_model(_cfg(path))
        backbone = model.backbone
        with torch.no_grad():
            # the unmasked forward of the stock MAE / our encoder
            tokens = (backbone(x, mask=None) if path == MAE_CFG else
                      backbone(x))[-1]
        assert tokens.shape == (2, 65, backbone.embed_dims)
        feats = vit_features(backbone, x)
        torch.testing.assert_close(feats['cls'], tokens[:, 0])
        torch.testing.assert_close(feats['avg'], tokens[:, 1:].mean(1))
    # a classifier backbone: its own output type is kept after the call
    vit = VisionTransformer(arch=dict(embed_dims=32, num_layers=2,
                                      num_heads=2, feedforward_channels=64),
                            img_size=64, patch_size=8, out_indices=[0],
                            out_type='cls_token')
    vit.eval()  # (its train() returns None)
    feats = vit_features(vit, x)
    assert feats['avg'].shape == (2, 32)
    assert vit.out_type == 'cls_token' and vit.out_indices == [0]


def test_evaluate_restores_modes_and_random_state(labelled):
    model = build_probe_model(_cfg(SEL_CFG))
    model.train()
    model.neck.eval()  # a mixed state must come back as it was
    modes = [m.training for m in model.modules()]
    # a probe with a loader worker: creating its iterator draws a seed
    # from torch's generator, which must not show after the evaluation
    probe = _probe(labelled, num_workers=1, batch_size=8)
    torch.manual_seed(3)
    np.random.seed(3)
    random.seed(3)
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(),
              random.getstate())
    metrics = probe.evaluate(model)
    assert torch.equal(torch.get_rng_state(), before[0])
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert random.getstate() == before[2]
    assert [m.training for m in model.modules()] == modes
    assert set(metrics) == {'cls_top1', 'avg_top1', 'time', 'extract_time'}
    for k in ('cls_top1', 'avg_top1'):
        assert 0 <= metrics[k] <= 100
    # the control: the same loader, unguarded, does move torch's generator
    loader = torch.utils.data.DataLoader(list(range(4)), num_workers=1)
    iter(loader)._shutdown_workers()
    assert not torch.equal(torch.get_rng_state(), before[0])
    # features are identical on a second evaluation (deterministic)
    assert probe.evaluate(model)['cls_top1'] == metrics['cls_top1']
