# Potsdam in the RS papers' 5-class protocol (RVSA, MTP): clutter is
# ignored in training and evaluation (its pixels map to 255 through the
# data set's label map), and mIoU / OA / F1 are over the 5 remaining classes.
# Only these numbers are comparable with RVSA's OA 90.60 (ViT-B).
_base_ = './upernet_selectivemae-vit-base-p16-sfp_4xb2-80k_potsdam-512x512.py'

num_classes = 5
metainfo = dict(
    classes=('impervious_surface', 'building', 'low_vegetation', 'tree',
             'car'),
    palette=[[255, 255, 255], [0, 0, 255], [0, 255, 255], [0, 255, 0],
             [255, 255, 0]])

model = dict(
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
train_dataloader = dict(dataset=dict(metainfo=metainfo))
val_dataloader = dict(dataset=dict(metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(iou_metrics=['mIoU', 'mFscore'])
test_evaluator = val_evaluator
