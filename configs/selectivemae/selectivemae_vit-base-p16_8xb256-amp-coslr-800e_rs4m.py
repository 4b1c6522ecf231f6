# SelectiveMAE ViT-B/16, decoder depth 8, 800 epochs on OpticalRS-4M,
# 8 GPUs x 256 images, bf16 AMP. Without data pruning (see the
# `-released` config for the released recipe with InfoBatch).
_base_ = [
    '../_base_/models/selectivemae_vit-base-p16.py',
    '../_base_/datasets/rs4m_bs256_pretrain.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['selective_mae'], allow_failed_imports=False)

# Released lr rule: lr = blr * total_batch / 256 * (recon_ratio / mask_ratio)
base_lr = 1.5e-4
total_batch = 8 * 256
mask_ratio = 0.85
recon_ratio = 0.25
lr = base_lr * total_batch / 256 * (recon_ratio / mask_ratio)
model = dict(selector=dict(mask_ratio=mask_ratio, recon_ratio=recon_ratio))

optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(
        type='AdamW', lr=lr, betas=(0.9, 0.95), weight_decay=0.05),
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
custom_hooks = [dict(type='BadImageHook'), dict(type='PSTSProgressHook')]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
randomness = dict(seed=0, diff_rank_seed=True)
resume = True
# `--auto-scale-lr` rescales lr by the actual total batch against this.
auto_scale_lr = dict(base_batch_size=total_batch)
