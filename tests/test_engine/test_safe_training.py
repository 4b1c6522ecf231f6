"""apply_safe_training: mmengine's plain pieces are swapped for the
crash-safe ones, with the same arguments; anything else is left alone."""
from mmengine.config import Config

import selective_mae  # noqa: F401
from selective_mae.engine.runner import apply_safe_training

DEMO = 'configs/selectivemae/selectivemae_vit-tiny-p8_1xb16-20e_demo.py'


def test_demo_config_gets_every_piece(repo_root):
    cfg = Config.fromfile(f'{repo_root}/{DEMO}')
    ckpt = dict(cfg.default_hooks.checkpoint)
    changes = apply_safe_training(cfg)
    assert len(changes) == 4
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert {k: v for k, v in cfg.default_hooks.checkpoint.items()
            if k != 'type'} == {k: v for k, v in ckpt.items() if k != 'type'}
    assert cfg.train_cfg.type == 'ResumableEpochBasedTrainLoop'
    assert cfg.train_dataloader.sampler.type == 'ResumableSampler'
    assert cfg.custom_hooks[-1] == dict(type='PreemptionHook')
    assert apply_safe_training(cfg) == []  # once is enough


def test_other_types_scopes_and_the_switch():
    cfg = Config(dict(
        default_scope='mmseg',
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           by_epoch=False)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=10),
        train_dataloader=dict(sampler=dict(type='InfiniteSampler'))))
    apply_safe_training(cfg)
    assert cfg.default_hooks.checkpoint.type == \
        'mmpretrain.AtomicCheckpointHook'
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    assert cfg.custom_hooks == [dict(type='mmpretrain.PreemptionHook')]

    cfg = Config(dict(default_scope='mmpretrain', safe_training=False,
                      train_cfg=dict(by_epoch=True, max_epochs=1)))
    assert apply_safe_training(cfg) == [] and 'type' not in cfg.train_cfg

    # no checkpoint hook in the config: mmengine's default one is replaced
    cfg = Config(dict(default_scope='mmpretrain',
                      train_cfg=dict(by_epoch=True, max_epochs=1)))
    apply_safe_training(cfg)
    assert cfg.default_hooks.checkpoint == dict(type='AtomicCheckpointHook',
                                                interval=1)
    assert cfg.train_cfg == dict(type='ResumableEpochBasedTrainLoop',
                                 max_epochs=1)
