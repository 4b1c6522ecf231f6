# Decoder depth 12, the paper's best setting.
_base_ = 'selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m.py'

model = dict(neck=dict(decoder_depth=12))
