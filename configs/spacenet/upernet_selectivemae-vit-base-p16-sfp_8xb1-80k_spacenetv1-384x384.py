# UperNet on SpaceNet v1 buildings (2 classes, 384 x 384 crops): the
# SelectiveMAE paper's building-extraction benchmark (ViT-B: mF1 79.50, the
# mean F1 of background and building, `mFscore` of mmseg's IoUMetric). The
# recipe of the authors' release (vit-b-upernet-384-proposed-spacenetv1.py):
# RandomResize 0.5-2.0, PhotoMetricDistortion, no auxiliary head, AdamW 6e-5
# with layer decay 0.9, 1500 warm-up iterations then cosine to 80k, slide
# test 384 / 256, batch 1 per GPU on 8 GPUs. Prepare the data with
# tools/dataset/prepare_spacenet_v1.py (docs/segmentation.md).
_base_ = [
    '../potsdam/upernet_selectivemae-vit-base-p16-sfp_4xb2-80k_potsdam-512x512.py'  # noqa: E501
]

dataset_type = 'SpaceNetV1Dataset'
data_root = 'data/spacenetv1'
num_classes = 2
crop_size = (384, 384)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(img_size=384),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=None,
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(256, 256)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(
        type='RandomResize',
        scale=crop_size,
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train/images', seg_map_path='train/labels'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='val/images', seg_map_path='val/labels'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mFscore'])
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(lr=6e-5), paramwise_cfg=dict(layer_decay_rate=0.9))
max_iters = 80000
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='CosineAnnealingLR',
        eta_min=0.0,
        T_max=max_iters - 1500,
        begin=1500,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters)
