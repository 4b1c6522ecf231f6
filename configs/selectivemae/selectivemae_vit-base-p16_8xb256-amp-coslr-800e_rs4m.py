# SelectiveMAE ViT-B/16, decoder depth 8, 800 epochs on OpticalRS-4M,
# 8 GPUs x 256 images, bf16 AMP. Without data pruning (see the
# `-released` config for the released recipe with InfoBatch).
_base_ = [
    '../_base_/models/selectivemae_vit-base-p16.py',
    '../_base_/datasets/rs4m_bs256_pretrain.py',
    '../_base_/schedules/rs4m_adamw-bf16_coslr-800e.py',
    '../_base_/rs4m_pretrain_runtime.py',
]
custom_imports = dict(imports=['selective_mae'], allow_failed_imports=False)

# Released lr rule: lr = blr * total_batch / 256 * (recon_ratio / mask_ratio)
base_lr = 1.5e-4
total_batch = 8 * 256
mask_ratio = 0.85
recon_ratio = 0.25
lr = base_lr * total_batch / 256 * (recon_ratio / mask_ratio)
model = dict(selector=dict(mask_ratio=mask_ratio, recon_ratio=recon_ratio))

optim_wrapper = dict(optimizer=dict(lr=lr))
custom_hooks = [dict(type='BadImageHook'), dict(type='PSTSProgressHook')]
# Log the unweighted reconstruction loss smoothed like `loss` (mmengine
# averages only keys matching 'loss|time' by default and would show this
# one's current value beside the others' 10-iteration means).
log_processor = dict(custom_cfg=[
    dict(data_src='recon_unweighted', method_name='mean', window_size=10)
])
