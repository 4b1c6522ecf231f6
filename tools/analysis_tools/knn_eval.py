"""k-NN accuracy of a ViT checkpoint's frozen features on a labelled set.

The evaluation of :class:`~selective_mae.engine.hooks.KNNEvalHook` (DINO's
weighted k-NN: L2-normalised [cls] and mean-pooled patch features, cosine
similarity, k = 20, votes ``exp(sim / 0.07)``), for any checkpoint that
loads into the config's backbone: ours, a converted or original released
SelectiveMAE / MAE file, a stock mmpretrain MAE checkpoint, timm ViT weights
(layouts are detected, the position embedding is resized)::

    # the probe of the config's KNNEvalHook (the demo's labelled scenes)
    python tools/analysis_tools/knn_eval.py \
        configs/selectivemae/selectivemae_vit-tiny-p8_1xb16-20e_demo.py \
        work_dirs/demo/epoch_20.pth

    # a classification config: bank = its train split, queries = its test
    python tools/analysis_tools/knn_eval.py \
        configs/selectivemae/selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py \
        SelectiveMAE-ViT-B.pth --dataset-config \
        configs/classification/selectivemae_vit-base-p16_8xb128-linear-coslr-100e_aid-tr20.py

    # a folder of class folders, split per class (half bank, half queries)
    python tools/analysis_tools/knn_eval.py <config> <ckpt> \
        --data-root data/UCMerced_LandUse/Images --max-per-class 50

    # several processes (each extracts its share; same result as one)
    torchrun --nproc_per_node 8 tools/analysis_tools/knn_eval.py <config> \
        <ckpt> --launcher pytorch

Without a checkpoint (or with ``none``) the model is evaluated at its
initialisation (``--seed``). The data sets get the probe's pipeline (shorter
side resized to the model's image size, centre crop), loaded the way the
config's training pipeline loads (``LoadImageFromFile``: BGR, our loaders:
RGB) so that the model's data preprocessor sees what it was trained on.
Prints the accuracies and writes them with the settings as JSON (``--out``).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
ROOT = osp.abspath(osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='k-NN accuracy of a checkpoint (frozen ViT features)')
    parser.add_argument('config', help='config of the model')
    parser.add_argument(
        'checkpoint', nargs='?', default=None,
        help='checkpoint (any ViT layout); omit or "none" for the '
        'initialised model')
    src = parser.add_mutually_exclusive_group()
    src.add_argument('--probe-config',
                     help='take the probe of this config\'s KNNEvalHook '
                     '(default: the model config\'s, if it has one)')
    src.add_argument('--dataset-config',
                     help='a classification config: bank = its '
                     'train_dataloader data set, queries = its '
                     'test_dataloader (or val_dataloader) data set')
    src.add_argument('--data-root',
                     help='a folder of class folders (mmpretrain '
                     'CustomDataset), split into bank and queries')
    parser.add_argument('--query-ratio', type=float, default=None,
                        help='share of each class used as queries when one '
                        'data set is split (default 0.5)')
    parser.add_argument('--max-per-class', type=int, default=None)
    parser.add_argument('--k', type=int, default=None, help='default 20')
    parser.add_argument('--temperature', type=float, default=None,
                        help='default 0.07')
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument('--num-workers', type=int, default=None)
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the initialisation (no checkpoint)')
    parser.add_argument('--device', default=None,
                        help='default: cuda if available, else cpu')
    parser.add_argument('--out', help='write the result as JSON here')
    parser.add_argument('--launcher', choices=['none', 'pytorch'],
                        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the model config')
    return parser.parse_args(argv)


def probe_settings(args, cfg):
    """KNNProbe arguments from the command line and the configs."""
    from mmengine.config import Config

    from selective_mae.evaluation.knn_probe import probe_of_config
    if args.data_root:
        probe = dict(dataset=dict(type='CustomDataset',
                                  data_root=args.data_root))
    elif args.dataset_config:
        data_cfg = Config.fromfile(args.dataset_config)
        query = (data_cfg.get('test_dataloader')
                 or data_cfg.get('val_dataloader'))
        if not data_cfg.get('train_dataloader') or not query:
            raise SystemExit(
                f'{args.dataset_config}: needs a train_dataloader (bank) and '
                'a test_dataloader or val_dataloader (queries)')
        probe = dict(bank=dict(data_cfg.train_dataloader.dataset),
                     query=dict(query.dataset))
        for part in ('bank', 'query'):
            # the probe's deterministic pipeline, not the training one
            probe[part].pop('pipeline', None)
    else:
        name = args.probe_config or args.config
        probe = probe_of_config(
            Config.fromfile(name) if args.probe_config else cfg)
        if probe is None:
            raise SystemExit(
                f'{name} has no KNNEvalHook in custom_hooks; give '
                '--data-root, --dataset-config or --probe-config')
    for key, value in (('query_ratio', args.query_ratio),
                       ('max_per_class', args.max_per_class),
                       ('k', args.k), ('temperature', args.temperature),
                       ('batch_size', args.batch_size),
                       ('num_workers', args.num_workers)):
        if value is not None:
            probe[key] = value
    return probe


def _init_dist(launcher, device):
    import torch
    import torch.distributed as dist
    if launcher == 'none':
        return device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if torch.cuda.is_available() and device != 'cpu':
        local_rank = int(os.environ.get('LOCAL_RANK', 0))
        torch.cuda.set_device(local_rank)
        dist.init_process_group(backend='nccl')
        return f'cuda:{local_rank}'
    dist.init_process_group(backend='gloo')
    return 'cpu'


def main(argv=None):
    args = parse_args(argv)
    import logging

    import selective_mae  # noqa: F401
    from mmengine.config import Config
    from mmengine.dist import get_dist_info, is_main_process
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    from selective_mae.evaluation.knn_probe import (KNNProbe,
                                                    backbone_image_size,
                                                    build_probe_model,
                                                    load_transform_of)

    device = _init_dist(args.launcher, args.device)
    init_default_scope('mmpretrain')
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    settings = probe_settings(args, cfg)
    t0 = time.perf_counter()
    model = build_probe_model(cfg, args.checkpoint, device, args.seed)
    probe = KNNProbe(**settings).build(
        backbone_image_size(model.backbone), load_transform_of(cfg))
    metrics = probe.evaluate(model)
    _, world = get_dist_info()
    result = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        metrics={k: v for k, v in metrics.items() if not k.endswith('time')},
        time_s=dict(features=metrics['extract_time'], probe=metrics['time'],
                    total=time.perf_counter() - t0),
        bank=probe.num_bank,
        queries=len(probe.items) - probe.num_bank,
        num_classes=probe.num_classes,
        classes=list(probe.classes) if probe.classes else None,
        k=probe.k,
        temperature=probe.temperature,
        processes=world,
        device=device,
        probe=settings)
    if is_main_process():
        print(f'k-NN ({probe}) of {args.checkpoint or "the initialised model"}'
              f' [{world} process(es), {device}]')
        for key, value in result['metrics'].items():
            print(f'  {key:<10} {value:7.2f}')
        print(f'  time       {metrics["time"]:7.2f} s')
        if args.out:
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            with open(args.out, 'w') as f:
                json.dump(result, f, indent=2, default=str)
            print(f'wrote {args.out}')
    if args.launcher != 'none':
        import torch.distributed as dist
        dist.destroy_process_group()
    return result


if __name__ == '__main__':
    main()
