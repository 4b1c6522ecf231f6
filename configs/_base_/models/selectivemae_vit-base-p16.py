# SelectiveMAE ViT-B/16 at 224 px: 29 visible tokens (mask 0.85), 49 targets
# (recon 0.25), 8-block cross-attention decoder of width 512.
model = dict(
    type='SelectiveMAE',
    backbone=dict(type='SelectiveMAEViT', arch='b', patch_size=16),
    selector=dict(
        type='PSTS',
        mask_ratio=0.85,
        recon_ratio=0.25,
        num_rounds=2,
        curriculum_modes=('near', 'far', 'random'),
        curriculum_bounds=(0.35, 0.375, 0.725, 0.75),
        target_mode='sample',
        scorer=dict(
            type='HOGRichness',
            score='hog',
            temperature=1.0,
            cell_size=8,
            nbins=9)),
    neck=dict(
        type='CrossAttentionDecoder',
        img_size=224,
        patch_size=16,
        in_chans=3,
        embed_dim=768,
        decoder_embed_dim=512,
        decoder_depth=8,
        decoder_num_heads=16,
        mlp_ratio=4.,
        self_attn=False),
    head=dict(
        type='SelectiveMAEPretrainHead',
        norm_pix=True,
        patch_size=16,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])
