# ISPRS Vaihingen in the RS papers' 5-class protocol: clutter is ignored in
# training and evaluation (its pixels map to 255 through the data set's
# label map), as the `potsdam5` config does for Potsdam.
_base_ = [
    '../potsdam/upernet_selectivemae-vit-base-p16-sfp_4xb2-80k_potsdam5-512x512.py'  # noqa: E501
]

dataset_type = 'ISPRSDataset'
data_root = 'data/vaihingen'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
