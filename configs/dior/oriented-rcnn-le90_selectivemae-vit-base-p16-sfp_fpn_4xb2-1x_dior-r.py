# Oriented R-CNN (le90) on DIOR-R (20 classes, 800 x 800 images): the
# SelectiveMAE paper's detection benchmark (ViT-B: mAP50 67.78). Train on
# train + val, test on test, as mmrotate's dior.py does.
_base_ = '../dota/oriented-rcnn-le90_selectivemae-vit-base-p16-sfp_fpn_4xb2-1x_dota-ss.py'

dataset_type = 'DIORDataset'
data_root = 'data/DIOR/'
img_size = 800

model = dict(
    backbone=dict(img_size=img_size),
    roi_head=dict(bbox_head=dict(num_classes=20)))

train_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(type='mmdet.Resize', scale=(img_size, img_size), keep_ratio=True),
    dict(
        type='mmdet.RandomFlip',
        prob=0.75,
        direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='mmdet.PackDetInputs')
]
test_pipeline = [
    dict(type='mmdet.LoadImageFromFile'),
    dict(type='mmdet.Resize', scale=(img_size, img_size), keep_ratio=True),
    dict(type='mmdet.LoadAnnotations', with_bbox=True, box_type='qbox'),
    dict(type='ConvertBoxType', box_type_mapping=dict(gt_bboxes='rbox')),
    dict(
        type='mmdet.PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        ignore_keys=['DATASET_TYPE'],
        datasets=[
            dict(
                type=dataset_type,
                data_root=data_root,
                ann_file=f'ImageSets/Main/{split}.txt',
                data_prefix=dict(img_path='JPEGImages-trainval'),
                filter_cfg=dict(filter_empty_gt=True),
                pipeline=train_pipeline) for split in ('train', 'val')
        ]))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Main/test.txt',
        data_prefix=dict(img_path='JPEGImages-test'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='DOTAMetric', metric='mAP')
test_evaluator = dict(_delete_=True, type='DOTAMetric', metric='mAP')

# Layer decay 0.9, not DOTA's 0.75 (RVSA's value): the authors' released
# DIOR-R config, which produced the paper's 67.78 mAP50 this config is
# compared with, uses 0.9 (as MTP). Layer decay only shapes fine-tuning of
# pretrained weights, which a CPU check from scratch cannot measure, so the
# recipe behind the reported number decides.
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9))
