# SelectiveMAE on the generated demo scenes (64 px crops, see
# tools/dataset/make_demo_data.py), small enough to pretrain in minutes on
# 2 CPU cores: 4-layer ViT of width 192, patch 8 (64 patches: 9 visible,
# 16 targets), 2-block decoder of width 128, 20 epochs, fp32.
# The lr is larger than the released rule would give at batch 16
# (2.8e-6) so that the loss visibly falls in a short run.
_base_ = [
    '../_base_/models/selectivemae_vit-base-p16.py',
    '../_base_/datasets/demo_rs_pretrain.py',
    '../_base_/schedules/rs4m_adamw-bf16_coslr-800e.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['selective_mae'], allow_failed_imports=False)

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

# fp32 on the CPU: a plain OptimWrapper instead of the base's bf16 one; the
# optimizer (AdamW, betas, weight decay) and its two parameter groups (no
# decay on norms, biases, tokens and position embeddings) are the schedule
# base's (DecayGroupsOptimWrapperConstructor).
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=1e-3))

max_epochs = 20
warmup_epochs = 2
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
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
# k-NN probe of the encoder on held-out labelled demo scenes (5 scene types,
# 100 each from `make demo`, tools/dataset/make_demo_data.py --labelled),
# half memory bank, half queries; at the start, every 5 epochs and at the end (~2 s each).
knn_probe = dict(
    dataset=dict(type='CustomDataset', data_root='data/demo_rs_labelled/'),
    query_ratio=0.5,
    batch_size=64,
    num_workers=0)
custom_hooks = [
    dict(type='BadImageHook'),
    dict(type='PSTSProgressHook'),
    dict(type='KNNEvalHook', probe=knn_probe, interval=5),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2),
    # a NaN stops the run and keeps the last good checkpoint, as in the
    # pretraining runtime base
    finite_loss=dict(type='FiniteLossHook'))
randomness = dict(seed=0, diff_rank_seed=True)
auto_scale_lr = dict(base_batch_size=16)
