# mmpretrain's runtime for long pretraining runs: log every 100 iterations,
# keep the last 3 epoch checkpoints, resume automatically from the latest.
# AtomicCheckpointHook: crash-safe saves; tools/train.py adds the rest of
# the safe-training pieces (docs/pretrain.md, "Long runs").
_base_ = 'mmpretrain::_base_/default_runtime.py'

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='AtomicCheckpointHook', interval=1,
                    max_keep_ckpts=3))
randomness = dict(seed=0, diff_rank_seed=True)
resume = True
# DDP need not broadcast buffers every forward: the pretraining models'
# buffers are constants (the HOG Sobel kernel, the decoder's sin-cos table),
# never changed by a step, and they have no BatchNorm (mmengine's default
# wrapper also passes broadcast_buffers=False; this keeps it when a config
# sets other wrapper options).
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', broadcast_buffers=False)
