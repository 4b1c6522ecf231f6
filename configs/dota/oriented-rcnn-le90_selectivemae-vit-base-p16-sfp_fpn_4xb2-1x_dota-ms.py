# Multi-scale DOTA v1.0: patches split at scales 0.5/1.0/1.5 (1024 px, gap
# 500), random rotation in training; the test set is split the same way and
# tools/test.py merges the patch predictions into whole-image Task1 files.
_base_ = './oriented-rcnn-le90_selectivemae-vit-base-p16-sfp_fpn_4xb2-1x_dota-ss.py'

data_root = 'data/split_ms_dota/'
train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='mmdet.Resize', scale=(1024, 1024), keep_ratio=True),
    dict(
        type='mmdet.RandomFlip',
        prob=0.75,
        direction=['horizontal', 'vertical', 'diagonal']),
    dict(
        type='RandomRotate',
        prob=0.5,
        angle_range=180,
        rect_obj_labels=[9, 11]),
    dict(type='mmdet.PackDetInputs')
]
train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
test_evaluator = dict(outfile_prefix='./work_dirs/dota_ms/Task1')
