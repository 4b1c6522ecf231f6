"""Generate the synthetic RS-like demo data: unlabelled scenes for
pretraining and, optionally, a held-out labelled set (one folder per scene
type) for the k-NN probe.

Example::

    python tools/dataset/make_demo_data.py data/demo_rs --num 300 --seed 0 \
        --labelled data/demo_rs_labelled --per-class 60
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from selective_mae.datasets.demo_data import (  # noqa: E402
    SCENE_TYPES, generate_demo_dataset, generate_labelled_demo_dataset)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output folder of the unlabelled '
                        'scenes')
    parser.add_argument('--num', type=int, default=300, help='scene count')
    parser.add_argument('--size', type=int, default=128, help='side in px')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--folders', type=int, default=3,
                        help='number of sub-folders the scenes go into')
    parser.add_argument('--list-file', default='train.txt',
                        help='list file written in out_dir (one relative '
                        'path per line); empty to skip')
    parser.add_argument('--labelled', default='',
                        help='also write the held-out labelled set here '
                        f'(folders {", ".join(SCENE_TYPES)})')
    parser.add_argument('--per-class', type=int, default=60,
                        help='labelled scenes per type')
    args = parser.parse_args(argv)
    t0 = time.time()
    paths = generate_demo_dataset(args.out_dir, args.num, args.size,
                                  args.seed, args.folders)
    if args.list_file:
        with open(osp.join(args.out_dir, args.list_file), 'w') as f:
            f.write('\n'.join(paths) + '\n')
    print(f'{len(paths)} scenes of {args.size} px in {args.out_dir} '
          f'({time.time() - t0:.1f} s)')
    if args.labelled:
        t0 = time.time()
        items = generate_labelled_demo_dataset(args.labelled, args.per_class,
                                               args.size, args.seed)
        print(f'{len(items)} labelled scenes ({args.per_class} per type) in '
              f'{args.labelled} ({time.time() - t0:.1f} s)')


if __name__ == '__main__':
    main()
