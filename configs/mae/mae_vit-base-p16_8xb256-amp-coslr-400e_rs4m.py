# The MAE ViT-B/16 baseline of mae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py
# on the 400-epoch schedule.
_base_ = [
    'mmpretrain::_base_/models/mae_vit-base-p16.py',
    '../_base_/datasets/rs4m_bs256_pretrain.py',
    '../_base_/schedules/rs4m_adamw-bf16_coslr-400e.py',
    '../_base_/rs4m_pretrain_runtime.py',
]
custom_imports = dict(imports=['selective_mae'], allow_failed_imports=False)

optim_wrapper = dict(optimizer=dict(lr=1.5e-4 * 8 * 256 / 256))
