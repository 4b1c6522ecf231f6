# The DIOR config, shrunk for the CPU tests: a 4-layer, 32-wide ViT, 128 px
# images, 2 iterations then CocoMetric. data_root and the evaluator's
# ann_file from --cfg-options.
_base_ = '../../../configs/dior/faster-rcnn_selectivemae-vit-base-p16-sfp_fpn_4xb1-1x_dior.py'  # noqa: E501

img_scale = (128, 128)
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=32, num_layers=4, num_heads=2,
            feedforward_channels=64),
        img_size=128,
        out_indices=(0, 1, 2, 3),
        init_cfg=None),
    neck=[
        dict(
            type='SimpleFeaturePyramid',
            in_channels=32,
            norm_cfg=dict(type='LN2d')),
        dict(
            type='FPN',
            in_channels=[32, 32, 32, 32],
            out_channels=32,
            num_outs=5),
    ],
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=64)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(filter_cfg=dict(min_size=8), pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=2, val_interval=2)
param_scheduler = []
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(
        type='CheckpointHook', interval=2, by_epoch=False, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
