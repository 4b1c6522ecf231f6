# Stock MAE ViT-B/16 baseline on the same OpticalRS-4M pipeline and batch
# (8 GPUs x 256) as SelectiveMAE: mask 0.75, full 8-block decoder,
# lr = 1.5e-4 * 2048 / 256, bf16 AMP, 40 warm-up epochs then cosine.
# mmpretrain's `mae/mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py` cannot be
# a base beside our data set config (both define train_dataloader), so its
# model and runtime bases are inherited and its schedule is restated.
_base_ = [
    'mmpretrain::_base_/models/mae_vit-base-p16.py',
    '../_base_/datasets/rs4m_bs256_pretrain.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['selective_mae'], allow_failed_imports=False)

total_batch = 8 * 256
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(
        type='AdamW',
        lr=1.5e-4 * total_batch / 256,
        betas=(0.9, 0.95),
        weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys={
            'ln': dict(decay_mult=0.0),
            'bias': dict(decay_mult=0.0),
            'pos_embed': dict(decay_mult=0.),
            'mask_token': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.)
        }))

max_epochs = 800
warmup_epochs = 40
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-9,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
randomness = dict(seed=0, diff_rank_seed=True)
resume = True
auto_scale_lr = dict(base_batch_size=total_batch)
