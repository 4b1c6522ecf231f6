# Stock mmpretrain MAE with the encoder, data, optimizer, schedule and k-NN
# probe of the SelectiveMAE demo (4-layer ViT of width 192, patch 8, 64 px
# crops of the generated demo scenes, 20 epochs): the MAE side of
# tools/analysis_tools/compare_pretrain.py at demo size. Only the algorithm
# differs: random masking of 75% (16 of 64 patches encoded) and a 2-block
# self-attention decoder of width 128 over all 64 tokens, loss on the 48
# masked ones.
_base_ = ['../selectivemae/selectivemae_vit-tiny-p8_1xb16-20e_demo.py']

img_size = 64
patch_size = 8
model = dict(
    _delete_=True,
    type='MAE',
    backbone=dict(
        type='MAEViT',
        arch=dict(
            embed_dims=192,
            num_layers=4,
            num_heads=3,
            feedforward_channels=768),
        img_size=img_size,
        patch_size=patch_size,
        mask_ratio=0.75),
    neck=dict(
        type='MAEPretrainDecoder',
        num_patches=(img_size // patch_size)**2,
        patch_size=patch_size,
        in_chans=3,
        embed_dim=192,
        decoder_embed_dim=128,
        decoder_depth=2,
        decoder_num_heads=4,
        mlp_ratio=4.),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size=patch_size,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])

# The base's hooks without the PSTS curriculum (MAE has no selector).
knn_probe = {{_base_.knn_probe}}
custom_hooks = [
    dict(type='BadImageHook'),
    dict(type='KNNEvalHook', probe=knn_probe, interval=5),
]
