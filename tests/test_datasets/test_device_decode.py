"""The device decode path: same crops and flips as the worker path for the
same random state, the fallback to worker decoding, and the bad-file policy
on the device (here the device is the CPU: the code path is the same, only
``decode_jpeg``'s backend differs)."""
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from device_decode_files import broken_huffman_jpeg, textured_jpeg
from mmengine.dataset import Compose
from mmpretrain.registry import MODELS, TRANSFORMS
from PIL import Image
from rs4m_tree import write_tiff

import selective_mae  # noqa: F401
from selective_mae.datasets import RS4M, BadImage, rs_collate
from selective_mae.datasets.encoded import EncodedBatch
from selective_mae.datasets.loader_timing import device_decode_pipeline
from selective_mae.engine.hooks import BadImageHook
from selective_mae.testing.log_capture import captured_log

# Stated tolerance (docs/datasets.md), device (torch, float, antialiased
# filter on the cropped region) against the worker path with full decoding
# (PIL: two passes with 8-bit rounding in between, fixed-point weights, and
# a resize box whose filter also reads the pixels just outside the box), on
# the 0..255 scale: mean absolute difference per image below 0.5; away from
# the crop's border (all but the outer BORDER output pixels) no pixel more
# than 4 grey levels apart. (The device decodes at full size: against the
# worker path with reduced-size JPEG decoding the difference is that of
# reduced against full decoding, see test_rs4m.py.)
MEAN_TOL, INTERIOR_MAX_TOL, BORDER = 0.5, 4.0, 2


def _worker_pipeline(scale, reduced_decode=False):
    return [
        dict(
            type='LoadRandomResizedCrop',
            scale=scale,
            crop_ratio_range=(0.2, 1.0),
            interpolation='bicubic',
            reduced_decode=reduced_decode),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackInputs')
    ]


def _run(pipeline, paths, seed):
    np.random.seed(seed)
    t = Compose([TRANSFORMS.build(c) for c in pipeline])
    return [t(dict(img_path=p, sample_idx=i)) for i, p in enumerate(paths)]


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp('device_decode')
    out = {}
    # Down- and upsampled crops, gray, progressive, 4:4:4.
    for name, (w, h), kw in [('big', (900, 700), {}),
                             ('wide', (1300, 420), dict(subsampling=0)),
                             ('small', (150, 130), {}),
                             ('prog', (500, 380), dict(progressive=True))]:
        path = str(d / f'{name}.jpg')
        with open(path, 'wb') as f:
            f.write(textured_jpeg(w, h, seed=len(out), **kw))
        out[name] = path
    gray = np.asarray(Image.open(out['big']).convert('L'))
    out['gray'] = str(d / 'gray.jpg')
    Image.fromarray(gray[:300, :400]).save(out['gray'], quality=90)
    rng = np.random.default_rng(0)
    out['png'] = str(d / 'scene.png')
    Image.fromarray(rng.integers(0, 256, (120, 160, 3),
                                 dtype=np.uint8)).save(out['png'])
    out['tif'] = str(d / 'scene16.tif')
    write_tiff(out['tif'], rng.integers(0, 9000, (90, 110, 4)).astype(
        np.uint16))
    return out


def _preprocessor():
    return MODELS.build(dict(type='RSSelfSupDataPreprocessor'))


@pytest.mark.parametrize('scale', [64, (48, 80)])
def test_device_crops_match_worker_crops(files, scale):
    paths = [files[k] for k in ('big', 'wide', 'small', 'prog', 'gray')]
    pre = _preprocessor()  # no mean / std: 0..255 images
    for seed in range(4):
        worker = rs_collate(_run(_worker_pipeline(scale), paths, seed))
        enc = rs_collate(
            _run(device_decode_pipeline(_worker_pipeline(scale)), paths,
                 seed))
        inputs = enc['inputs']
        assert isinstance(inputs, EncodedBatch)
        assert len(inputs.encoded_pos) == len(paths)  # all on the device
        a = pre(worker)['inputs']
        b = pre(enc)['inputs']
        assert a.shape == b.shape == (len(paths), 3) + (
            (scale, scale) if isinstance(scale, int) else scale)
        assert [s.flip_direction for s in worker['data_samples']] == [
            s.flip_direction for s in enc['data_samples']
        ]
        assert [s.sample_idx for s in enc['data_samples']] == list(
            range(len(paths)))
        diff = (a - b).abs().flatten(1)
        assert diff.mean(1).max() < MEAN_TOL, diff.mean(1)
        interior = (a - b).abs()[..., BORDER:-BORDER, BORDER:-BORDER]
        assert interior.max() <= INTERIOR_MAX_TOL
        # A wrong box (e.g. another crop) is far outside the tolerance.
        assert (a - b.flip(-1)).abs().flatten(1).mean(1).min() > 5 * MEAN_TOL
    assert any(s.flip for s in enc['data_samples'])


def test_other_files_fall_back_to_the_worker_path(files):
    paths = [files['png'], files['big'], files['tif'], files['small']]
    pre = _preprocessor()
    for seed in range(3):
        worker = rs_collate(_run(_worker_pipeline(64), paths, seed))
        enc = rs_collate(
            _run(device_decode_pipeline(_worker_pipeline(64)), paths, seed))
        inputs = enc['inputs']
        assert inputs.decoded_pos == [0, 2] and inputs.encoded_pos == [1, 3]
        a = pre(worker)['inputs']
        b = pre(enc)['inputs']
        # Worker-decoded files: the worker path's very pixels, in place.
        assert torch.equal(a[[0, 2]], b[[0, 2]])
        assert (a[[1, 3]] - b[[1, 3]]).abs().flatten(1).mean(1).max() < (
            MEAN_TOL)


def test_device_path_keeps_the_bad_file_policy(files, tmp_path):
    good = open(files['big'], 'rb').read()
    blobs = {
        'good.jpg': good,
        'broken_huffman.jpg': broken_huffman_jpeg(),  # fails on the device
        'truncated.jpg': good[:len(good) // 2],  # no end marker: worker
        'header.jpg': b'\xff\xd8\xff\xe0' + bytes(300),  # bad markers
        'small.jpg': textured_jpeg(40, 12),  # below min_side
    }
    const = np.zeros((300, 300, 3), np.uint8)
    Image.fromarray(const + 90).save(tmp_path / 'constant.jpg', quality=95)
    for name, data in blobs.items():
        with open(tmp_path / name, 'wb') as f:
            f.write(data)
    bad = sorted(set(blobs) - {'good.jpg'}) + ['constant.jpg']
    ds = RS4M(
        data_root=str(tmp_path),
        pipeline=device_decode_pipeline(_worker_pipeline(32)))
    samples = [ds[i] for i in range(len(ds))]
    worker_bad = {
        osp.basename(s.img_path)
        for s in samples if isinstance(s, BadImage)
    }
    assert worker_bad == set(bad) - {'broken_huffman.jpg'}
    from mmengine.runner import get_priority

    from selective_mae.engine.hooks import InfoBatchHook
    assert get_priority(BadImageHook.priority) < get_priority(
        InfoBatchHook.priority)  # decodes before InfoBatch reads samples
    for early in (True, False):
        # early: BadImageHook decodes the batch through the model's
        # preprocessor before the other hooks; else the forward does.
        batch = rs_collate(samples)
        assert len(batch['inputs']) == 2
        pre = _preprocessor()
        hook = BadImageHook()
        runner = SimpleNamespace(epoch=0)
        if early:
            runner.model = SimpleNamespace(data_preprocessor=pre)
        with captured_log() as messages:
            hook.before_train_iter(runner, 0, batch)
            if early:  # what InfoBatchHook sees next
                assert isinstance(batch['inputs'], torch.Tensor)
                assert batch['inputs'].dtype == torch.uint8
                assert len(batch['data_samples']) == 1
                assert any('broken_huffman.jpg' in m for m in messages)
            out = pre(batch, True)
            hook.after_train_iter(runner, 0, batch)
            hook.after_train_epoch(runner)
        assert out['inputs'].shape == (1, 3, 32, 32)
        assert [osp.basename(s.img_path)
                for s in out['data_samples']] == ['good.jpg']
        named = [m for m in messages if m.startswith('skipped unreadable')]
        for name in bad:
            assert sum(name in m for m in named) == 1, name
        assert any('broken_huffman.jpg' in m and 'device decoder' in m
                   for m in named)
        assert (f'epoch 1: {len(bad)} unreadable images skipped'
                in messages[-1])
    # A batch of undecodable JPEGs only is an error naming them.
    only_bad = rs_collate([
        s for s in samples if not isinstance(s, BadImage)
        and osp.basename(s['data_samples'].img_path) == 'broken_huffman.jpg'
    ])
    with pytest.raises(RuntimeError, match='broken_huffman.jpg'):
        _preprocessor()(only_bad, True)


def test_device_decode_pipeline_conversion():
    conv = device_decode_pipeline([
        dict(type='LoadRandomResizedCrop', scale=32, backend_args=None),
        dict(type='RandomFlip', prob=0.25, direction='vertical'),
        dict(type='PackInputs', meta_keys=('img_path', ))
    ])
    assert conv == [
        dict(
            type='LoadEncodedRandomResizedCrop',
            scale=32,
            backend_args=None,
            flip_prob=0.25,
            flip_direction='vertical'),
        dict(type='PackEncodedInputs', meta_keys=('img_path', ))
    ]
    no_flip = device_decode_pipeline([
        dict(type='LoadRandomResizedCrop', scale=32),
        dict(type='PackInputs')
    ])
    assert no_flip[0]['flip_prob'] is None
    with pytest.raises(ValueError, match='ColorJitter'):
        device_decode_pipeline([
            dict(type='LoadRandomResizedCrop', scale=32),
            dict(type='ColorJitter'),
            dict(type='PackInputs')
        ])


def test_device_decode_config_trains_a_step(tmp_path, repo_root):
    """A config that switches the demo SelectiveMAE config to the device
    path, as docs/datasets.md shows: one finite training loss."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from selective_mae.datasets.demo_data import make_scene
    for i in range(6):
        img = Image.fromarray(make_scene(0, i, 128))
        img.save(tmp_path / f'scene_{i}.{"jpg" if i < 4 else "png"}',
                 quality=92)
    base = osp.join(repo_root, 'configs', 'selectivemae',
                    'selectivemae_vit-tiny-p8_1xb16-20e_demo.py')
    cfg_file = tmp_path / 'device_cfg.py'
    cfg_file.write_text(
        f'_base_ = [{base!r}]\n'
        'train_dataloader = dict(\n'
        '    dataset=dict(pipeline={{_base_.train_pipeline_device_decode}}))\n'
    )
    cfg = Config.fromfile(str(cfg_file))
    init_default_scope('mmpretrain')
    from mmpretrain.registry import DATASETS
    ds = DATASETS.build(
        dict(cfg.train_dataloader.dataset, data_root=str(tmp_path)))
    batch = rs_collate([ds[i] for i in range(len(ds))])
    assert len(batch['inputs'].encoded_pos) == 4
    model_cfg = dict(cfg.model)
    model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    torch.manual_seed(0)
    data = model.data_preprocessor(batch, True)
    assert data['inputs'].shape == (6, 3, 64, 64)
    loss = model.loss(**data)['loss']
    assert torch.isfinite(loss)


def test_pin_memory_pins_one_buffer_and_keeps_bad_images(files, monkeypatch):
    """The DataLoader's pin_memory (pin_memory=True) pins the batch's byte
    buffer and decoded crops once, and keeps the RSBatch attributes."""
    from torch.utils.data._utils.pin_memory import pin_memory
    pinned = []

    def fake_pin(self, *args, **kwargs):  # no CUDA here: record instead
        pinned.append(self.shape)
        return self.clone()

    monkeypatch.setattr(torch.Tensor, 'pin_memory', fake_pin)
    paths = [files['big'], files['png'], files['small']]
    samples = _run(device_decode_pipeline(_worker_pipeline(32)), paths, 0)
    samples.append(BadImage('gone.jpg', 9, 'test'))
    batch = rs_collate(samples)
    out = pin_memory(batch)
    assert isinstance(out['inputs'], EncodedBatch)
    assert out.bad_images == batch.bad_images
    assert sorted(pinned) == sorted(
        [batch['inputs'].data.shape, batch['inputs'].decoded.shape])
    a = _preprocessor()(batch, True)['inputs']
    b = _preprocessor()(out, True)['inputs']
    assert torch.equal(a, b)
