"""Write per-class train/test splits of AID, NWPU-RESISC45 or UC Merced.

The data sets are published as one folder per class; the protocols train on
a share of every class (AID: 20% / 50%, NWPU-RESISC45: 10% / 20%, UC
Merced: 80%) and test on the rest. Splits are drawn per class from
``--seed`` and written as list files ``<out-dir>/{train,test}_tr<ratio>_seed<seed>.txt``, which the
classification configs read::

    python tools/dataset/make_scene_splits.py data/AID --dataset aid
    python tools/dataset/make_scene_splits.py data/NWPU-RESISC45 \
        --dataset resisc45 --ratios 10 20 --seed 1
    python tools/dataset/make_scene_splits.py data/UCMerced_LandUse/Images \
        --dataset ucm
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

DEFAULT_RATIOS = {'aid': (20, 50), 'resisc45': (10, 20), 'ucm': (80, )}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root', help='folder with one folder per class')
    parser.add_argument(
        '--dataset',
        choices=sorted(DEFAULT_RATIOS),
        required=True,
        help='which class list to use')
    parser.add_argument(
        '--ratios',
        type=int,
        nargs='+',
        help='train ratios in percent (default: the protocol\'s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--out-dir', help='where to write (default: <data_root>/splits)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from selective_mae.datasets.scene_classification import (
        AID_CLASSES, RESISC45_CLASSES, UCM_CLASSES)
    from selective_mae.datasets.scene_splits import generate_scene_splits
    classes = dict(
        aid=AID_CLASSES, resisc45=RESISC45_CLASSES,
        ucm=UCM_CLASSES)[args.dataset]
    for ratio in args.ratios or DEFAULT_RATIOS[args.dataset]:
        paths = generate_scene_splits(args.data_root, classes, ratio,
                                      args.seed, args.out_dir)
        counts = {k: sum(1 for _ in open(p)) for k, p in paths.items()}
        print(f'train ratio {ratio}%: {counts["train"]} train, '
              f'{counts["test"]} test images -> {paths["train"]}, '
              f'{paths["test"]}')


if __name__ == '__main__':
    main()
