# Generated demo scenes (tools/dataset/make_demo_data.py), 64 px crops.
# RS4M scans data_root once and caches the list in data_root/.rs4m_index.txt.
dataset_type = 'RS4M'
data_root = 'data/demo_rs/'
# Storage backend (mmengine.fileio); None: local disk.
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
        scale=64,
        crop_ratio_range=(0.2, 1.0),
        interpolation='bicubic',
        backend_args=backend_args),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]
# The same crops decoded on the model's device (see rs4m_bs256_pretrain.py):
#   train_dataloader = dict(
#       dataset=dict(pipeline={{_base_.train_pipeline_device_decode}}))
train_pipeline_device_decode = [
    dict(
        type='LoadEncodedRandomResizedCrop',
        scale=64,
        crop_ratio_range=(0.2, 1.0),
        interpolation='bicubic',
        flip_prob=0.5,
        backend_args=backend_args),
    dict(type='PackEncodedInputs')
]

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='rs_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        backend_args=backend_args,
        pipeline=train_pipeline))

# Names every undecodable file once and sums them up per epoch. A config
# that sets its own custom_hooks must list it again.
custom_hooks = [dict(type='BadImageHook')]
