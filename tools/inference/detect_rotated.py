"""Oriented detection on one image: a PNG with the rotated boxes and class
names drawn.

    python tools/inference/detect_rotated.py IMAGE CONFIG CHECKPOINT \
        --out result.png [--score-thr 0.3] [--device cpu]

Large scenes (whole DOTA images) should be split first, as in training; this
tool runs the config's test pipeline on the image as given.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

DROP_AT_INFERENCE = ('LoadAnnotations', 'ConvertBoxType')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('image', help='input image file')
    parser.add_argument('config', help='detection config file')
    parser.add_argument('checkpoint', help='trained detector checkpoint')
    parser.add_argument('--out', default='result.png', help='output PNG')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def load_detector(config, checkpoint, device='cpu'):
    """Build a detector with weights, class names and palette.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file (loaded weights-only).
        device (str): Torch device. Defaults to 'cpu'.

    Returns:
        nn.Module: The detector in eval mode, with ``dataset_meta`` and
        ``cfg``.
    """
    import selective_mae  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmrotate'))
    from mmdet.apis import init_detector
    from mmrotate.registry import DATASETS

    ds_cfg = cfg.test_dataloader.dataset.copy()
    ds_cfg['lazy_init'] = True
    meta = DATASETS.build(ds_cfg).metainfo
    model = init_detector(cfg, checkpoint, palette='none', device=device)
    if 'dataset_meta' not in _checkpoint_meta(checkpoint):
        model.dataset_meta = dict(meta)
    pipeline = [
        t for t in cfg.test_dataloader.dataset.pipeline
        if not any(d in t['type'] for d in DROP_AT_INFERENCE)
    ]
    model.cfg.test_dataloader.dataset.pipeline = pipeline
    return model


def _checkpoint_meta(checkpoint):
    from mmengine.runner import CheckpointLoader
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    return ckpt.get('meta', {}) or {}


def main(argv=None):
    args = parse_args(argv)
    import mmcv
    from mmdet.apis import inference_detector

    from selective_mae.downstream.mmrotate import draw_rotated_boxes

    if not osp.isfile(args.image):
        raise FileNotFoundError(f'image {args.image!r} does not exist')
    model = load_detector(args.config, args.checkpoint, args.device)
    result = inference_detector(model, args.image)
    pred = result.pred_instances
    image = mmcv.imread(args.image)
    boxes = pred.bboxes.tensor if hasattr(pred.bboxes, 'tensor') \
        else pred.bboxes
    drawn = draw_rotated_boxes(
        image,
        boxes.cpu(),
        pred.labels.cpu(),
        pred.scores.cpu(),
        model.dataset_meta['classes'],
        palette=model.dataset_meta.get('palette'),
        score_thr=args.score_thr)
    mmcv.imwrite(drawn, args.out)
    kept = int((pred.scores >= args.score_thr).sum())
    print(f'{kept} boxes (score >= {args.score_thr}) of {len(pred)} drawn '
          f'to {args.out}')


if __name__ == '__main__':
    main()
