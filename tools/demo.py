"""The README main job: generate the demo scenes, pretrain on them, and show
what was learned: the k-NN accuracy of the trained encoder next to that of
the same encoder at initialisation, and one picture of token selection and
reconstruction by the trained checkpoint.

    python tools/demo.py [--config CFG] [--work-dir DIR] [--data-root DIR] \
        [--labelled-root DIR] [-- more tools/train.py options]
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import warnings

# mmengine imports pkg_resources to find `mmpretrain::` & co. config bases
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

# The demo model is tiny: one compute thread beside the loader workers is
# about 9x faster on 2 cores than letting torch take every core.
os.environ.setdefault('OMP_NUM_THREADS', '1')

ROOT = osp.abspath(osp.join(osp.dirname(osp.abspath(__file__)), '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DEFAULT_CFG = osp.join(ROOT, 'configs', 'selectivemae',
                       'selectivemae_vit-tiny-p8_1xb16-20e_demo.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CFG)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/demo_rs')
    parser.add_argument('--labelled-root', default='data/demo_rs_labelled',
                        help='held-out labelled scenes of the k-NN probe')
    parser.add_argument('--num-images', type=int, default=1000)
    parser.add_argument('--per-class', type=int, default=100,
                        help='labelled scenes per type')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--vis-progress', type=float, nargs='+',
                        default=[0., 0.5],
                        help='curriculum progress values drawn in the PNG')
    parser.add_argument('train_args', nargs=argparse.REMAINDER,
                        help='more tools/train.py options, after --')
    return parser.parse_args(argv)


def knn_hook_index(config):
    """Index of the KNNEvalHook in the config's custom_hooks, or None."""
    from mmengine.config import Config
    hooks = Config.fromfile(config).get('custom_hooks') or []
    types = [h.get('type') for h in hooks]
    return types.index('KNNEvalHook') if 'KNNEvalHook' in types else None


def knn_history(work_dir):
    """The k-NN records of the newest run's scalars file, in order."""
    runs = sorted(glob.glob(osp.join(work_dir, '2*', 'vis_data',
                                     'scalars.json')))
    if not runs:
        return []
    with open(runs[-1]) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r for r in records if any(k.startswith('knn/') for k in r)]


def print_knn(history, labelled_root):
    if len(history) < 2:
        print('k-NN probe: fewer than two readings (no KNNEvalHook in the '
              'config, or a resumed run)')
        return
    first, last = history[0], history[-1]
    feats = [f for f in ('cls', 'avg') if f'knn/{f}_top1' in first]
    names = {'cls': '[cls] token', 'avg': 'mean-pooled patches'}
    print(f'k-NN top-1 (%) on held-out labelled scenes ({labelled_root}), '
          'k=20, weighted votes:')
    print('  ' + ' ' * 28 + ''.join(f'{names[f]:>22}' for f in feats))
    print(f'  {"encoder at initialisation":<28}' + ''.join(
        f'{first[f"knn/{f}_top1"]:>22.1f}' for f in feats))
    print(f'  {"trained encoder":<28}' + ''.join(
        f'{last[f"knn/{f}_top1"]:>22.1f}' for f in feats))
    types = [d for d in sorted(os.listdir(labelled_root))
             if osp.isdir(osp.join(labelled_root, d))] \
        if osp.isdir(labelled_root) else []
    if types:
        print(f'  chance: {100 / len(types):.1f} ({len(types)} scene types; '
              'tone and brightness alone do not tell them apart, see '
              'selective_mae/datasets/demo_data.py)')


def draw_demo_png(config, checkpoint, labelled_root, out, progress, seed=0):
    """A few held-out scenes (one per type): input, richness, tokens and
    reconstruction by the checkpoint. Returns the PNG path or None."""
    import torch

    from selective_mae.datasets.demo_data import SCENE_TYPES
    from selective_mae.utils.rng import preserved_rng_state
    from selective_mae.visualization import (analyse_psts, build_psts_model,
                                             draw_psts_scenes,
                                             image_normalisation, load_image)
    try:
        model = build_psts_model(config, checkpoint)
    except ValueError as e:
        print(f'no PSTS picture: {e}')
        return None
    size = model.backbone.patch_resolution[0] * model.patch_size
    mean, std = image_normalisation(model)
    images, results, titles = [], [], []
    for name in SCENE_TYPES:
        files = sorted(glob.glob(osp.join(labelled_root, name, '*.png')))
        if not files:
            continue
        image = load_image(files[0], size)
        inputs = (torch.from_numpy(image).permute(2, 0, 1).float()[None] -
                  mean) / std
        with preserved_rng_state():
            results.append(analyse_psts(model, inputs, progress, seed))
        images.append(image)
        titles.append(name)
    if not images:
        print(f'no PSTS picture: no scenes in {labelled_root}')
        return None
    draw_psts_scenes(
        images, results, mean, std, out, titles=titles,
        suptitle=f'{osp.basename(checkpoint)}: PSTS visible tokens (seeds '
        'red, rounds orange/yellow), targets (blue) and the decoder\'s '
        'reconstruction')
    return out


def main(argv=None):
    args = parse_args(argv)
    from selective_mae.datasets.demo_data import (
        generate_demo_dataset, generate_labelled_demo_dataset)

    paths = generate_demo_dataset(args.data_root, args.num_images, 128,
                                  args.seed)
    with open(osp.join(args.data_root, 'train.txt'), 'w') as f:
        f.write('\n'.join(paths) + '\n')
    items = generate_labelled_demo_dataset(args.labelled_root,
                                           args.per_class, 128, args.seed)
    print(f'demo data: {len(paths)} scenes in {args.data_root}, '
          f'{len(items)} held-out labelled scenes in {args.labelled_root}')

    options = [f'train_dataloader.dataset.data_root={args.data_root}']
    index = knn_hook_index(args.config)
    if index is not None:
        options.append(f'custom_hooks.{index}.probe.dataset.data_root='
                       f'{args.labelled_root}')
    # more train.py options; key=value pairs of a --cfg-options among them
    # join ours (one --cfg-options list)
    extra, in_opts = [], False
    for a in args.train_args:
        if a == '--':
            continue
        if a == '--cfg-options':
            in_opts = True
        elif in_opts and '=' in a and not a.startswith('-'):
            options.append(a)
        else:
            in_opts = False
            extra.append(a)
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), args.config,
           '--work-dir', args.work_dir, *extra, '--cfg-options', *options]
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0:
        sys.exit(proc.returncode)

    last = osp.join(args.work_dir, 'last_checkpoint')
    ckpt = open(last).read().strip() if osp.isfile(last) else None
    logs = sorted(glob.glob(osp.join(args.work_dir, '2*', '*.log')))
    print('\n' + '=' * 70)
    print_knn(knn_history(args.work_dir), args.labelled_root)
    png = None
    if ckpt:
        png = draw_demo_png(args.config, ckpt, args.labelled_root,
                            osp.join(osp.dirname(ckpt), 'demo_psts.png'),
                            args.vis_progress, args.seed)
    print(f'checkpoint: {ckpt}')
    print(f'log:        {logs[-1] if logs else None}')
    print(f'picture:    {png}')
    print(f'work dir:   {args.work_dir}')
    print('=' * 70)


if __name__ == '__main__':
    main()
