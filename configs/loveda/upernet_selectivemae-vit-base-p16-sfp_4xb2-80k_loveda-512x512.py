# UperNet on LoveDA (7 classes, 1024 x 1024 tiles, 512 crops): the
# SelectiveMAE paper's segmentation benchmark (ViT-B: mIoU 53.05 on the
# official test server). mmseg's converter:
#   python $(python -c "import mmseg,os;print(os.path.dirname(mmseg.__file__))")/.mim/tools/dataset_converters/loveda.py /path/to/loveDA_zips -o data/loveDA
_base_ = [
    '../potsdam/upernet_selectivemae-vit-base-p16-sfp_4xb2-80k_potsdam-512x512.py'
]

dataset_type = 'LoveDADataset'
data_root = 'data/loveDA'
num_classes = 7
crop_size = (512, 512)

model = dict(
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1024, 1024), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

# Layer decay 0.9, not the Potsdam base's 0.65 (mmseg's MAE recipe): the
# authors' released LoveDA config, which produced the paper's 53.05 mIoU
# this config is compared with, uses 0.9 (as RVSA / MTP). Layer decay only
# shapes fine-tuning of pretrained weights, which a CPU check from scratch
# cannot measure, so the recipe behind the reported number decides.
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9))
