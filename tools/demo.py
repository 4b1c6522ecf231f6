"""The README main job: generate the demo scenes, pretrain on them, and say
where the checkpoint and the log are.

    python tools/demo.py [--config CFG] [--work-dir DIR] [--data-root DIR]
"""
import argparse
import glob
import os
import os.path as osp
import sys

# The demo model is tiny: one compute thread beside the loader workers is
# about 9x faster on 2 cores than letting torch take every core.
os.environ.setdefault('OMP_NUM_THREADS', '1')

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..')
sys.path.insert(0, ROOT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--config',
        default=osp.join(ROOT, 'configs', 'selectivemae',
                         'selectivemae_vit-tiny-p8_1xb16-20e_demo.py'))
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/demo_rs')
    parser.add_argument('--num-images', type=int, default=300)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('train_args', nargs=argparse.REMAINDER,
                        help='more tools/train.py options, after --')
    args = parser.parse_args()

    from selective_mae.datasets.demo_data import generate_demo_dataset
    from tools.train import main as train

    paths = generate_demo_dataset(args.data_root, args.num_images, 128,
                                  args.seed)
    with open(osp.join(args.data_root, 'train.txt'), 'w') as f:
        f.write('\n'.join(paths) + '\n')
    print(f'demo data: {len(paths)} scenes in {args.data_root}')

    extra = [a for a in args.train_args if a != '--']
    train([args.config, '--work-dir', args.work_dir, '--cfg-options',
           f'train_dataloader.dataset.data_root={args.data_root}'] + extra)

    last = osp.join(args.work_dir, 'last_checkpoint')
    ckpt = open(last).read().strip() if osp.isfile(last) else None
    logs = sorted(glob.glob(osp.join(args.work_dir, '*', '*.log')))
    print('\n' + '=' * 70)
    print(f'checkpoint: {ckpt}')
    print(f'log:        {logs[-1] if logs else None}')
    print(f'work dir:   {args.work_dir}')
    print('=' * 70)


if __name__ == '__main__':
    main()
