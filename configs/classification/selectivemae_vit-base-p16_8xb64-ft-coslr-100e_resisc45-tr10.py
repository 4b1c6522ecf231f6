# Full fine-tuning on NWPURESISC45 at train ratio 10% (split seed 0; write the
# split with tools/dataset/make_scene_splits.py data/NWPU-RESISC45 --dataset
# resisc45).
_base_ = './_base_/vit-base-p16_ft-100e.py'

data_root = 'data/NWPU-RESISC45/'
model = dict(head=dict(num_classes=45))
data_preprocessor = dict(num_classes=45)

train_dataloader = dict(
    dataset=dict(type='NWPURESISC45', data_root=data_root, train_ratio=10))
val_dataloader = dict(
    dataset=dict(type='NWPURESISC45', data_root=data_root, train_ratio=10))
test_dataloader = val_dataloader
