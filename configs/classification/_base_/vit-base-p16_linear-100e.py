# Linear probing of a frozen SelectiveMAE/MAE ViT-B/16 on a scene data set:
# mmpretrain's MAE linear-probing recipe (cls token after the final norm,
# BatchNorm without affine, LARS, 10 warm-up epochs, cosine) over 100 epochs;
# base lr 0.1 at batch 256 (the MAE rule, 6.4 at 16384), scaled to the
# actual total batch.
_base_ = 'mmpretrain::mae/benchmarks/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py'  # noqa: E501

custom_imports = dict(imports=['selective_mae'], allow_failed_imports=False)

pretrained = None

model = dict(
    backbone=dict(
        type='PlainViT',
        out_indices=(-1, ),
        out_type='cls_token',
        with_cls_token=True,
        final_norm=True,
        drop_path_rate=0.,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(num_classes=1000))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=224,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=256,
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(
        type='SceneClassificationDataset',
        data_root='data/',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(
        type='SceneClassificationDataset',
        data_root='data/',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# LARS as in the MAE recipe; add --amp for mixed precision.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=0.1, weight_decay=0.0, momentum=0.9))

auto_scale_lr = dict(base_batch_size=256, enable=True)

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=90,
        by_epoch=True,
        begin=10,
        end=100,
        eta_min=0.0,
        convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=100)

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook',
        interval=10,
        max_keep_ckpts=1,
        save_best='accuracy/top1'))
