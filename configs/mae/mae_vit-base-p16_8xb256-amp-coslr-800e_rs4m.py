# Stock MAE ViT-B/16 baseline on the same OpticalRS-4M pipeline and schedule
# (8 GPUs x 256, bf16, 40 warm-up epochs then cosine) as SelectiveMAE:
# mask 0.75, full 8-block decoder, lr = 1.5e-4 * 2048 / 256.
# mmpretrain's `mae/mae_vit-base-p16_8xb512-amp-coslr-800e_in1k.py` cannot be
# a base beside our data set config (both define train_dataloader), so its
# model and runtime bases are inherited.
_base_ = [
    'mmpretrain::_base_/models/mae_vit-base-p16.py',
    '../_base_/datasets/rs4m_bs256_pretrain.py',
    '../_base_/schedules/rs4m_adamw-bf16_coslr-800e.py',
    '../_base_/rs4m_pretrain_runtime.py',
]
custom_imports = dict(imports=['selective_mae'], allow_failed_imports=False)

optim_wrapper = dict(optimizer=dict(lr=1.5e-4 * 8 * 256 / 256))
