# mmpretrain's runtime for long pretraining runs: log every 100 iterations,
# keep the last 3 epoch checkpoints, resume automatically from the latest.
# AtomicCheckpointHook: crash-safe saves; tools/train.py adds the rest of
# the safe-training pieces (docs/pretrain.md, "Long runs").
# FiniteLossHook stops the run at the first NaN / Inf loss and refuses any
# later save, so the newest checkpoint is the last good one. It is a default
# hook, not a custom one, so that a config setting its own custom_hooks
# keeps it (default_hooks merge by key, custom_hooks lists replace).
_base_ = 'mmpretrain::_base_/default_runtime.py'

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='AtomicCheckpointHook', interval=1,
                    max_keep_ckpts=3),
    finite_loss=dict(type='FiniteLossHook'))
randomness = dict(seed=0, diff_rank_seed=True)
resume = True
# DDP need not broadcast buffers every forward: the pretraining models'
# buffers are constants (the HOG Sobel kernel, the decoder's sin-cos table),
# never changed by a step, and they have no BatchNorm (mmengine's default
# wrapper also passes broadcast_buffers=False; this keeps it when a config
# sets other wrapper options).
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', broadcast_buffers=False)
