# Full fine-tuning on UC Merced Land Use at train ratio 80% (the 8:2
# split, seed 0; write it with tools/dataset/make_scene_splits.py
# data/UCMerced_LandUse/Images --dataset ucm).
_base_ = './_base_/vit-base-p16_ft-100e.py'

data_root = 'data/UCMerced_LandUse/Images/'
model = dict(head=dict(num_classes=21))
data_preprocessor = dict(num_classes=21)

train_dataloader = dict(
    dataset=dict(type='UCMerced', data_root=data_root, train_ratio=80))
val_dataloader = dict(
    dataset=dict(type='UCMerced', data_root=data_root, train_ratio=80))
test_dataloader = val_dataloader
