"""Measure pretraining data-loader throughput (images/s), with and without
reduced-size JPEG decoding.

Example::

    python tools/dataset/benchmark_loader.py --workers 2 \
        --out work_dirs/loader_benchmark.json

Without ``--data`` it writes ``--num`` large synthetic JPEG scenes
(``--size`` px, quality 90) to a temporary folder. It runs three pipelines
through an mmengine-style DataLoader (RS4M data set, ``rs_collate``):

* ``stock``: mmcv ``LoadImageFromFile`` + mmpretrain ``RandomResizedCrop``
  (pillow backend), the released pipeline as mmpretrain would run it;
* ``full``: ``LoadRandomResizedCrop(reduced_decode=False)``;
* ``reduced``: ``LoadRandomResizedCrop(reduced_decode=True)``;

all with RandomResizedCrop 224, scale (0.2, 1.0), bicubic, flip, and prints
a table and writes JSON. Not a test: numbers depend on the machine.
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import tempfile
import time

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

PIPELINES = {
    'stock': [
        dict(type='LoadImageFromFile'),
        dict(
            type='RandomResizedCrop',
            scale=224,
            crop_ratio_range=(0.2, 1.),
            backend='pillow',
            interpolation='bicubic'),
    ],
    'full': [
        dict(
            type='LoadRandomResizedCrop',
            scale=224,
            crop_ratio_range=(0.2, 1.),
            reduced_decode=False),
    ],
    'reduced': [
        dict(
            type='LoadRandomResizedCrop',
            scale=224,
            crop_ratio_range=(0.2, 1.),
            reduced_decode=True),
    ],
}


def make_jpegs(out_dir, num, size, seed=0):
    """Write ``num`` RS-like JPEG scenes of ``size`` px.

    Returns:
        str: ``out_dir``.
    """
    import numpy as np
    from PIL import Image

    from selective_mae.datasets.demo_data import make_scene

    for i in range(num):
        path = osp.join(out_dir, f'scene_{i:04d}.jpg')
        if osp.isfile(path):
            continue
        small = Image.fromarray(make_scene(seed, i, 256))
        big = np.asarray(small.resize((size, size), Image.BICUBIC), np.int16)
        noise = np.random.default_rng([seed, i]).normal(0, 4, big.shape)
        big = np.clip(big + noise, 0, 255).astype(np.uint8)
        Image.fromarray(big).save(path, quality=90)
    return out_dir


def measure(data_root, name, workers, batch_size, batches, seed=0):
    """Images per second of one pipeline, after one warm-up batch.

    Returns:
        dict: ``pipeline``, ``images``, ``seconds``, ``images_per_s``.
    """
    import torch
    from mmengine.dataset import DefaultSampler
    from torch.utils.data import DataLoader

    from selective_mae.datasets import RS4M, rs_collate

    pipeline = PIPELINES[name] + [
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackInputs')
    ]
    dataset = RS4M(data_root=data_root, pipeline=pipeline)
    torch.manual_seed(seed)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=DefaultSampler(dataset, shuffle=True, seed=seed),
        num_workers=workers,
        collate_fn=rs_collate,
        persistent_workers=False)
    it = iter(loader)
    next(it)  # warm-up: worker start, first decodes
    n = 0
    t0 = time.perf_counter()
    for _ in range(batches):
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        n += len(batch['inputs'])
    dt = time.perf_counter() - t0
    del it
    return dict(
        pipeline=name,
        images=n,
        seconds=round(dt, 3),
        images_per_s=round(n / dt, 1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data', help='folder of images (default: make '
        'synthetic JPEGs)')
    parser.add_argument(
        '--num', type=int, default=96, help='synthetic scenes to write')
    parser.add_argument(
        '--size', type=int, default=1536, help='synthetic scene side in px')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument(
        '--batches', type=int, default=12, help='timed batches per pipeline')
    parser.add_argument(
        '--pipelines',
        nargs='+',
        default=list(PIPELINES),
        choices=list(PIPELINES))
    parser.add_argument('--out', help='JSON file for the results')
    args = parser.parse_args(argv)

    import selective_mae  # noqa: F401  (registers the transforms)

    tmp = None
    data_root = args.data
    if data_root is None:
        tmp = tempfile.TemporaryDirectory(prefix='loader_bench_')
        data_root = make_jpegs(tmp.name, args.num, args.size)
    rows = [
        measure(data_root, name, args.workers, args.batch_size, args.batches)
        for name in args.pipelines
    ]
    base = {r['pipeline']: r['images_per_s'] for r in rows}
    print(f'{"pipeline":<10}{"images":>8}{"seconds":>10}{"images/s":>10}'
          f'{"vs stock":>10}')
    for r in rows:
        rel = (f'{r["images_per_s"] / base["stock"]:.2f}x'
               if 'stock' in base else '-')
        print(f'{r["pipeline"]:<10}{r["images"]:>8}{r["seconds"]:>10}'
              f'{r["images_per_s"]:>10}{rel:>10}')
    result = dict(
        data=args.data or f'synthetic {args.num} JPEG {args.size} px',
        workers=args.workers,
        batch_size=args.batch_size,
        cpu_count=os.cpu_count(),
        machine=platform.platform(),
        results=rows)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
        print(f'wrote {args.out}')
    if tmp is not None:
        tmp.cleanup()


if __name__ == '__main__':
    main()
