# SelectiveMAE ViT-B/16 of selectivemae_vit-base-p16_8xb256-amp-coslr-800e_
# rs4m.py on the 400-epoch schedule.
_base_ = [
    '../_base_/models/selectivemae_vit-base-p16.py',
    '../_base_/datasets/rs4m_bs256_pretrain.py',
    '../_base_/schedules/rs4m_adamw-bf16_coslr-400e.py',
    '../_base_/rs4m_pretrain_runtime.py',
    '_base_/selectivemae_rs4m_recipe.py',
]

model = dict(
    selector=dict(
        mask_ratio={{_base_.mask_ratio}},
        recon_ratio={{_base_.recon_ratio}}))
optim_wrapper = dict(optimizer=dict(lr={{_base_.lr}}))
custom_hooks = [dict(type='BadImageHook'), dict(type='PSTSProgressHook')]
