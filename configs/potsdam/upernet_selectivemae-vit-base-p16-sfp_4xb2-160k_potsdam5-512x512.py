# 5-class protocol (clutter ignored), 160k iterations.
_base_ = [
    './upernet_selectivemae-vit-base-p16-sfp_4xb2-80k_potsdam5-512x512.py'
]

max_iters = 160000
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=16000)
default_hooks = dict(checkpoint=dict(interval=16000))
