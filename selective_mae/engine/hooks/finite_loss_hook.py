"""Stop training cleanly at the first NaN or Inf loss.

mmrotate 1.0.0rc1 two-stage detectors are known to diverge to NaN losses; a
run that goes on then writes checkpoints of NaN weights over the good ones.
This hook reads the losses of each iteration from the message hub, where
mmengine's ``RuntimeInfoHook`` (priority VERY_HIGH) has already put them as
host floats, so the check adds no device synchronisation. It runs before
``CheckpointHook`` (VERY_LOW) in ``after_train_iter`` and refuses any later
save, so the newest checkpoint on disk is the last good one.
"""
import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.registry import HOOKS as ROOT_HOOKS


class NonFiniteLossError(RuntimeError):
    """Raised when a training loss is NaN or Inf."""


@ROOT_HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` on the first non-finite loss.

    Registered in mmengine's root ``HOOKS`` registry: usable from mmpretrain,
    mmdet/mmrotate and mmseg configs as
    ``custom_hooks = [dict(type='FiniteLossHook')]``.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1
            (the values are already on the host, so checking is free).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, interval: int = 1):
        if interval < 1:
            raise ValueError(f'FiniteLossHook: interval must be >= 1, got '
                             f'{interval}')
        self.interval = interval
        self._bad: Optional[str] = None

    def before_train(self, runner) -> None:
        self._bad = None

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        hub = runner.message_hub
        bad = {}
        for key in outputs:
            buffer = hub.log_scalars.get(f'train/{key}')
            if buffer is None or 'loss' not in key:
                continue
            value = float(buffer.current())
            if not math.isfinite(value):
                bad[key] = value
        if bad:
            last = hub.get_info('last_ckpt')
            where = (f'the last good checkpoint is {last}'
                     if last else 'no checkpoint was saved before it')
            self._bad = (
                f'Non-finite loss at iteration {runner.iter + 1} (epoch '
                f'{runner.epoch + 1}): '
                + ', '.join(f'{k}={v}' for k, v in bad.items())
                + f'. Training stopped; {where}. Lower the learning rate, '
                'lengthen the warm-up or enable gradient clipping '
                '(optim_wrapper.clip_grad), then resume from that '
                'checkpoint with --resume.')
            runner.logger.error(self._bad)
            raise NonFiniteLossError(self._bad)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._bad is not None:
            raise NonFiniteLossError(
                f'Refusing to save a checkpoint after a non-finite loss: '
                f'{self._bad}')
