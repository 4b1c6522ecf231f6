# What the SelectiveMAE OpticalRS-4M pretraining configs share besides their
# model, data, schedule and runtime bases (which it must not overlap: mmengine
# refuses a key defined by two bases). The configs take the values with
# {{_base_.lr}} & co.
custom_imports = dict(imports=['selective_mae'], allow_failed_imports=False)

# Released lr rule: lr = blr * total_batch / 256 * (recon_ratio / mask_ratio),
# total_batch = 8 * 256 as in the schedule bases.
base_lr = 1.5e-4
mask_ratio = 0.85
recon_ratio = 0.25
lr = base_lr * 8 * 256 / 256 * (recon_ratio / mask_ratio)

# Log the unweighted reconstruction loss smoothed like `loss` (mmengine
# averages only keys matching 'loss|time' by default and would show this
# one's current value beside the others' 10-iteration means).
log_processor = dict(custom_cfg=[
    dict(data_src='recon_unweighted', method_name='mean', window_size=10)
])
