"""Semantic segmentation of one image: a colour-coded mask PNG and an
overlay PNG.

    python tools/inference/segment.py IMAGE CONFIG CHECKPOINT \
        --out-dir results/ [--device cpu] [--alpha 0.5]

Writes ``<name>_mask.png`` (class colours of the data set's palette),
``<name>_overlay.png`` and ``<name>_labels.png`` (class index per pixel).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('image', help='input image file')
    parser.add_argument('config', help='segmentation config file')
    parser.add_argument('checkpoint', help='trained segmentor checkpoint')
    parser.add_argument('--out-dir', default='.', help='output folder')
    parser.add_argument('--alpha', type=float, default=0.5)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import selective_mae  # noqa: F401
    import mmcv
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmengine.runner import CheckpointLoader

    if not osp.isfile(args.image):
        raise FileNotFoundError(f'image {args.image!r} does not exist')
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    from mmseg.apis import inference_model, init_model
    from mmseg.registry import DATASETS

    from selective_mae.downstream.mmseg import colorize_mask, overlay_mask

    cfg.model.backbone.init_cfg = None
    ds_cfg = cfg.test_dataloader.dataset.copy()
    ds_cfg['lazy_init'] = True
    meta = DATASETS.build(ds_cfg).metainfo
    ckpt_meta = CheckpointLoader.load_checkpoint(
        args.checkpoint, map_location='cpu').get('meta') or {}
    model = revert_sync_batchnorm(
        init_model(cfg, args.checkpoint, device=args.device))
    if ckpt_meta.get('dataset_meta'):
        meta = model.dataset_meta
    result = inference_model(model, args.image)
    labels = result.pred_sem_seg.data[0].cpu().numpy()

    color = colorize_mask(labels, meta['palette'])
    image = mmcv.imread(args.image, channel_order='rgb')
    overlay = overlay_mask(image, color, args.alpha)
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(args.image))[0]
    paths = {
        'mask': osp.join(args.out_dir, f'{stem}_mask.png'),
        'overlay': osp.join(args.out_dir, f'{stem}_overlay.png'),
        'labels': osp.join(args.out_dir, f'{stem}_labels.png'),
    }
    mmcv.imwrite(color[..., ::-1], paths['mask'])
    mmcv.imwrite(overlay[..., ::-1], paths['overlay'])
    mmcv.imwrite(labels.astype('uint8'), paths['labels'])
    present = sorted(set(labels.ravel().tolist()))
    names = [meta['classes'][i] for i in present if i < len(meta['classes'])]
    print(f'classes present: {names}')
    for kind, path in paths.items():
        print(f'{kind}: {path}')


if __name__ == '__main__':
    main()
