# Full fine-tuning of a SelectiveMAE/MAE ViT-B/16 on a scene data set: the
# released recipe (mmpretrain's MAE ViT-B fine-tuning, which already has
# 100 epochs with 5 warm-up, drop path 0.1, Mixup 0.8 / CutMix 1.0, label
# smoothing 0.1, RandAugment m9, random erasing 0.25), with layer decay 0.75
# and base lr 1e-3 at batch 1024, scaled to the actual total batch.
_base_ = 'mmpretrain::mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py'

custom_imports = dict(imports=['selective_mae'], allow_failed_imports=False)

# Our checkpoint, its backbone file, or a released (timm layout) file; set
# with --cfg-options model.backbone.init_cfg.checkpoint=PATH.
pretrained = None

model = dict(
    backbone=dict(
        # mmpretrain's ViT that loads either checkpoint layout.
        type='PlainViT',
        out_indices=(-1, ),
        with_cls_token=True,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(num_classes=1000))

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    dataset=dict(type='SceneClassificationDataset', data_root='data/'))
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    dataset=dict(type='SceneClassificationDataset', data_root='data/'))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(lr=1e-3),
    constructor='ViTLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.75))

auto_scale_lr = dict(base_batch_size=1024, enable=True)

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook',
        interval=10,
        max_keep_ckpts=1,
        save_best='accuracy/top1'))
