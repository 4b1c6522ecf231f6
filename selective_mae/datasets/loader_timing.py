"""Timing of the pretraining data path: loader workers plus the data
preprocessor, with the worker-side or the device-side decode.

Shared by ``tools/dataset/benchmark_loader.py`` and
``tools/analysis_tools/benchmark_pretrain.py``. Not a test: the numbers
depend on the machine.
"""
import copy
import time

import torch

# The preprocessor of the pretraining configs (ImageNet mean / std, RGB).
DEFAULT_PREPROCESSOR = dict(
    type='RSSelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=False)


def _type(t):
    return t.get('type') if isinstance(t, dict) else type(t).__name__


def device_decode_pipeline(pipeline):
    """The device-decode form of a worker-path pretraining pipeline.

    ``LoadRandomResizedCrop`` (and a ``RandomFlip`` right after it) become
    ``LoadEncodedRandomResizedCrop`` with the same arguments (the flip's
    ``prob`` and ``direction`` as ``flip_prob`` and ``flip_direction``);
    ``PackInputs`` becomes ``PackEncodedInputs`` with the same meta keys.

    Args:
        pipeline (list[dict]): E.g. ``[LoadRandomResizedCrop, RandomFlip,
            PackInputs]`` configs.

    Returns:
        list[dict]: The device-decode pipeline (new dicts).

    Raises:
        ValueError: A transform the device path cannot run in the workers
            (every other transform would need the decoded image).
    """
    out = []
    steps = [copy.deepcopy(dict(t)) for t in pipeline]
    i = 0
    while i < len(steps):
        t = steps[i]
        kind = _type(t)
        if kind in ('LoadRandomResizedCrop', 'LoadEncodedRandomResizedCrop'):
            t['type'] = 'LoadEncodedRandomResizedCrop'
            t.setdefault('flip_prob', None)
            if i + 1 < len(steps) and _type(steps[i + 1]) == 'RandomFlip':
                flip = steps[i + 1]
                t['flip_prob'] = float(flip.get('prob', 0.5))
                t['flip_direction'] = flip.get('direction', 'horizontal')
                i += 1
            out.append(t)
        elif kind in ('PackInputs', 'PackEncodedInputs'):
            t['type'] = 'PackEncodedInputs'
            t.pop('input_key', None)
            t.pop('algorithm_keys', None)
            out.append(t)
        else:
            raise ValueError(
                f'the device decode path runs LoadRandomResizedCrop '
                f'(+ RandomFlip) and PackInputs in the workers, nothing '
                f'else; {kind} needs the decoded image')
        i += 1
    if [_type(t) for t in out] != [
            'LoadEncodedRandomResizedCrop', 'PackEncodedInputs'
    ]:
        raise ValueError('a device decode pipeline is '
                         '[LoadRandomResizedCrop, (RandomFlip), PackInputs]; '
                         f'got {[_type(t) for t in pipeline]}')
    return out


def device_preprocessor(cfg=None):
    """A data preprocessor config that decodes device batches: ``cfg``
    with ``SelfSupDataPreprocessor`` replaced by
    ``RSSelfSupDataPreprocessor`` (same arguments)."""
    cfg = copy.deepcopy(dict(cfg or DEFAULT_PREPROCESSOR))
    if cfg.get('type') in (None, 'SelfSupDataPreprocessor',
                           'mmpretrain.SelfSupDataPreprocessor'):
        cfg['type'] = 'RSSelfSupDataPreprocessor'
    return cfg


def time_data_path(dataloader,
                   decode='worker',
                   data_preprocessor=None,
                   num_workers=None,
                   batch_size=None,
                   batches=10,
                   warmup=1,
                   device='cpu',
                   seed=0):
    """Images per second the data path delivers to the model.

    Builds the data loader (mmengine's ``Runner.build_dataloader``) and the
    data preprocessor on ``device``, then for ``batches`` batches after
    ``warmup`` untimed ones: waits for the next batch (``loader_wait_s``),
    runs the preprocessor (``preprocess_s``: on the device path the JPEG
    decoding, cropping and resizing; on a GPU each call is followed by a
    synchronisation, for timing only). ``images_per_s`` counts the images
    that come out of the preprocessor over the total time.

    Args:
        dataloader (dict): A ``train_dataloader`` config whose pipeline is
            the worker-path one (``LoadRandomResizedCrop``, ...).
        decode (str): 'worker' (the pipeline as given) or 'device' (its
            :func:`device_decode_pipeline`).
        data_preprocessor (dict, optional): Preprocessor config; defaults
            to the pretraining configs' one. Built as
            :func:`device_preprocessor`.
        num_workers (int, optional): Overrides the config's.
        batch_size (int, optional): Overrides the config's.
        batches (int): Timed batches.
        warmup (int): Untimed batches first (worker start, first decodes).
        device (str | torch.device): Device of the preprocessor.
        seed (int): Seed of the loader.

    Returns:
        dict: ``decode``, ``workers``, ``batch_size``, ``device``,
        ``images``, ``seconds``, ``images_per_s``, ``loader_wait_s``,
        ``preprocess_s``, ``bad_images``.
    """
    from mmengine.registry import DefaultScope, init_default_scope
    from mmengine.runner import Runner
    from mmpretrain.registry import MODELS

    if decode not in ('worker', 'device'):
        raise ValueError(f"decode must be 'worker' or 'device', got "
                         f'{decode!r}')
    if DefaultScope.get_current_instance() is None:
        init_default_scope('mmpretrain')
    cfg = copy.deepcopy(dict(dataloader))
    cfg['dataset'] = copy.deepcopy(dict(cfg['dataset']))
    if decode == 'device':
        cfg['dataset']['pipeline'] = device_decode_pipeline(
            cfg['dataset']['pipeline'])
    if num_workers is not None:
        cfg['num_workers'] = num_workers
    if batch_size is not None:
        cfg['batch_size'] = batch_size
    cfg['persistent_workers'] = False
    if cfg.get('num_workers', 0) == 0:
        cfg.pop('prefetch_factor', None)
    device = torch.device(device)
    cfg['pin_memory'] = bool(cfg.get('pin_memory')) and device.type == 'cuda'
    loader = Runner.build_dataloader(cfg, seed=seed)
    pre = MODELS.build(device_preprocessor(data_preprocessor)).to(device)

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    it = iter(loader)

    def next_batch():
        nonlocal it
        try:
            return next(it)
        except StopIteration:
            it = iter(loader)
            return next(it)

    for _ in range(warmup):
        pre(next_batch(), True)
    sync()
    n = bad = 0
    wait = prep = 0.0
    for _ in range(batches):
        t0 = time.perf_counter()
        batch = next_batch()
        t1 = time.perf_counter()
        out = pre(batch, True)
        sync()
        t2 = time.perf_counter()
        wait += t1 - t0
        prep += t2 - t1
        n += out['inputs'].shape[0]
        bad += len(getattr(batch, 'bad_images', ()))
    del it
    total = wait + prep
    return dict(
        decode=decode,
        workers=cfg.get('num_workers', 0),
        batch_size=cfg['batch_size'],
        device=str(device),
        images=n,
        seconds=round(total, 3),
        images_per_s=round(n / total, 1),
        loader_wait_s=round(wait, 3),
        preprocess_s=round(prep, 3),
        bad_images=bad)
