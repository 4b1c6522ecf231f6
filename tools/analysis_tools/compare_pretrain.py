"""Pretrain two configs (MAE and SelectiveMAE, or any two) on the same data
under the same budget, probe both at the same points, plot k-NN accuracy
against training time.

    # demo size, on the CPU: 5 min of training each, run side by side
    python tools/dataset/make_demo_data.py data/demo_rs --num 300 \
        --labelled data/demo_rs_labelled
    python tools/analysis_tools/compare_pretrain.py \
        configs/mae/mae_vit-tiny-p8_1xb16-20e_demo.py \
        configs/selectivemae/selectivemae_vit-tiny-p8_1xb16-20e_demo.py \
        --names MAE SelectiveMAE --budget 300 --unit s \
        --work-dir work_dirs/compare_demo

    # any size, GPUs: 4 GPU-hours each (8 GPUs x 30 min), one after the other
    python tools/analysis_tools/compare_pretrain.py <mae cfg> <selectivemae cfg> \
        --budget 1800 --unit s --gpus 8 --mode sequential \
        --probe-config <a config with a KNNEvalHook>

Protocol. Each config is trained as it is (data, model, optimizer, batch,
augmentation) except for its length and schedule: an iteration-based loop
that :class:`~selective_mae.engine.hooks.TrainBudgetHook` stops when the
budget is spent, with the learning rate (linear warm-up, then cosine to 0)
and the PSTS curriculum driven by the fraction of the budget used, so each
method completes its schedule within the budget whatever its speed. The
budget is wall-clock training seconds (``--unit s``; snapshot saving is not
counted) or training images (``--unit images``). Weights are saved at the
same fractions of the budget (``--snapshots``) in both runs, and afterwards
every snapshot of both runs is probed by the same k-NN evaluation (the
``KNNEvalHook`` probe of ``--probe-config``, by default of the first config
that has one, or ``--data-root``), in this process, one after the other.

Fairness of a wall-clock budget on a shared machine: ``--mode concurrent``
(the default) starts both trainings at the same moment, each with the same
number of compute threads (``--threads``) and loader workers
(``--workers``), so that both see the same machine load for the same
duration; ``--mode sequential`` runs them one after the other (for a
dedicated machine or GPU). The load average before and after, each run's
CPU seconds (itself and its loader workers) and each snapshot's wall-clock
time are written with the result.

Writes ``<work-dir>/compare.json`` and ``<work-dir>/compare.png`` (k-NN
top-1 against training seconds or images, [cls] solid, mean-pooled
dashed), and prints a table.
"""
import argparse
import json
import os
import os.path as osp
import platform
import random
import subprocess
import sys
import time
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
ROOT = osp.abspath(osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

#: Hooks the budgeted runs leave out: the budget hook drives the curriculum,
#: and the probe runs afterwards on the snapshots.
DROPPED_HOOKS = ('PSTSProgressHook', 'KNNEvalHook')


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Pretrain two configs under the same budget and compare '
        'their k-NN accuracy over time')
    parser.add_argument('configs', nargs=2, help='the two configs')
    parser.add_argument('--names', nargs=2, help='their names in the plot')
    parser.add_argument('--budget', type=float, required=True,
                        help='seconds or images per run')
    parser.add_argument('--unit', choices=['s', 'images'], default='s')
    parser.add_argument('--snapshots', type=int, default=6,
                        help='probe points after the start, evenly spaced '
                        'over the budget (default 6: 0, 1/6, ..., 1)')
    parser.add_argument('--warmup', type=float, default=0.05,
                        help='warm-up share of the budget')
    parser.add_argument('--mode', choices=['concurrent', 'sequential'],
                        default='concurrent')
    parser.add_argument('--threads', type=int, default=1,
                        help='compute threads per run (OMP_NUM_THREADS)')
    parser.add_argument('--workers', type=int, default=None,
                        help='loader workers per run (default: the '
                        'configs\')')
    parser.add_argument('--gpus', type=int, default=0,
                        help='GPUs per run (0: as tools/train.py chooses; '
                        '> 1: tools/dist_train.sh)')
    parser.add_argument('--devices', nargs=2, default=None,
                        help='CUDA_VISIBLE_DEVICES of each run, e.g. 0 1')
    src = parser.add_mutually_exclusive_group()
    src.add_argument('--probe-config',
                     help='config whose KNNEvalHook probe is used')
    src.add_argument('--data-root',
                     help='a folder of class folders to probe on instead')
    parser.add_argument('--probe-device', default=None)
    parser.add_argument('--work-dir', default='work_dirs/compare_pretrain')
    parser.add_argument('--skip-train', action='store_true',
                        help='only probe and plot the snapshots already in '
                        'the work dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='settings changed in both configs')
    args = parser.parse_args(argv)
    if args.names is None:
        args.names = [
            osp.splitext(osp.basename(c))[0].split('_')[0]
            for c in args.configs
        ]
        if args.names[0] == args.names[1]:
            args.names = ['A', 'B']
    if args.names[0] == args.names[1]:
        parser.error('--names must differ')
    if args.snapshots < 1:
        parser.error('--snapshots must be >= 1')
    return args


def budget_config(path, name, args):
    """The config of a budgeted run, written as a standalone file."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    work = osp.abspath(osp.join(args.work_dir, name))
    fractions = [i / args.snapshots for i in range(args.snapshots + 1)]
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=10**9)
    cfg.param_scheduler = None
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator',
                'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    hooks = [
        h for h in (cfg.get('custom_hooks') or [])
        if h.get('type') not in DROPPED_HOOKS
    ]
    hooks.append(
        dict(type='TrainBudgetHook', budget=args.budget, unit=args.unit,
             warmup=args.warmup, snapshots=fractions,
             out_dir=osp.join(work, 'budget')))
    cfg.custom_hooks = hooks
    cfg.default_hooks = dict(cfg.get('default_hooks') or {})
    cfg.default_hooks['checkpoint'] = None  # the budget hook snapshots
    cfg.log_processor = dict(cfg.get('log_processor') or {}, by_epoch=False)
    cfg.resume = False
    cfg.load_from = None
    if args.workers is not None:
        cfg.train_dataloader.num_workers = args.workers
        cfg.train_dataloader.persistent_workers = args.workers > 0
    cfg.work_dir = work
    os.makedirs(work, exist_ok=True)
    out = osp.join(work, f'{name}_budget.py')
    cfg.dump(out)
    return out, work


def train_command(cfg_path, work, args, port):
    if args.gpus > 1:
        return ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), cfg_path,
                str(args.gpus), '--work-dir', work], dict(PORT=str(port))
    return [sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg_path,
            '--work-dir', work], {}


def _loadavg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def train_runs(runs, args):
    """Train both runs (concurrently or one after the other)."""
    procs = []
    base_port = random.randint(20000, 40000)

    def start(i, run):
        cmd, extra = train_command(run['config'], run['work_dir'], args,
                                   base_port + 10 * i)
        env = dict(os.environ, **extra)
        env['OMP_NUM_THREADS'] = env['MKL_NUM_THREADS'] = str(args.threads)
        env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
        env['PYTHONUNBUFFERED'] = '1'  # a live train_stdout.log
        if args.devices:
            env['CUDA_VISIBLE_DEVICES'] = args.devices[i]
        log = open(osp.join(run['work_dir'], 'train_stdout.log'), 'w')
        run['started'] = time.time()
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT), log

    def finish(run, proc, log, block=True):
        """Reap the run's process (its and its workers' CPU time); False if
        it is still running and ``block`` is False."""
        pid, status, usage = os.wait4(proc.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.close()
        run['wall_s'] = time.time() - run['started']
        run['cpu_s'] = usage.ru_utime + usage.ru_stime
        if proc.returncode != 0:
            for other, _ in procs:
                if other.returncode is None:
                    other.kill()
            tail = open(osp.join(run['work_dir'],
                                 'train_stdout.log')).read()[-3000:]
            raise SystemExit(f'training {run["name"]} failed '
                             f'(exit {proc.returncode}):\n{tail}')
        return True

    load_before = _loadavg()
    if args.mode == 'concurrent':
        procs.extend(start(i, run) for i, run in enumerate(runs))
        running = list(zip(runs, procs))
        while running:  # each run's end time as it happens
            running = [(run, (proc, log)) for run, (proc, log) in running
                       if not finish(run, proc, log, block=False)]
            time.sleep(0.2)
    else:
        for i, run in enumerate(runs):
            procs.append(start(i, run))
            finish(run, *procs[-1])
    return dict(before=load_before, after=_loadavg())


def probe_runs(runs, settings, device):
    """k-NN of every snapshot of every run, with one probe."""
    from mmengine.config import Config

    from selective_mae.checkpoint import load_checkpoint_file
    from selective_mae.evaluation.knn_probe import (KNNProbe,
                                                    backbone_image_size,
                                                    build_probe_model,
                                                    load_transform_of)
    probe = None
    for run in runs:
        log_path = osp.join(run['work_dir'], 'budget', 'budget_log.json')
        if not osp.isfile(log_path):
            raise SystemExit(f'{log_path} is missing: run without '
                             '--skip-train first')
        with open(log_path) as f:
            run['snapshots'] = json.load(f)['snapshots']
        cfg = Config.fromfile(run['config'])
        model = build_probe_model(cfg, None, device)
        if probe is None:
            probe = KNNProbe(**settings).build(
                backbone_image_size(model.backbone), load_transform_of(cfg))
        for snap in run['snapshots']:
            ckpt = osp.join(run['work_dir'], 'budget', snap['file'])
            state = load_checkpoint_file(ckpt, map_location='cpu')
            model.load_state_dict(state['state_dict'], strict=True)
            metrics = probe.evaluate(model)
            snap['knn'] = {
                k: v
                for k, v in metrics.items() if not k.endswith('time')
            }
            snap['probe_s'] = metrics['time']
            print(f'  {run["name"]:<14} {snap["fraction"]:5.2f} of budget '
                  f'({snap["seconds"]:7.1f} s, {snap["images"]:7d} images, '
                  f'{snap["iters"]:6d} iters): ' + '  '.join(
                      f'{k} {v:5.1f}' for k, v in snap['knn'].items()))
    return probe


def plot(result, out):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    unit = result['budget']['unit']
    xkey = 'seconds' if unit == 's' else 'images'
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = ('tab:blue', 'tab:orange')
    for run, colour in zip(result['runs'], colours):
        xs = [s[xkey] for s in run['snapshots']]
        for feat, style in (('cls', '-'), ('avg', '--')):
            key = f'{feat}_top1'
            if key not in run['snapshots'][0]['knn']:
                continue
            ys = [s['knn'][key] for s in run['snapshots']]
            what = '[cls]' if feat == 'cls' else 'mean-pooled'
            ax.plot(xs, ys, style, marker='o', color=colour,
                    label=f"{run['name']} ({what}), final {ys[-1]:.1f}%")
    ax.set_xlabel('training wall-clock seconds' if unit == 's' else
                  'training images seen')
    ax.set_ylabel('k-NN top-1 (%)')
    probe = result['probe']
    ax.set_title(
        f"same budget: {result['budget']['value']:g} "
        f"{'s' if unit == 's' else 'images'} per run "
        f"({result['mode']}); k-NN k={probe['k']}, "
        f"{probe['bank']} bank / {probe['queries']} queries, "
        f"{probe['num_classes']} classes", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    import logging

    import selective_mae  # noqa: F401
    from mmengine.config import Config
    from mmengine.logging import MMLogger

    from selective_mae.evaluation.knn_probe import probe_of_config
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    os.makedirs(args.work_dir, exist_ok=True)

    if args.data_root:
        settings = dict(dataset=dict(type='CustomDataset',
                                     data_root=args.data_root))
    else:
        sources = ([args.probe_config] if args.probe_config else
                   list(args.configs))
        settings = None
        for src in sources:
            cfg = Config.fromfile(src)
            if src in args.configs and args.cfg_options:
                cfg.merge_from_dict(args.cfg_options)
            settings = probe_of_config(cfg)
            if settings:
                break
        if not settings:
            raise SystemExit(f'no KNNEvalHook in {sources}: give '
                             '--probe-config or --data-root')

    runs = []
    for name, path in zip(args.names, args.configs):
        cfg_path, work = budget_config(path, name, args)
        runs.append(dict(name=name, source_config=path, config=cfg_path,
                         work_dir=work))
    t0 = time.time()
    load = None
    if not args.skip_train:
        print(f'training {args.names[0]} and {args.names[1]} '
              f'({args.mode}), {args.budget:g} '
              f'{"s" if args.unit == "s" else "images"} each ...')
        load = train_runs(runs, args)
        print(f'trained in {time.time() - t0:.0f} s wall')
    import torch
    device = args.probe_device or ('cuda' if torch.cuda.is_available()
                                   else 'cpu')
    print('probing the snapshots:')
    probe = probe_runs(runs, settings, device)
    result = dict(
        budget=dict(value=args.budget, unit=args.unit,
                    warmup=args.warmup,
                    schedule='linear warm-up then cosine to 0 over the '
                    'budget fraction; PSTS progress = budget fraction'),
        mode=args.mode,
        threads=args.threads,
        workers=args.workers,
        gpus=args.gpus,
        loadavg=load,
        machine=dict(node=platform.node(), cpus=os.cpu_count(),
                     torch=torch.__version__,
                     cuda=torch.cuda.is_available()),
        probe=dict(settings=settings, k=probe.k,
                   temperature=probe.temperature, bank=probe.num_bank,
                   queries=len(probe.items) - probe.num_bank,
                   num_classes=probe.num_classes, device=device),
        runs=[{k: v for k, v in run.items()} for run in runs])
    json_path = osp.join(args.work_dir, 'compare.json')
    png_path = osp.join(args.work_dir, 'compare.png')
    with open(json_path, 'w') as f:
        json.dump(result, f, indent=2, default=str)
    plot(result, png_path)
    print('\nfinal k-NN top-1 (%):')
    for run in runs:
        last = run['snapshots'][-1]
        print(f"  {run['name']:<14} " + '  '.join(
            f'{k} {v:5.1f}' for k, v in last['knn'].items()
            if k.endswith('top1')) +
              f"  ({last['iters']} iterations, {last['images']} images, "
              f"{last['seconds']:.0f} s)")
    print(f'wrote {json_path}\nwrote {png_path}')
    return result


if __name__ == '__main__':
    main()
