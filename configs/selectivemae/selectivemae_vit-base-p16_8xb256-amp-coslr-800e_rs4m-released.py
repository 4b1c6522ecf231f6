# The released SelectiveMAE recipe and model, ViT-B/16, decoder depth 8: the
# model of the released ViT-B checkpoints (converted whole with
# tools/model_converters/selectivemae_released_to_mmpretrain.py, they load
# here with no missing key, e.g. as `load_from` to continue pretraining).
# Sources, in the authors' repository (MiliLab/SelectiveMAE, SelectiveMAE/):
#   train.sh            the command line of the released run
#   main_pretrain.py    argparse defaults, lr rule, optimizer, data loader
#   engine_pretrain.py  per-iteration lr schedule, AMP, InfoBatch weighting
#   models_selectivemae.py, transformer_utils.py, token_selected_smooth.py
#                       model, decoder and token selection
# Deliberate difference: the richness score is the real HOG score; the
# released code's score is identically zero (uniform sampling): add
# `--cfg-options model.selector.scorer.score=uniform` to reproduce that.
_base_ = [
    '../_base_/models/selectivemae_vit-base-p16.py',
    # main_pretrain.py: InfoBatch(dataset, epochs, 0.5, 0.875): of the
    # samples whose last loss is below the mean, prune half each epoch,
    # weight the kept ones' loss by 1 / (1 - 0.5), stop after 0.875 of the
    # epochs
    '../_base_/datasets/rs4m_bs256_pretrain_infobatch.py',
    '../_base_/schedules/rs4m_adamw-bf16_coslr-800e.py',
    '../_base_/rs4m_pretrain_runtime.py',
    '_base_/selectivemae_rs4m_recipe.py',
]

# train.sh: --batch_size 256 on --nproc_per_node=8
total_batch = 8 * 256
# train.sh: --blr 1.5e-4; main_pretrain.py: lr = blr * batch / 256 *
# (kept_mask_ratio / mask_ratio)
base_lr = 1.5e-4
# train.sh: --mask_ratio 0.85 --kept_mask_ratio 0.25
mask_ratio = 0.85
recon_ratio = 0.25
lr = base_lr * total_batch / 256 * (recon_ratio / mask_ratio)
# train.sh: --epochs 800 --warmup_epochs 10 (main_pretrain.py's default of
# 40 is not what the released run used)
max_epochs = 800
warmup_epochs = 10

model = dict(
    # models_selectivemae.py: random_masking keeps int(L * (1 - mask_ratio))
    # tokens, half of them (int(len_keep / 2)) drawn from the score first,
    # then 2 expansion rounds (TokenSelect_smooth expansion_multiple_stage=2)
    # near -> far -> random switching at epochs 280/300/580/600 of 800
    # (expansion_step, smooth_scale_epoch 20), and int(L * kept_mask_ratio)
    # targets drawn by torch.multinomial from the score among the rest.
    selector=dict(
        mask_ratio=mask_ratio,
        recon_ratio=recon_ratio,
        num_rounds=2,
        curriculum_modes=('near', 'far', 'random'),
        curriculum_bounds=(280 / 800, 300 / 800, 580 / 800, 600 / 800),
        target_mode='sample'),
    neck=dict(
        # train.sh: --decoder_depth 8; models_selectivemae.py
        # mae_vit_base_patch16: decoder width 512, 16 heads, mlp ratio 4,
        # no self-attention (main_pretrain.py: --self_attn off)
        decoder_embed_dim=512,
        decoder_depth=8,
        decoder_num_heads=16,
        mlp_ratio=4.,
        self_attn=False,
        # transformer_utils.py CrossAttentionBlock(encoder_dim, decoder_dim):
        # kv straight from the encoder output, no LayerNorm on it
        memory_proj='per_block'),
    # train.sh: --norm_pix_loss; models_selectivemae.py forward_loss_sampling:
    # MSE on the targets only
    head=dict(norm_pix=True))

optim_wrapper = dict(
    # models_selectivemae.py forward: torch.cuda.amp.autocast() (float16),
    # main_pretrain.py: NativeScalerWithGradNormCount (dynamic loss scale,
    # no gradient clipping)
    type='AmpOptimWrapper',
    dtype='float16',
    loss_scale='dynamic',
    # main_pretrain.py: torch.optim.AdamW(lr, betas=(0.9, 0.95)), train.sh:
    # --weight_decay 0.05
    optimizer=dict(
        type='AdamW', lr=lr, betas=(0.9, 0.95), weight_decay=0.05),
    # main_pretrain.py: timm param_groups_weight_decay: two groups, no
    # weight decay on 1-D parameters and biases, decay on everything else
    # (cls and mask tokens included: no names exempted); the fixed position
    # embeddings are not trained
    constructor='DecayGroupsOptimWrapperConstructor',
    paramwise_cfg=dict(no_decay_names=()))
# engine_pretrain.py / util/lr_sched.py: per iteration, linear warm-up from 0,
# then half-cycle cosine to min_lr = 0 (main_pretrain.py default)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-9,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=0.,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)

# main_pretrain.py transform_train: RandomResizedCrop(224, scale=(0.2, 1.0),
# bicubic) of the fully decoded image, RandomHorizontalFlip, ImageNet
# mean/std (the data preprocessor of the base config)
train_pipeline = [
    dict(
        type='LoadRandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.2, 1.0),
        interpolation='bicubic',
        reduced_decode=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]
train_dataloader = dict(
    # main_pretrain.py: DataLoader(..., drop_last=True); train.sh:
    # --num_workers 12; pin_mem default True
    batch_size=256,
    num_workers=12,
    pin_memory=True,
    drop_last=True,
    dataset=dict(pipeline=train_pipeline))
custom_hooks = [
    dict(type='BadImageHook'),
    dict(type='PSTSProgressHook'),
    dict(type='InfoBatchHook'),
]
# main_pretrain.py: seed = args.seed (0) + rank
randomness = dict(seed=0, diff_rank_seed=True)
auto_scale_lr = dict(base_batch_size=total_batch)
