# ViT-L/16 (24 layers, width 1024, features after blocks 7/11/15/23) in
# place of ViT-B: only the lines that differ from the ViT-B config. Layer
# decay needs no change: the constructor reads the depth (24) from the
# backbone.
_base_ = './faster-rcnn_selectivemae-vit-base-p16-sfp_fpn_4xb1-1x_dior.py'

pretrained = 'checkpoints/selectivemae_vit-large-p16_rs4m.pth'
model = dict(
    backbone=dict(
        arch='large',
        out_indices=(7, 11, 15, 23),
        # activation checkpointing, as the authors' ViT-L DIOR config
        with_cp=True,
        init_cfg=dict(checkpoint=pretrained)),
    neck=[
        dict(_base_.model.neck[0], in_channels=1024),
        dict(_base_.model.neck[1], in_channels=[1024] * 4),
    ])
