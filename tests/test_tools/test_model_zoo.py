"""Our model index in mmpretrain's list_models / get_model."""
import glob
import os.path as osp

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


FAMILIES = ('selectivemae', 'classification', 'dota', 'dior', 'potsdam',
            'loveda', 'spacenet', 'vaihingen')


def zoo():
    import selective_mae  # noqa: F401  (registers the model index)
    from mmpretrain.apis import ModelHub, list_models
    names = list_models('selectivemae*')
    return {n: ModelHub._models_dict[n] for n in names}


def test_list_models_covers_every_config():
    models = zoo()
    configs = {osp.abspath(m.config) for m in models.values()}
    for family in FAMILIES:
        for cfg in glob.glob(osp.join(REPO, 'configs', family, '*.py')):
            assert osp.abspath(cfg) in configs, f'{cfg} has no zoo entry'
    assert all(osp.isfile(c) for c in configs)
    tasks = {r.task for m in models.values() for r in (m.results or [])}
    assert {
        'Image Classification', 'Oriented Object Detection',
        'Semantic Segmentation'
    } <= tasks
    ft = models['selectivemae_vit-base-p16_8xb64-ft-coslr-100e_aid-tr20']
    assert ft.results[0].metrics['Top 1 Accuracy'] == 96.90
    assert 'reported' in ft.metadata.data['Results Source']

    # the released weights: one entry per architecture and pretraining set,
    # each with the config its converted file loads into, the authors'
    # numbers marked as reported, and its downstream configs
    for arch, n_dior in (('base', (75.70, 75.80)), ('large', (77.80, 78.70))):
        for data, dior in zip(('4m', '13m'), n_dior):
            entry = models[f'selectivemae_vit-{arch}-p16_released_'
                           f'opticalrs-{data}']
            assert entry.config.endswith(
                f'selectivemae_vit-{arch}-p16_8xb256-amp-coslr-800e_rs4m-'
                'released.py')
            meta = entry.metadata.data
            assert meta['Training Data'] == f'OpticalRS-{data.upper()}'
            assert 'reported' in meta['Results Source']
            assert 'initiacms/SelectiveMAE' in meta['Weights Source']
            got = {r.dataset: r.metrics for r in entry.results}
            assert got['DIOR'] == {'mAP50': dior}
            assert len(got) == 8
            downstream = entry.data['Downstream']
            assert len(downstream) == 22 and all(
                f'_vit-{arch}-p16' in d for d in downstream)
            assert set(downstream) <= set(models)
    # every downstream name listed anywhere is an entry with a config
    for m in models.values():
        for d in (m.data.get('Downstream') or []):
            assert d in models and osp.isfile(models[d].config), d
    large_ft = models['selectivemae_vit-large-p16_8xb64-ft-coslr-100e_aid-'
                      'tr50']
    assert large_ft.results[0].metrics['Top 1 Accuracy'] == 98.48
    spacenet = models['selectivemae_vit-base-p16-sfp_upernet_8xb1-80k_'
                      'spacenetv1-384x384']
    assert spacenet.results[0].metrics == {'mF1': 79.50}

    from mmpretrain.apis import list_models
    assert 'mae_vit-base-p16_8xb256-amp-coslr-800e_rs4m' in list_models(
        'mae_*rs4m')
    # mmpretrain's own models are still there
    assert 'mae_vit-base-p16_8xb512-amp-coslr-800e_in1k' in list_models('mae')


def test_get_model_with_local_pretrained(tmp_path):
    from mmpretrain.apis import get_model
    zoo()
    name = 'selectivemae_vit-tiny-p8_1xb16-20e_demo'
    model = get_model(name)
    assert type(model).__name__ == 'SelectiveMAE'
    state = {
        k: torch.randn_like(v) if v.is_floating_point() else v
        for k, v in model.state_dict().items()
    }
    torch.save({'meta': {}, 'state_dict': state}, tmp_path / 'demo.pth')
    loaded = get_model(name, pretrained=str(tmp_path / 'demo.pth'))
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, state[k]), k

    cls_name = 'selectivemae_vit-base-p16_8xb64-ft-coslr-100e_resisc45-tr10'
    clf = get_model(
        cls_name, backbone=dict(arch='deit-tiny'), head=dict(in_channels=192))
    assert clf.head.fc.out_features == 45
    state = {k: torch.randn_like(v) for k, v in clf.state_dict().items()}
    torch.save({'state_dict': state}, tmp_path / 'clf.pth')
    clf = get_model(
        cls_name,
        pretrained=str(tmp_path / 'clf.pth'),
        backbone=dict(arch='deit-tiny'),
        head=dict(in_channels=192))
    assert torch.equal(clf.head.fc.weight, state['head.fc.weight'])
    with torch.no_grad():
        assert clf(torch.randn(1, 3, 224, 224)).shape == (1, 45)


@pytest.mark.parametrize('name,detector', [
    ('selectivemae_vit-base-p16-sfp_oriented-rcnn-le90_fpn_4xb2-1x_dior-r',
     'FasterRCNN'),
    ('selectivemae_vit-base-p16-sfp_upernet_4xb2-80k_loveda-512x512',
     'EncoderDecoder'),
])
def test_get_model_builds_downstream_in_their_scopes(tmp_path, name, detector):
    from mmpretrain.apis import get_model
    zoo()
    model = get_model(name, backbone=dict(arch='deit-tiny'))
    assert type(model).__name__ == detector
    assert type(model.backbone).__name__ == 'PlainViT'
    state = {
        k: torch.randn_like(v) if v.is_floating_point() else v
        for k, v in model.state_dict().items()
    }
    torch.save({'state_dict': state}, tmp_path / 'det.pth')
    model = get_model(
        name,
        pretrained=str(tmp_path / 'det.pth'),
        backbone=dict(arch='deit-tiny'))
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
