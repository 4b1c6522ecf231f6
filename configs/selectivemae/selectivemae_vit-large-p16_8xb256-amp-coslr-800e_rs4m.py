_base_ = 'selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py'

model = dict(backbone=dict(arch='l'), neck=dict(embed_dim=1024))
