"""Model configs of the smallest size the tests train: a 2-layer ViT of
width 64 on 32 px images with 8 px patches (16 patches), for SelectiveMAE
(4 visible, 4 targets) and for mmpretrain's MAE. Take a copy
(``copy.deepcopy``) before changing one."""

#: the encoder: 2 layers, width 64, 4 heads
TINY_VIT_ARCH = dict(
    embed_dims=64, num_layers=2, num_heads=4, feedforward_channels=128)

TINY_SELECTIVE_MAE = dict(
    type='SelectiveMAE',
    backbone=dict(
        type='SelectiveMAEViT', arch=TINY_VIT_ARCH, img_size=32,
        patch_size=8),
    selector=dict(type='PSTS', mask_ratio=0.75, recon_ratio=0.25),
    neck=dict(
        type='CrossAttentionDecoder',
        img_size=32,
        patch_size=8,
        embed_dim=64,
        decoder_embed_dim=32,
        decoder_depth=2,
        decoder_num_heads=4),
    head=dict(type='SelectiveMAEPretrainHead', norm_pix=True, patch_size=8))

TINY_MAE = dict(
    type='MAE',
    backbone=dict(
        type='MAEViT',
        arch=TINY_VIT_ARCH,
        img_size=32,
        patch_size=8,
        mask_ratio=0.75),
    neck=dict(
        type='MAEPretrainDecoder',
        num_patches=16,
        patch_size=8,
        embed_dim=64,
        decoder_embed_dim=32,
        decoder_depth=2,
        decoder_num_heads=4),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size=8,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')))
