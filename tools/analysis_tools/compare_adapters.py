"""Train backbone + neck choices side by side under one downstream head and
compare them: our adapter against a library's own.

    # segmentation (UperNet, generated Potsdam-layout tiles), 3 seeds each
    python tools/analysis_tools/compare_adapters.py seg \
        --work-dir work_dirs/compare_seg --seeds 0 1 2 --iters 300

    # oriented detection (Oriented R-CNN, generated DOTA-layout images)
    python tools/analysis_tools/compare_adapters.py rotated \
        --work-dir work_dirs/compare_rot --seeds 0 1 2 --iters 300

    # one candidate cause at a time: a variant of ours with one setting
    # changed (mmengine --cfg-options syntax, applied to that run's config)
    python tools/analysis_tools/compare_adapters.py seg --work-dir ... \
        --candidates ours ref ours-bn=ours \
        --set ours-bn model.neck.norm_cfg.type=BN

Candidates (``--candidates LABEL[=PRESET]``, PRESET one of):

``ours``
    The shipped config's path (``configs/potsdam/...80k_potsdam-512x512.py``
    or ``configs/dota/...dota-ss.py``): ``PlainViT`` + ``SimpleFeaturePyramid``
    (+ mmdet ``FPN`` for detection), with every setting of that config
    (drop path, pyramid norm, final norm, cls token) as it is today.
``ours-before``
    ``ours`` as the code and configs were before issue 16's fix (commit
    c0ef503): BatchNorm in ``SimpleFeaturePyramid`` (the configs' SyncBN,
    which is BN in one process) and PyTorch's default init in every block
    (the blocks sat in a torch ``nn.ModuleList`` that mmengine's
    ``init_weights`` did not reach). The block weights drawn when the model
    is built are exactly those default draws (the blocks' constructor is
    unchanged), so they are kept and written back after ``init_weights``.
``ours-mln`` (seg only)
    ``PlainViT`` as in ``ours``, followed by mmseg's ``MultiLevelNeck`` as in
    ``ref``: the backbone's share of a difference, with the neck fixed.
``ref``
    mmseg's own ``VisionTransformer`` with its UperNet recipe's settings
    (``mmseg::_base_/models/upernet_vit-b16_ln_mln.py``), followed by mmseg's
    ``MultiLevelNeck`` (segmentation) or, for detection, by parameter-free
    resizes to strides 4/8/16/32 (``ResizePyramid`` below, the "plain
    resizes" pyramid) and the same mmdet ``FPN``.

Everything else is shared and fixed: the head (the shipped config's UPerHead
+ auxiliary FCN head, or its Oriented R-CNN RPN and RoI heads), the width and
depth of the ViT (``--embed-dims``, ``--depth``, ``--heads``; outputs after
evenly spaced blocks), the generated data (one data seed, ``--data-seed``),
crops and augmentation, AdamW with the same lr, weight decay and schedule
(linear warm-up then poly decay), batch size, iterations and evaluation
(slide inference on whole tiles and mmseg's ``IoUMetric``; mmrotate's
``DOTAMetric`` mAP at IoU 0.5). Each (candidate, seed) pair starts from the
same ``randomness.seed`` (which also orders the data). Models are trained
from scratch: this checks what an adapter can learn, not a checkpoint.

Prints a table (one row per candidate: the metric of each seed, mean, std,
final training loss, seconds per iteration) and writes
``<work-dir>/compare_adapters.json`` with every run and the summary.
"""
import argparse
import copy
import json
import os
import os.path as osp
import platform
import sys
import time
import warnings

warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
ROOT = osp.abspath(osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

SEG_CONFIG = ('configs/potsdam/'
              'upernet_selectivemae-vit-base-p16-sfp_4xb2-80k_potsdam-'
              '512x512.py')
ROT_CONFIG = ('configs/dota/'
              'oriented-rcnn-le90_selectivemae-vit-base-p16-sfp_fpn_4xb2-1x_'
              'dota-ss.py')
REF_VIT = 'mmseg::_base_/models/upernet_vit-b16_ln_mln.py'
PRESETS = ('ours', 'ours-before', 'ours-mln', 'ref')
#: presets that are not built for every task
TASK_PRESETS = {'ours-mln': ('seg', )}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train backbone + neck choices under the same head, '
        'data and schedule and compare their accuracy')
    parser.add_argument('task', choices=['seg', 'rotated'])
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--candidates', nargs='+', default=['ours', 'ref'],
                        help='LABEL or LABEL=PRESET, PRESET in '
                        + '/'.join(PRESETS))
    parser.add_argument('--set', nargs='+', action='append', default=[],
                        metavar=('LABEL', 'KEY=VALUE'),
                        help='config overrides of one candidate')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--iters', type=int, default=300)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--lr', type=float, default=None,
                        help='AdamW lr (default 1e-3 seg, 2e-4 rotated)')
    parser.add_argument('--warmup', type=float, default=0.1,
                        help='share of the iterations for linear warm-up')
    parser.add_argument('--embed-dims', type=int, default=96)
    parser.add_argument('--depth', type=int, default=4)
    parser.add_argument('--heads', type=int, default=3)
    parser.add_argument('--head-channels', type=int, default=64,
                        help='UPerHead channels / FPN width')
    parser.add_argument('--crop', type=int, default=128,
                        help='training crop (seg) or image side (rotated)')
    parser.add_argument('--tile', type=int, default=256,
                        help='generated Potsdam tile side (seg)')
    parser.add_argument('--num-train', type=int, default=None,
                        help='generated training images (16 seg, 48 rot)')
    parser.add_argument('--num-val', type=int, default=None,
                        help='generated evaluation images (6 seg, 16 rot)')
    parser.add_argument('--object-size', type=float, nargs=2,
                        default=[0.18, 0.38], metavar=('MIN', 'MAX'),
                        help='rotated: object length range, shares of the '
                        'image side')
    parser.add_argument('--max-objects', type=int, default=5,
                        help='rotated: at most this many objects per image')
    parser.add_argument('--data-seed', type=int, default=0)
    parser.add_argument('--data-root', default=None,
                        help='use this data instead of generating it')
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    args.labels, args.presets = [], {}
    for item in args.candidates:
        label, _, preset = item.partition('=')
        preset = preset or label
        if preset not in PRESETS:
            parser.error(f'--candidates {item}: preset {preset!r} is not one '
                         f'of {PRESETS}')
        if args.task not in TASK_PRESETS.get(preset, (args.task, )):
            parser.error(f'--candidates {item}: preset {preset!r} is only '
                         f'built for {TASK_PRESETS[preset]}, not '
                         f'{args.task!r}')
        if label in args.presets:
            parser.error(f'--candidates: label {label!r} given twice')
        args.labels.append(label)
        args.presets[label] = preset
    args.overrides = {label: {} for label in args.labels}
    for item in args.set:
        label, pairs = item[0], item[1:]
        if label not in args.overrides:
            parser.error(f'--set {label}: not a candidate label '
                         f'({args.labels})')
        if not pairs:
            parser.error(f'--set {label}: no KEY=VALUE given')
        for pair in pairs:
            key, eq, value = pair.partition('=')
            if not eq:
                parser.error(f'--set {label} {pair}: expected KEY=VALUE')
            args.overrides[label][key] = value
    if args.lr is None:
        args.lr = 1e-3 if args.task == 'seg' else 2e-4
    if args.num_train is None:
        args.num_train = 16 if args.task == 'seg' else 48
    if args.num_val is None:
        args.num_val = 6 if args.task == 'seg' else 16
    if args.embed_dims % args.heads:
        parser.error(f'--embed-dims {args.embed_dims} is not a multiple of '
                     f'--heads {args.heads}')
    return args


def _out_indices(depth):
    """Four evenly spaced blocks ending with the last (3/5/7/11 for 12)."""
    if depth < 4:
        raise ValueError(f'--depth {depth}: need at least 4 blocks')
    if depth == 4:
        return (0, 1, 2, 3)
    step = depth // 4
    return tuple(depth - 1 - step * k for k in (3, 2, 1, 0))


def _parse_value(value):
    """A ``--set`` value: a Python literal or ``dict(...)`` expression,
    else the string itself (``BN``)."""
    import ast
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass
    try:
        return eval(value, {'__builtins__': {}}, {'dict': dict})
    except Exception:
        return value


def _schedule(args):
    warm = max(1, int(args.iters * args.warmup))
    return [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
             end=warm),
        dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False,
             begin=warm, end=args.iters)
    ]


def _common(cfg, args, work_dir, seed, label):
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{label}_seed{seed}_{time.time_ns()}'
    cfg.randomness = dict(seed=seed)
    cfg.optim_wrapper = dict(
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=args.lr, betas=(0.9, 0.999),
                       weight_decay=0.05),
        clip_grad=dict(max_norm=35, norm_type=2))
    cfg.param_scheduler = _schedule(args)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters,
                         val_interval=args.iters)
    cfg.val_cfg = dict(type='ValLoop')
    cfg.test_cfg = None
    cfg.test_dataloader = None
    cfg.test_evaluator = None
    cfg.default_hooks.logger = dict(type='LoggerHook',
                                    interval=max(1, args.iters // 5))
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1,
                                        save_last=False)
    cfg.default_hooks.pop('visualization', None)
    cfg.custom_hooks = [dict(type='FiniteLossHook')]
    cfg.log_processor = dict(by_epoch=False)
    cfg.env_cfg = dict(cudnn_benchmark=False,
                       mp_cfg=dict(mp_start_method='fork',
                                   opencv_num_threads=0),
                       dist_cfg=dict(backend='gloo'))
    cfg.launcher = 'none'
    cfg.load_from = None
    cfg.resume = False
    return cfg


def _vit_arch(args):
    return dict(embed_dims=args.embed_dims, num_layers=args.depth,
                num_heads=args.heads,
                feedforward_channels=4 * args.embed_dims)


def _ref_backbone(args, img_size):
    """mmseg's VisionTransformer with its UperNet recipe's settings, shrunk
    to the compared width and depth."""
    import mmseg
    from mmengine.config import Config
    ref = Config.fromfile(
        osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs',
                 REF_VIT.split('::')[1]))
    bb = copy.deepcopy(ref.model.backbone.to_dict())
    bb.update(type='mmseg.VisionTransformer', img_size=img_size,
              embed_dims=args.embed_dims, num_layers=args.depth,
              num_heads=args.heads, mlp_ratio=4,
              out_indices=_out_indices(args.depth))
    bb.pop('init_cfg', None)
    neck = copy.deepcopy(ref.model.neck.to_dict())
    neck.update(type='mmseg.MultiLevelNeck',
                in_channels=[args.embed_dims] * 4,
                out_channels=args.embed_dims)
    return bb, neck


def seg_config(preset, args, data_root, work_dir, seed, label):
    """The config of one segmentation run."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, SEG_CONFIG))
    w, c, crop = args.embed_dims, args.head_channels, (args.crop, args.crop)
    cfg.custom_imports = dict(
        imports=['selective_mae', 'selective_mae.downstream.mmseg'],
        allow_failed_imports=False)
    model = cfg.model
    model.pretrained = None
    model.data_preprocessor.size = crop
    if preset == 'ref':
        model.backbone, model.neck = _ref_backbone(args, crop)
    else:
        model.backbone.update(arch=_vit_arch(args), img_size=args.crop,
                              out_indices=_out_indices(args.depth),
                              init_cfg=None)
        model.neck.in_channels = w
        if preset == 'ours-before':
            model.neck.norm_cfg = dict(type='BN')
        elif preset == 'ours-mln':
            _, model.neck = _ref_backbone(args, crop)
    model.decode_head.update(in_channels=[w] * 4, channels=c)
    model.auxiliary_head.update(in_channels=w, channels=c // 2)
    model.test_cfg = dict(mode='slide', crop_size=crop,
                          stride=(args.crop * 3 // 4, ) * 2)
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='RandomCrop', crop_size=crop, cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs')
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs')
    ]
    cfg.train_dataloader.update(
        batch_size=args.batch_size, num_workers=0, persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True))
    cfg.train_dataloader.dataset.update(data_root=data_root,
                                        pipeline=train_pipeline)
    cfg.val_dataloader.update(batch_size=1, num_workers=0,
                              persistent_workers=False)
    cfg.val_dataloader.dataset.update(data_root=data_root,
                                      pipeline=test_pipeline)
    cfg.val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
    return _common(cfg, args, work_dir, seed, label)


def rotated_config(preset, args, data_root, work_dir, seed, label):
    """The config of one oriented detection run."""
    from mmengine.config import Config

    from selective_mae.testing import DOTA_SHAPE_CLASSES
    cfg = Config.fromfile(osp.join(ROOT, ROT_CONFIG))
    w, c, size = args.embed_dims, args.head_channels, args.crop
    cfg.custom_imports = dict(
        imports=['selective_mae', 'selective_mae.downstream.mmrotate',
                 'mmseg.models'],
        allow_failed_imports=False)
    model = cfg.model
    sfp, fpn = model.neck
    if preset == 'ref':
        model.backbone, _ = _ref_backbone(args, (size, size))
        first = dict(type='ResizePyramid',
                     scale_factors=tuple(sfp.scale_factors))
    else:
        # Global attention in both candidates (the windows are a memory
        # choice at 1024 px; at this size a window would cover the image).
        model.backbone.update(arch=_vit_arch(args), img_size=size,
                              out_indices=_out_indices(args.depth),
                              window_size=0, with_cp=False, init_cfg=None)
        sfp.in_channels = w
        if preset == 'ours-before':
            sfp.norm_cfg = dict(type='BN')
        first = sfp
    fpn.update(in_channels=[w] * 4, out_channels=c)
    model.neck = [first, fpn]
    model.rpn_head.update(in_channels=c, feat_channels=c)
    model.roi_head.bbox_roi_extractor.out_channels = c
    model.roi_head.bbox_head.update(in_channels=c, fc_out_channels=2 * c,
                                    num_classes=len(DOTA_SHAPE_CLASSES))
    # fewer proposals and sampled RoIs than DOTA's 2000 / 512: a few objects
    # per small image (the same for every candidate)
    model.train_cfg.rpn_proposal.update(nms_pre=500, max_per_img=300)
    model.train_cfg.rcnn.sampler.num = 128
    model.test_cfg.rpn.update(nms_pre=500, max_per_img=300)
    model.test_cfg.rcnn.max_per_img = 100
    img_scale = (size, size)
    train_pipeline = [
        dict(type='mmdet.LoadImageFromFile'),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
        dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
        dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
        dict(type='mmdet.RandomFlip', prob=0.75,
             direction=['horizontal', 'vertical', 'diagonal']),
        dict(type='mmdet.PackDetInputs')
    ]
    val_pipeline = [
        dict(type='mmdet.LoadImageFromFile'),
        dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
        dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
        dict(type='mmdet.PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                        'scale_factor'))
    ]
    meta = dict(classes=DOTA_SHAPE_CLASSES)
    cfg.train_dataloader.update(
        batch_size=args.batch_size, num_workers=0, persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        batch_sampler=None)
    cfg.train_dataloader.dataset.update(
        data_root=data_root, ann_file='trainval/annfiles/',
        data_prefix=dict(img_path='trainval/images/'), metainfo=meta,
        img_shape=img_scale, pipeline=train_pipeline)
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.val_dataloader.dataset.update(
        data_root=data_root, ann_file='val/annfiles/',
        data_prefix=dict(img_path='val/images/'), metainfo=meta,
        img_shape=img_scale, pipeline=val_pipeline)
    cfg.val_evaluator = dict(type='DOTAMetric', metric='mAP')
    cfg.pop('auto_scale_lr', None)
    return _common(cfg, args, work_dir, seed, label)


def _register_resize_pyramid():
    """``ResizePyramid``: the reference detector's parameter-free pyramid."""
    import torch.nn.functional as F
    from mmengine.model import BaseModule
    from mmengine.registry import MODELS

    if MODELS.get('ResizePyramid') is not None:
        return

    @MODELS.register_module()
    class ResizePyramid(BaseModule):
        """Rescale same-stride maps by plain resizes (bilinear up-sampling,
        max pooling down), no parameters: the pyramid a plain ViT gets when
        its maps are fed to an FPN without a learned adapter.

        Args:
            scale_factors (Sequence[float]): One factor per input map.
        """

        def __init__(self, scale_factors=(4, 2, 1, 0.5)):
            super().__init__()
            self.scale_factors = tuple(float(s) for s in scale_factors)

        def forward(self, inputs):
            outs = []
            for x, s in zip(inputs, self.scale_factors):
                if s > 1:
                    x = F.interpolate(x, scale_factor=s, mode='bilinear',
                                      align_corners=False)
                elif s < 1:
                    k = int(round(1 / s))
                    x = F.max_pool2d(x, k, k)
                outs.append(x)
            return tuple(outs)


def keep_built_blocks(layers):
    """The hook of ``ours-before``: the blocks' weights as built (PyTorch's
    default init of every ``Linear`` and ``LayerNorm``) are written back
    before the first iteration, i.e. after ``init_weights`` gave them the
    fix's ViT-standard init.

    Args:
        layers (nn.Module): The backbone's blocks, right after the build.

    Returns:
        mmengine.hooks.Hook: To register with priority ``HIGHEST``.
    """
    import torch
    from mmengine.hooks import Hook

    built = {k: v.detach().clone() for k, v in layers.state_dict().items()}

    class KeepBuiltBlocks(Hook):

        def before_train(self, runner):
            with torch.no_grad():
                for k, v in layers.state_dict().items():
                    v.copy_(built[k])

    return KeepBuiltBlocks()


def make_data(task, args, root):
    """Generate the compared data set under ``root`` (once per work dir)."""
    from selective_mae.testing import make_dota_shapes, make_potsdam_shapes
    stamp = osp.join(root, '.done')
    key = (f'{task} {args.num_train} {args.num_val} '
           f'{args.tile if task == "seg" else args.crop} {args.data_seed}')
    if task == 'rotated':
        key += f' {args.object_size} {args.max_objects}'
    if osp.isfile(stamp) and open(stamp).read() == key:
        return root
    if task == 'seg':
        make_potsdam_shapes(root, num_train=args.num_train,
                            num_val=args.num_val, size=args.tile,
                            seed=args.data_seed)
    else:
        make_dota_shapes(root, splits=(('trainval', args.num_train),
                                       ('val', args.num_val)),
                         size=args.crop, seed=args.data_seed,
                         max_objects=args.max_objects,
                         object_size=tuple(args.object_size))
    with open(stamp, 'w') as f:
        f.write(key)
    return root


def _metric_keys(task):
    if task == 'seg':
        return 'mIoU', ('mIoU', 'aAcc')
    return 'mAP', ('dota/mAP', )


def run_one(task, preset, overrides, args, data_root, work_dir, seed, label):
    """Train and evaluate one (candidate, seed); returns its record."""
    import torch
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    build = seg_config if task == 'seg' else rotated_config
    cfg = build(preset, args, data_root, work_dir, seed, label)
    if overrides:
        cfg.merge_from_dict(
            {k: _parse_value(v) for k, v in overrides.items()})
    kept = {}

    class _Keep(Hook):
        priority = 'LOWEST'

        def after_val_epoch(self, runner, metrics=None):
            kept.update(metrics or {})

    torch.set_num_threads(args.threads)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(_Keep())
    if preset == 'ours-before':
        runner.register_hook(keep_built_blocks(runner.model.backbone.layers),
                             'HIGHEST')
    t0 = time.time()
    runner.train()
    seconds = time.time() - t0
    hub = runner.message_hub
    loss = float(hub.get_scalar('train/loss').mean(max(1, args.iters // 10)))
    iter_time = float(hub.get_scalar('train/time').mean())
    _, keys = _metric_keys(task)
    model = runner.model
    params = {}
    for name, child in model.named_children():
        if name == 'data_preprocessor':
            continue
        params[name] = sum(p.numel() for p in child.parameters())
    rec = dict(candidate=label, preset=preset, seed=seed,
               overrides=dict(overrides), params=params,
               seconds=round(seconds, 1),
               s_per_iter=round(iter_time, 3),
               final_loss=round(loss, 4))
    for key in keys:
        if key not in kept:
            raise RuntimeError(f'{label} seed {seed}: the evaluation gave no '
                               f'{key!r} (got {sorted(kept)})')
        value = float(kept[key])
        rec[key.split('/')[-1]] = round(value * 100 if task == 'rotated'
                                        else value, 2)
    if task == 'seg':
        rec['metric'] = rec['mIoU']
    else:
        rec['metric'] = rec['mAP']
    return rec


def summarise(runs, labels):
    import numpy as np
    rows = []
    for label in labels:
        mine = [r for r in runs if r['candidate'] == label]
        vals = np.array([r['metric'] for r in mine], float)
        rows.append(dict(
            candidate=label, preset=mine[0]['preset'],
            overrides=mine[0]['overrides'],
            seeds=[r['seed'] for r in mine],
            values=[r['metric'] for r in mine],
            mean=round(float(vals.mean()), 2),
            std=round(float(vals.std(ddof=1)) if len(vals) > 1 else 0.0, 2),
            final_loss=round(float(np.mean([r['final_loss']
                                            for r in mine])), 4),
            s_per_iter=round(float(np.mean([r['s_per_iter']
                                            for r in mine])), 3)))
    return rows


def format_table(task, rows):
    metric = 'mIoU' if task == 'seg' else 'mAP'
    lines = [f'| candidate | preset | overrides | {metric} per seed | '
             f'{metric} mean | std | final loss | s/iter |',
             '|---|---|---|---|---|---|---|---|']
    for r in rows:
        per_seed = ' / '.join(f'{v:.2f}' for v in r['values'])
        over = ', '.join(f'{k}={v}' for k, v in r['overrides'].items()) or '-'
        lines.append(f'| {r["candidate"]} | {r["preset"]} | {over} | '
                     f'{per_seed} | {r["mean"]:.2f} | {r["std"]:.2f} | '
                     f'{r["final_loss"]:.4f} | {r["s_per_iter"]:.3f} |')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    if args.task == 'rotated':
        _register_resize_pyramid()
    data_root = args.data_root or make_data(
        args.task, args, osp.join(args.work_dir, 'data'))
    out_json = osp.join(args.work_dir, 'compare_adapters.json')
    runs = []
    for seed in args.seeds:
        for label in args.labels:
            rec = run_one(args.task, args.presets[label],
                          args.overrides[label], args, data_root,
                          osp.join(args.work_dir, f'{label}_seed{seed}'),
                          seed, label)
            runs.append(rec)
            print(f'compare_adapters: {label} seed {seed}: '
                  f'{rec["metric"]:.2f} (loss {rec["final_loss"]:.4f}, '
                  f'{rec["seconds"]:.0f} s)', flush=True)
    rows = summarise(runs, args.labels)
    result = dict(
        task=args.task,
        metric='mIoU' if args.task == 'seg' else 'mAP',
        settings=dict(
            iters=args.iters, batch_size=args.batch_size, lr=args.lr,
            warmup=args.warmup, embed_dims=args.embed_dims,
            depth=args.depth, heads=args.heads,
            head_channels=args.head_channels, crop=args.crop,
            tile=args.tile, num_train=args.num_train,
            num_val=args.num_val, data_seed=args.data_seed,
            object_size=args.object_size, max_objects=args.max_objects,
            seeds=args.seeds, threads=args.threads,
            data_root=data_root),
        command=' '.join(['python', 'tools/analysis_tools/'
                          'compare_adapters.py'] +
                         (sys.argv[1:] if argv is None else list(argv))),
        host=platform.node(),
        runs=runs,
        summary=rows)
    with open(out_json, 'w') as f:
        json.dump(result, f, indent=2)
    print(format_table(args.task, rows))
    print(f'json: {out_json}')
    return result


if __name__ == '__main__':
    main()
