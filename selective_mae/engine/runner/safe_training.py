"""Fill a config with the crash-safe training pieces where it uses
mmengine's plain ones.

``tools/train.py`` calls :func:`apply_safe_training` on every config, so a
config written for stock mmengine (the demo, the downstream configs) gets,
with the same arguments:

- ``default_hooks.checkpoint``: ``CheckpointHook`` ->
  :class:`~selective_mae.engine.hooks.AtomicCheckpointHook`;
- ``train_cfg``: ``EpochBasedTrainLoop`` ->
  :class:`~selective_mae.engine.runner.ResumableEpochBasedTrainLoop`, and
  then ``train_dataloader.sampler``: ``DefaultSampler`` ->
  :class:`~selective_mae.datasets.samplers.ResumableSampler` (same order);
- ``custom_hooks``: a :class:`~selective_mae.engine.hooks.PreemptionHook`
  if there is none.

Types a config sets to anything else are left alone. ``safe_training =
False`` in a config turns all of it off.
"""
import copy

_SCOPE = 'mmpretrain'


def _is(cfg_type, name):
    return isinstance(cfg_type, str) and cfg_type.split('.')[-1] == name \
        and cfg_type.split('.')[0] in (name, 'mmengine')


def apply_safe_training(cfg):
    """Upgrade ``cfg`` in place (see the module notes).

    Args:
        cfg (Config): A training config.

    Returns:
        list[str]: One line per change, for the log.
    """
    if cfg.get('safe_training', True) is False:
        return []
    scope = cfg.get('default_scope', None)

    def ours(name):
        return name if scope == _SCOPE else f'{_SCOPE}.{name}'

    changes = []
    if cfg.get('default_hooks') is None:
        cfg.default_hooks = {}
    hooks = cfg.default_hooks
    if 'checkpoint' not in hooks:  # mmengine would add CheckpointHook
        hooks['checkpoint'] = dict(type='CheckpointHook', interval=1)
    ckpt = hooks.get('checkpoint')
    if ckpt is not None and _is(ckpt.get('type'), 'CheckpointHook'):
        ckpt['type'] = ours('AtomicCheckpointHook')
        changes.append('default_hooks.checkpoint: CheckpointHook -> '
                       'AtomicCheckpointHook (atomic, fsynced saves)')

    train_cfg = cfg.get('train_cfg')
    loop_ours = False
    if train_cfg is not None:
        loop_type = train_cfg.get('type')
        if loop_type is None and train_cfg.get('by_epoch', False):
            train_cfg.pop('by_epoch')
            loop_type = 'EpochBasedTrainLoop'
        if loop_type is not None and _is(loop_type, 'EpochBasedTrainLoop'):
            train_cfg['type'] = ours('ResumableEpochBasedTrainLoop')
            changes.append('train_cfg: EpochBasedTrainLoop -> '
                           'ResumableEpochBasedTrainLoop (exact mid-epoch '
                           'resume)')
            loop_ours = True
        elif loop_type is not None:
            train_cfg['type'] = loop_type
            loop_ours = 'ResumableEpochBasedTrainLoop' in str(loop_type)
    loader = cfg.get('train_dataloader')
    sampler = (loader or {}).get('sampler')
    if loop_ours and isinstance(sampler, dict) and _is(
            sampler.get('type'), 'DefaultSampler'):
        sampler['type'] = ours('ResumableSampler')
        changes.append('train_dataloader.sampler: DefaultSampler -> '
                       'ResumableSampler (same order, resumable)')

    if ckpt is not None and train_cfg is not None:
        custom = list(copy.deepcopy(cfg.get('custom_hooks', None) or []))
        if not any('PreemptionHook' in str(h.get('type', ''))
                   for h in custom):
            custom.append(dict(type=ours('PreemptionHook')))
            cfg.custom_hooks = custom
            changes.append('custom_hooks: + PreemptionHook (SIGTERM / '
                           'SIGUSR1: save at the next iteration, exit 75)')
    return changes
