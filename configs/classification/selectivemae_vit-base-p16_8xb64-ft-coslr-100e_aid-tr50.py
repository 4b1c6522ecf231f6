# Full fine-tuning on AID at train ratio 50% (split seed 0; write the split
# with tools/dataset/make_scene_splits.py data/AID --dataset aid).
_base_ = './_base_/vit-base-p16_ft-100e.py'

data_root = 'data/AID/'
model = dict(head=dict(num_classes=30))
data_preprocessor = dict(num_classes=30)

train_dataloader = dict(
    dataset=dict(type='AID', data_root=data_root, train_ratio=50))
val_dataloader = dict(
    dataset=dict(type='AID', data_root=data_root, train_ratio=50))
test_dataloader = val_dataloader
