# ViT-L/16 (24 layers, width 1024, features after blocks 7/11/15/23) in
# place of ViT-B: only the lines that differ from the ViT-B config. Layer
# decay needs no change: the constructor reads the depth (24) from the
# backbone.
_base_ = './oriented-rcnn-le90_selectivemae-vit-base-p16-sfp_fpn_4xb2-1x_dota-ms.py'  # noqa: E501

pretrained = 'checkpoints/selectivemae_vit-large-p16_rs4m.pth'
model = dict(
    backbone=dict(
        arch='large',
        out_indices=(7, 11, 15, 23),
        # ViTDet's ViT-L: global attention in blocks 5/11/17/23
        global_attn_indexes=(5, 11, 17, 23),
        init_cfg=dict(checkpoint=pretrained)),
    neck=[
        dict(_base_.model.neck[0], in_channels=1024),
        dict(_base_.model.neck[1], in_channels=[1024] * 4),
    ])
