# OpticalRS-4M with the released pretraining pipeline
# (RandomResizedCrop 224, scale 0.2-1.0, bicubic, horizontal flip).
# JPEGs are decoded at reduced size when the crop allows it (see
# docs/datasets.md). The image tree is scanned once and indexed; use
# variant='OpticalRS-13M' or 'MillionAID' and their data_root for the others.
dataset_type = 'RS4M'
data_root = 'data/OpticalRS-4M/'
# LoadRandomResizedCrop yields RGB: no channel flip.
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=False)

train_pipeline = [
    dict(
        type='LoadRandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.2, 1.0),
        interpolation='bicubic',
        reduced_decode=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
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
        pipeline=train_pipeline))

# Names every undecodable file once and sums them up per epoch. A config
# that sets its own custom_hooks must list it again.
custom_hooks = [dict(type='BadImageHook')]
