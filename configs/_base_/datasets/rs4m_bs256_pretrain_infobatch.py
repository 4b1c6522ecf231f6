# OpticalRS-4M as in rs4m_bs256_pretrain.py, with the released recipe's
# dynamic data pruning (InfoBatch): of the samples whose last loss is below
# the mean, half are left out of each epoch and the kept ones get loss weight
# 1 / (1 - 0.5); no pruning in the last 12.5% of the epochs.
# Pruning shortens epochs; InfoBatchHook keeps iteration-based parameter
# schedulers aligned with epochs (align_schedulers=True).
_base_ = ['./rs4m_bs256_pretrain.py']

train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='InfoBatchSampler',
        prune_ratio=0.5,
        delta=0.875,
        rescale=True,
        shuffle=True))

custom_hooks = [dict(type='BadImageHook'), dict(type='InfoBatchHook')]
