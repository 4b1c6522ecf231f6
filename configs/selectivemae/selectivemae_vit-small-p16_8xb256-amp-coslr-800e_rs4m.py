# ViT-S/16 (384 wide, 12 layers, 6 heads: timm's vit_small / DeiT-S).
_base_ = 'selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py'

model = dict(
    backbone=dict(arch='deit-small'), neck=dict(embed_dim=384))
