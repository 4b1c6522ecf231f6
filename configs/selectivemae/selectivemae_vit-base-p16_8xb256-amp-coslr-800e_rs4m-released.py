# The released SelectiveMAE recipe, ViT-B/16: 800 epochs, batch 2048
# (8 GPUs x 256), mask 0.85, recon 0.25, decoder depth 8, blr 1.5e-4 with
# lr = blr * 2048 / 256 * (0.25 / 0.85), AdamW (0.9, 0.95), wd 0.05,
# 40 warm-up epochs then cosine, bf16 AMP, and InfoBatch dynamic data
# pruning (prune 0.5 of the below-mean-loss samples, stop after 0.875 of
# training). All but the pruning block come from the base config.
# The richness score is the real HOG score; the released code's score is
# identically zero (uniform sampling): add
# `--cfg-options model.selector.scorer.score=uniform` to reproduce that.
_base_ = 'selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py'

# ---- InfoBatch dynamic data pruning (engineer B: types and arguments of
# selective_mae/datasets/samplers/infobatch.py and
# selective_mae/engine/hooks/infobatch_hook.py) ----
train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='InfoBatchSampler',
        prune_ratio=0.5,
        delta=0.875,
        shuffle=True))
custom_hooks = [
    dict(type='BadImageHook'),
    dict(type='PSTSProgressHook'),
    dict(type='InfoBatchHook'),
]
# ---- end of InfoBatch block ----
