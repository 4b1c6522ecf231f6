"""Measure the pretraining data path (images/s): loader workers plus the
data preprocessor, for several decoding pipelines and worker counts.

Example::

    python tools/dataset/benchmark_loader.py --workers 0 1 2 \
        --out work_dirs/loader_benchmark.json
    # on a GPU machine, the device path decodes with nvjpeg:
    python tools/dataset/benchmark_loader.py --workers 16 --device cuda \
        --batch-size 256 --batches 20 --num 1024 \
        --out work_dirs/loader_benchmark_gpu.json

Without ``--data`` it writes ``--num`` large synthetic JPEG scenes
(``--size`` px, quality 90) to a temporary folder. Each pipeline runs as an
mmengine data loader (``RS4M`` data set, ``rs_collate``), with the
pretraining configs' data preprocessor on ``--device``
(:func:`selective_mae.datasets.loader_timing.time_data_path`):

* ``stock``: mmcv ``LoadImageFromFile`` + mmpretrain ``RandomResizedCrop``
  (pillow backend), the released pipeline as mmpretrain would run it;
* ``full``: ``LoadRandomResizedCrop(reduced_decode=False)``;
* ``reduced``: ``LoadRandomResizedCrop(reduced_decode=True)`` (the configs'
  default);
* ``device``: the device decode path (``LoadEncodedRandomResizedCrop``:
  the workers read bytes and draw boxes, the preprocessor decodes, crops
  and resizes on ``--device``);

all with RandomResizedCrop 224, scale (0.2, 1.0), bicubic, flip. It prints a
table and writes JSON. Not a test: numbers depend on the machine.
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import tempfile

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

CROP = dict(scale=224, crop_ratio_range=(0.2, 1.), interpolation='bicubic')
PIPELINES = {
    'stock': ([
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', backend='pillow', **CROP),
    ], 'worker'),
    'full': ([dict(type='LoadRandomResizedCrop', reduced_decode=False, **CROP)
              ], 'worker'),
    'reduced': ([
        dict(type='LoadRandomResizedCrop', reduced_decode=True, **CROP)
    ], 'worker'),
    'device': ([
        dict(type='LoadRandomResizedCrop', reduced_decode=True, **CROP)
    ], 'device'),
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


def loader_config(data_root, name, batch_size):
    """The ``train_dataloader`` config of one pipeline."""
    pipeline, _ = PIPELINES[name]
    return dict(
        batch_size=batch_size,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=True),
        collate_fn=dict(type='rs_collate'),
        pin_memory=True,
        dataset=dict(
            type='RS4M',
            data_root=data_root,
            pipeline=pipeline + [
                dict(type='RandomFlip', prob=0.5),
                dict(type='PackInputs')
            ]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data', help='folder of images (default: make '
        'synthetic JPEGs)')
    parser.add_argument(
        '--num', type=int, default=96, help='synthetic scenes to write')
    parser.add_argument(
        '--size', type=int, default=1536, help='synthetic scene side in px')
    parser.add_argument(
        '--workers', type=int, nargs='+', default=[2],
        help='worker counts to measure')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument(
        '--batches', type=int, default=12, help='timed batches per run')
    parser.add_argument(
        '--device', default='cpu', help="the preprocessor's device")
    parser.add_argument(
        '--pipelines',
        nargs='+',
        default=list(PIPELINES),
        choices=list(PIPELINES))
    parser.add_argument('--out', help='JSON file for the results')
    args = parser.parse_args(argv)

    import selective_mae  # noqa: F401  (registers the transforms)
    from selective_mae.datasets.loader_timing import time_data_path

    tmp = None
    data_root = args.data
    if data_root is None:
        tmp = tempfile.TemporaryDirectory(prefix='loader_bench_')
        data_root = make_jpegs(tmp.name, args.num, args.size)
    rows = []
    for workers in args.workers:
        for name in args.pipelines:
            r = time_data_path(
                loader_config(data_root, name, args.batch_size),
                decode=PIPELINES[name][1],
                num_workers=workers,
                batches=args.batches,
                device=args.device)
            r['pipeline'] = name
            rows.append(r)
            print(f'{name} x {workers} workers: {r["images_per_s"]} '
                  'images/s', flush=True)
    print(f'{"pipeline":<10}{"workers":>8}{"images":>8}{"seconds":>9}'
          f'{"images/s":>10}{"wait s":>8}{"prep s":>8}{"vs stock":>10}')
    for r in rows:
        base = [
            s['images_per_s'] for s in rows
            if s['pipeline'] == 'stock' and s['workers'] == r['workers']
        ]
        rel = f'{r["images_per_s"] / base[0]:.2f}x' if base else '-'
        print(f'{r["pipeline"]:<10}{r["workers"]:>8}{r["images"]:>8}'
              f'{r["seconds"]:>9}{r["images_per_s"]:>10}'
              f'{r["loader_wait_s"]:>8}{r["preprocess_s"]:>8}{rel:>10}')
    result = dict(
        data=args.data or f'synthetic {args.num} JPEG {args.size} px',
        batch_size=args.batch_size,
        device=args.device,
        cpu_count=os.cpu_count(),
        machine=platform.platform(),
        results=rows)
    try:
        result['load_avg_1min'] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
        print(f'wrote {args.out}')
    if tmp is not None:
        tmp.cleanup()
    return result


if __name__ == '__main__':
    main()
