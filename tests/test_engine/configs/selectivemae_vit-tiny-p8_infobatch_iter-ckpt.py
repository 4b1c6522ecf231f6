# The SelectiveMAE demo setup (4-layer ViT of width 192, patch 8, 64 px,
# 2-block decoder; PSTS curriculum) with InfoBatch pruning and a checkpoint
# after every iteration, for the resume / pre-emption / 1-vs-2-process
# tests. Written for stock mmengine types (CheckpointHook,
# EpochBasedTrainLoop): tools/train.py upgrades them. The tests set
# train_dataloader.dataset.data_root and TrainTraceHook's out_dir.
_base_ = [
    '../../../configs/_base_/models/selectivemae_vit-base-p16.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(
    imports=['selective_mae', 'selective_mae.testing.train_trace'],
    allow_failed_imports=False)

img_size = 64
patch_size = 8
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=192,
            num_layers=4,
            num_heads=3,
            feedforward_channels=768),
        img_size=img_size,
        patch_size=patch_size),
    neck=dict(
        img_size=img_size,
        patch_size=patch_size,
        embed_dim=192,
        decoder_embed_dim=128,
        decoder_depth=2,
        decoder_num_heads=4),
    head=dict(patch_size=patch_size))

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=False)
train_pipeline = [
    dict(
        type='LoadRandomResizedCrop',
        scale=img_size,
        crop_ratio_range=(0.2, 1.0),
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]
# 32 scenes at batch 8: 4 iterations in epoch 1, 3 in the pruned epochs
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(
        type='InfoBatchSampler', prune_ratio=0.5, delta=0.875, shuffle=True),
    collate_fn=dict(type='rs_collate'),
    dataset=dict(type='RS4M', data_root='data/demo_rs/',
                 pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05))
max_epochs = 3
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-2,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
custom_hooks = [
    dict(type='PSTSProgressHook'),
    dict(type='InfoBatchHook'),
    dict(type='TrainTraceHook', out_dir='trace'),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=1, max_keep_ckpts=2))
randomness = dict(seed=0, diff_rank_seed=True)
