"""Train a model from a config: pretraining, classification, detection or
segmentation (mmengine Runner; the flags of mmpretrain's tools/train.py).

Examples::

    python tools/train.py configs/selectivemae/<cfg>.py
    python tools/train.py <cfg> --work-dir work_dirs/run1 --amp
    python tools/train.py <cfg> --resume            # latest in work dir
    python tools/train.py <cfg> --resume path.pth --cfg-options \
        train_cfg.max_epochs=3
    bash tools/dist_train.sh <cfg> 8

Runs are crash-safe (``selective_mae.engine.runner.apply_safe_training``):
atomic checkpoints, exact mid-epoch resume, and on SIGTERM / SIGUSR1 a
checkpoint at the next iteration and exit status 75 (``PREEMPTED``).
``--resume`` checks the checkpoint first; an unreadable one stops the run
with one line naming it and the newest intact checkpoint, or (config
``resume_fallback``, on by default for ``--resume`` without a path) resumes
from that one instead.
"""
import argparse
import os
import os.path as osp
import sys
import warnings

# mmengine imports pkg_resources to find `mmpretrain::` & co. config bases
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
# The repository root, so `import selective_mae` works without installing.
sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or (no value) from the '
        'latest checkpoint in the work directory')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size '
        'against the config\'s auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in the data loaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable persistent_workers in the data loaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs, e.g. '
        'train_cfg.max_epochs=3 "model.backbone.out_indices=[3,5]"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _loader_defaults(cfg, field, args):
    """pin_memory / persistent_workers defaults for one data loader."""
    loader = cfg.get(field)
    if not loader:
        return
    workers = loader.get('num_workers', 0)
    loader.setdefault('pin_memory', True)
    loader.setdefault('persistent_workers', workers > 0)
    if args.no_pin_memory:
        loader['pin_memory'] = False
    if args.no_persistent_workers or workers == 0:
        loader['persistent_workers'] = False


def merge_args(cfg, args):
    """Merge the command-line arguments into ``cfg``."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher

    # work_dir: command line > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise KeyError(f'--auto-scale-lr: {args.config} has no '
                           '`auto_scale_lr` (base_batch_size) to scale from')
        cfg.auto_scale_lr.enable = True

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        _loader_defaults(cfg, field, args)
    return cfg


def _error(message):
    """One line on stderr (rank 0 only) and exit status 1."""
    if os.environ.get('RANK', '0') == '0':
        print(f'tools/train.py: error: {message}', file=sys.stderr)
    sys.exit(1)


def resolve_resume_checkpoint(cfg):
    """Check the checkpoint ``cfg`` resumes from; set ``cfg.load_from``.

    Returns:
        list[str]: Lines to log (a fallback, a fresh start).
    """
    from selective_mae.engine.runner import resolve_resume

    if not cfg.get('resume', False):
        return []
    path, notes = resolve_resume(cfg.work_dir, cfg.get('load_from'),
                                 cfg.get('resume_fallback', None))
    if path is None:
        cfg.resume = False
    cfg.load_from = path
    return notes


def _write_exit_status(code, text):
    """Tell tools/dist_train.sh (through torchrun) how this rank ended."""
    folder = os.environ.get('SELECTIVE_MAE_STATUS_DIR')
    if folder:
        rank = os.environ.get('RANK', '0')
        with open(osp.join(folder, f'rank{rank}.status'), 'w') as f:
            f.write(f'{code} {text}\n')


def main(argv=None):
    args = parse_args(argv)

    import selective_mae  # noqa: F401  (run-time fixes, registries)
    from mmengine.config import Config
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from selective_mae.engine.atomic_backend import CheckpointWriteError
    from selective_mae.engine.hooks import TrainingPreempted
    from selective_mae.engine.runner import ResumeError, apply_safe_training
    from selective_mae.utils.config_checks import (check_config,
                                                     config_key_errors)
    from selective_mae.utils.dist import setup_cpu_distributed
    from selective_mae.utils.regional_compile import (compile_encoder_decoder,
                                                      take_compile_key)

    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    changes = apply_safe_training(cfg)
    check_config(cfg)
    try:
        notes = resolve_resume_checkpoint(cfg)
    except ResumeError as e:
        _error(e)
    setup_cpu_distributed(cfg, args.launcher)
    # mmengine's `compile` key: the encoder and decoder blocks, not the
    # whole train_step (docs/pretrain.md, "torch.compile")
    compile_cfg = take_compile_key(cfg)

    with config_key_errors(cfg):
        if 'runner_type' not in cfg:
            runner = Runner.from_cfg(cfg)
        else:
            runner = RUNNERS.build(cfg)
        if compile_cfg:
            names = compile_encoder_decoder(runner.model, compile_cfg)
            runner.logger.info(
                f'torch.compile({compile_cfg}) of {len(names)} encoder and '
                'decoder blocks; the first iterations are slow')
        for line in changes:
            runner.logger.info(f'Safe training: {line}')
        for line in notes:
            runner.logger.warning(line)
        try:
            runner.train()
        except TrainingPreempted as e:
            _write_exit_status(e.exit_code, e.checkpoint)
            runner.logger.info(
                f'Exiting with status {e.exit_code} (pre-empted; '
                '--resume continues from the checkpoint)')
            sys.exit(e.exit_code)
        except CheckpointWriteError as e:
            _write_exit_status(1, 'checkpoint write failed')
            _error(e)


if __name__ == '__main__':
    main()
