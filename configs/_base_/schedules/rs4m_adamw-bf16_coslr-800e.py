# The pretraining schedule shared by SelectiveMAE and the MAE baselines on
# OpticalRS-4M: 8 GPUs x 256 images, bf16 mixed precision without a loss
# scaler (BF16OptimWrapper: no host sync per step), AdamW (0.9, 0.95) with
# weight decay 0.05 in two parameter groups
# (DecayGroupsOptimWrapperConstructor: no decay on 1-D parameters, i.e.
# norms and biases, and on position embeddings and tokens; fused AdamW where
# torch has fused kernels for the device, multi-tensor otherwise), 40 linear
# warm-up epochs then cosine to epoch 800. Each method sets its own
# optim_wrapper.optimizer.lr.
total_batch = 8 * 256
max_epochs = 800
warmup_epochs = 40

optim_wrapper = dict(
    type='BF16OptimWrapper',
    constructor='DecayGroupsOptimWrapperConstructor',
    optimizer=dict(type='AdamW', betas=(0.9, 0.95), weight_decay=0.05))
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
# `--auto-scale-lr` rescales lr by the actual total batch against this.
auto_scale_lr = dict(base_batch_size=total_batch)
