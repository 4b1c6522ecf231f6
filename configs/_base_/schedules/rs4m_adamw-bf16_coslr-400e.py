# The OpticalRS-4M pretraining schedule (rs4m_adamw-bf16_coslr-800e.py:
# 8 GPUs x 256 images, bf16 AMP, AdamW) cut to 400 epochs: the same 40
# linear warm-up epochs, then cosine to epoch 400.
_base_ = 'rs4m_adamw-bf16_coslr-800e.py'

max_epochs = 400
warmup_epochs = 40
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-9,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
