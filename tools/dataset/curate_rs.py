"""Curate a remote-sensing image collection: exclude, slice, deduplicate.

Example::

    python tools/dataset/curate_rs.py data/raw_scenes data/curated \
        --tile-size 512 --hash-threshold 4

Writes ``tiles/``, ``index.txt`` (usable as the RS4M ``ann_file``, paths
relative to the output folder), ``curation_journal.jsonl`` and
``curation_summary.json``. Safe to run again after an interruption: sources
already in the journal are skipped. See ``selective_mae/datasets/curation.py``
for the rules.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from selective_mae.datasets.curation import curate  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='folder of source images (any depth)')
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--tile-size', type=int, default=512)
    parser.add_argument(
        '--stride',
        type=int,
        default=None,
        help='step between tiles (default: tile size)')
    parser.add_argument(
        '--min-size',
        type=int,
        default=64,
        help='exclude sources with a shorter side below this')
    parser.add_argument(
        '--hash-threshold',
        type=int,
        default=4,
        help='Hamming distance of duplicates; -1: no dedup')
    parser.add_argument(
        '--std-threshold',
        type=float,
        default=3.0,
        help='grey std below which a tile is uniform')
    parser.add_argument(
        '--nodata-fraction',
        type=float,
        default=0.5,
        help='drop tiles with more no-data pixels than this')
    parser.add_argument('--format', default='png', choices=('png', 'jpg'))
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    if not osp.isdir(args.src):
        parser.error(f'source folder {args.src!r} does not exist')
    summary = curate(
        args.src,
        args.out_dir,
        tile_size=args.tile_size,
        stride=args.stride,
        min_size=args.min_size,
        hash_threshold=args.hash_threshold,
        std_threshold=args.std_threshold,
        nodata_fraction=args.nodata_fraction,
        tile_format=args.format,
        progress=not args.no_progress)
    print(
        json.dumps({
            k: v
            for k, v in summary.items() if k != 'unreadable_files'
        }))
    for f in summary['unreadable_files']:
        print(f'unreadable: {f}')


if __name__ == '__main__':
    main()
