# SelectiveMAE ViT-B/16, decoder depth 8, 800 epochs on OpticalRS-4M,
# 8 GPUs x 256 images, bf16 AMP. Without data pruning (see the
# `-released` config for the released recipe with InfoBatch).
_base_ = [
    '../_base_/models/selectivemae_vit-base-p16.py',
    '../_base_/datasets/rs4m_bs256_pretrain.py',
    '../_base_/schedules/rs4m_adamw-bf16_coslr-800e.py',
    '../_base_/rs4m_pretrain_runtime.py',
    '_base_/selectivemae_rs4m_recipe.py',
]

model = dict(
    selector=dict(
        mask_ratio={{_base_.mask_ratio}},
        recon_ratio={{_base_.recon_ratio}}))
optim_wrapper = dict(optimizer=dict(lr={{_base_.lr}}))
custom_hooks = [dict(type='BadImageHook'), dict(type='PSTSProgressHook')]
