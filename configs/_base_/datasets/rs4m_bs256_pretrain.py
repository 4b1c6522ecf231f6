# OpticalRS-4M with the released pretraining pipeline
# (RandomResizedCrop 224, scale 0.2-1.0, bicubic, horizontal flip).
# JPEGs are decoded at reduced size when the crop allows it (see
# docs/datasets.md). The image tree is scanned once and indexed; use
# variant='OpticalRS-13M' or 'MillionAID' and their data_root for the others.
dataset_type = 'RS4M'
data_root = 'data/OpticalRS-4M/'
# Storage backend of the images, the list file and the scan (mmengine.fileio),
# e.g. dict(backend='petrel'); None: local disk (or the path's URI prefix).
backend_args = None
# LoadRandomResizedCrop yields RGB: no channel flip. RSSelfSupDataPreprocessor
# is mmpretrain's SelfSupDataPreprocessor plus the device decode path and a
# guard against non-finite float inputs (identical on uint8 batches).
data_preprocessor = dict(
    type='RSSelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=False)

train_pipeline = [
    dict(
        type='LoadRandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.2, 1.0),
        interpolation='bicubic',
        reduced_decode=True,
        backend_args=backend_args),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]
# The same crops decoded on the model's device (docs/datasets.md, "Device
# decode"): the workers only read JPEG bytes and draw crop box and flip; the
# data preprocessor decodes (nvjpeg on a GPU), crops, resizes and flips.
# Switch it on in a config that inherits this file:
#   train_dataloader = dict(
#       dataset=dict(pipeline={{_base_.train_pipeline_device_decode}}))
# or inherit rs4m_bs256_pretrain_device-decode.py.
train_pipeline_device_decode = [
    dict(
        type='LoadEncodedRandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.2, 1.0),
        interpolation='bicubic',
        reduced_decode=True,
        flip_prob=0.5,
        backend_args=backend_args),
    dict(type='PackEncodedInputs')
]

train_dataloader = dict(
    batch_size=256,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='rs_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        variant='OpticalRS-4M',
        backend_args=backend_args,
        pipeline=train_pipeline))

# Names every undecodable file once and sums them up per epoch. A config
# that sets its own custom_hooks must list it again.
custom_hooks = [dict(type='BadImageHook')]
