# ViT-L/16 (24 layers, width 1024) in place of ViT-B: only the lines that
# differ from the ViT-B config. Layer decay needs no change: the constructor
# reads the depth (24) from the backbone.
_base_ = './selectivemae_vit-base-p16_8xb128-linear-coslr-100e_aid-tr20.py'

model = dict(
    backbone=dict(arch='large', frozen_stages=24),  # all 24 frozen
    neck=dict(input_features=1024),
    head=dict(in_channels=1024))
