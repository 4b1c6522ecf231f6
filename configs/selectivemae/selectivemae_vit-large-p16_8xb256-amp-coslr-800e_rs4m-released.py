# The released recipe, ViT-L/16: the model of the released ViT-L checkpoints
# (models_selectivemae.py mae_vit_large_patch16: 24 layers, width 1024,
# 16 heads; decoder width 512, depth 8 as the released ViT-L files hold).
# The authors' README trains ViT-L by swapping --model in its command line;
# the depth-8 run's other values (warm-up 10 epochs, train.sh) are the ViT-B
# `-released` config's, inherited unchanged.
_base_ = 'selectivemae_vit-base-p16_8xb256-amp-coslr-800e_rs4m-released.py'

# README: --model mae_vit_large_patch16; the decoder reads the 1024-wide
# encoder output directly (cross_attn.kv: 1024 -> 2 x 512)
model = dict(backbone=dict(arch='l'), neck=dict(embed_dim=1024))
