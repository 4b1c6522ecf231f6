# Stock mmpretrain MAE, shrunk to a 2-layer ViT on 64 px crops of the
# generated demo scenes: a smoke test of the whole pretraining stack
# (data -> MAE -> checkpoint -> resume) that runs in seconds on a CPU.
_base_ = [
    'mmpretrain::_base_/models/mae_vit-base-p16.py',
    '../_base_/datasets/demo_rs_pretrain.py',
    '../_base_/schedules/rs4m_adamw-bf16_coslr-800e.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['selective_mae'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,  # the base names an arch ('b'); this is a dict
            embed_dims=64,
            num_layers=2,
            num_heads=4,
            feedforward_channels=256),
        img_size=64,
        patch_size=8,
        mask_ratio=0.75),
    neck=dict(
        num_patches=64,
        patch_size=8,
        embed_dim=64,
        decoder_embed_dim=64,
        decoder_depth=1,
        decoder_num_heads=4),
    head=dict(patch_size=8))

# fp32 on the CPU: a plain OptimWrapper instead of the base's bf16 one; the
# optimizer (AdamW, betas, weight decay) and its two parameter groups (no
# decay on norms, biases, tokens and position embeddings) are the schedule
# base's (DecayGroupsOptimWrapperConstructor).
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=1.5e-4 * 16 / 256))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=1, by_epoch=True, begin=1, end=2,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    # a NaN stops the run and keeps the last good checkpoint, as in the
    # pretraining runtime base
    finite_loss=dict(type='FiniteLossHook'))
randomness = dict(seed=0, diff_rank_seed=True)
auto_scale_lr = dict(base_batch_size=16)
