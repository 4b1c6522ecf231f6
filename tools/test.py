"""Evaluate a checkpoint with a config's test loop (mmengine Runner).

Examples::

    python tools/test.py <cfg> work_dirs/<cfg>/epoch_100.pth
    python tools/test.py <cfg> <ckpt> --out results.pkl --work-dir eval/
    bash tools/dist_test.sh <cfg> <ckpt> 8
"""
import argparse
import os
import os.path as osp
import sys
import warnings

# mmengine imports pkg_resources to find `mmpretrain::` & co. config bases
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument(
        '--out', help='dump the predictions to this pickle file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    """Merge the command-line arguments into ``cfg``."""
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'checkpoint: {args.checkpoint!r} does not exist')
    cfg.load_from = args.checkpoint
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl file, got {args.out!r}')
        evaluator = cfg.test_evaluator
        dump = dict(type='DumpResults', out_file_path=args.out)
        cfg.test_evaluator = (list(evaluator) if isinstance(
            evaluator, (list, tuple)) else [evaluator]) + [dump]
    return cfg


def main(argv=None):
    args = parse_args(argv)

    import selective_mae  # noqa: F401  (run-time fixes, registries)
    from mmengine.config import Config
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from selective_mae.utils.config_checks import (check_config,
                                                     config_key_errors)
    from selective_mae.utils.dist import setup_cpu_distributed

    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    for key in ('test_dataloader', 'test_cfg', 'test_evaluator'):
        if cfg.get(key) is None:  # an empty test_cfg=dict() is valid
            raise KeyError(f'{args.config} has no `{key}`: it cannot be '
                           'tested (pretraining configs have no test loop)')
    check_config(cfg)
    setup_cpu_distributed(cfg, args.launcher)

    with config_key_errors(cfg):
        if 'runner_type' not in cfg:
            runner = Runner.from_cfg(cfg)
        else:
            runner = RUNNERS.build(cfg)
        return runner.test()


if __name__ == '__main__':
    main()
