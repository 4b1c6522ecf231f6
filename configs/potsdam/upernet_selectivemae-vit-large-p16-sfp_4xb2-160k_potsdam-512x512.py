# ViT-L/16 (24 layers, width 1024, features after blocks 7/11/15/23) in
# place of ViT-B: only the lines that differ from the ViT-B config. Layer
# decay needs no change: the constructor reads the depth (24) from the
# backbone.
_base_ = './upernet_selectivemae-vit-base-p16-sfp_4xb2-160k_potsdam-512x512.py'

pretrained = 'checkpoints/selectivemae_vit-large-p16_rs4m.pth'
model = dict(
    backbone=dict(
        arch='large',
        out_indices=(7, 11, 15, 23),
        init_cfg=dict(checkpoint=pretrained)),
    neck=dict(in_channels=1024),
    decode_head=dict(in_channels=[1024] * 4),
    auxiliary_head=dict(in_channels=1024))
