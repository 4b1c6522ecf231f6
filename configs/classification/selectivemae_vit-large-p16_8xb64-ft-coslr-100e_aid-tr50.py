# ViT-L/16 (24 layers, width 1024) in place of ViT-B: only the lines that
# differ from the ViT-B config. Layer decay needs no change: the constructor
# reads the depth (24) from the backbone.
_base_ = './selectivemae_vit-base-p16_8xb64-ft-coslr-100e_aid-tr50.py'

model = dict(
    backbone=dict(arch='large'),
    head=dict(in_channels=1024))
