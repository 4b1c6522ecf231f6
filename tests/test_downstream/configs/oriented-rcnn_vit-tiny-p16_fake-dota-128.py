# The DOTA single-scale config, shrunk for the CPU tests: a 4-layer, 32-wide
# ViT (window attention with 2 global blocks, activation checkpointing),
# 128 px images, 2 iterations then DOTAMetric. data_root from --cfg-options.
_base_ = '../../../configs/dota/oriented-rcnn-le90_selectivemae-vit-base-p16-sfp_fpn_4xb2-1x_dota-ss.py'

classes = ('plane', 'baseball-diamond', 'bridge')
img_scale = (128, 128)
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=32, num_layers=4, num_heads=2,
            feedforward_channels=64),
        img_size=128,
        out_indices=(0, 1, 2, 3),
        window_size=4,
        global_attn_indexes=(1, 3),
        with_cp=True,
        init_cfg=None),
    neck=[
        dict(
            type='SimpleFeaturePyramid',
            in_channels=32,
            norm_cfg=dict(type='LN2d')),
        dict(
            type='mmdet.FPN',
            in_channels=[32, 32, 32, 32],
            out_channels=32,
            num_outs=5),
    ],
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(
            in_channels=32, fc_out_channels=64, num_classes=len(classes))))

train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(
        type='mmdet.RandomFlip',
        prob=0.75,
        direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='mmdet.PackDetInputs')
]
val_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=img_scale, keep_ratio=True),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        metainfo=dict(classes=classes),
        img_shape=img_scale,
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        ann_file='trainval/annfiles/',
        data_prefix=dict(img_path='trainval/images/'),
        metainfo=dict(classes=classes),
        img_shape=img_scale,
        pipeline=val_pipeline))
test_dataloader = val_dataloader
test_evaluator = dict(_delete_=True, type='DOTAMetric', metric='mAP')

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=2, val_interval=2)
param_scheduler = []
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(
        type='CheckpointHook', interval=2, by_epoch=False, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
