"""Train for a fixed budget of wall-clock seconds or images."""
import json
import math
import os
import os.path as osp
import time
from typing import Optional, Sequence

import torch
from mmengine.dist import broadcast, get_dist_info, is_main_process
from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop

from mmpretrain.registry import HOOKS
from ...evaluation.knn_probe import unwrap_model


@HOOKS.register_module()
class TrainBudgetHook(Hook):
    """Stop training when a budget is spent, with the schedule over it.

    For comparing methods at equal cost (``tools/analysis_tools/
    compare_pretrain.py``): training runs until ``budget`` seconds of
    wall-clock training time (``unit='s'``, counted from the first iteration,
    without the time spent saving snapshots) or ``budget`` training images
    (``unit='images'``, summed over ranks) are used up. Before every
    iteration, the fraction ``p`` of the budget used so far drives

    * the learning rate of every parameter group: linear warm-up over the
      first ``warmup`` of the budget, then cosine to ``min_lr_ratio`` of
      the group's initial rate (so each method finishes its schedule within
      the budget, whatever its speed);
    * the PSTS curriculum, ``set_progress(p)`` on every module that has it.

    Snapshots of the model weights are written at ``snapshots`` fractions of
    the budget to ``<work_dir>/budget/`` with a ``budget_log.json`` that
    says, for each, the fraction, seconds, images, iterations and the main
    process's CPU seconds.

    Needs an ``IterBasedTrainLoop`` (a large ``max_iters``: the budget
    stops it) and no ``param_scheduler``.

    Args:
        budget (float): Seconds or images.
        unit (str): ``'s'`` or ``'images'``.
        warmup (float): Warm-up share of the budget. Defaults to 0.05.
        min_lr_ratio (float): Final lr over the initial one. Defaults to 0.
        snapshots (Sequence[float]): Fractions of the budget at which the
            weights are saved. Defaults to (0, 0.25, 0.5, 0.75, 1).
        out_dir (str, optional): Where snapshots go. Defaults to
            ``<work_dir>/budget``.
    """

    priority = 'LOW'  # after PSTSProgressHook (NORMAL), so p wins

    def __init__(self,
                 budget: float,
                 unit: str = 's',
                 warmup: float = 0.05,
                 min_lr_ratio: float = 0.,
                 snapshots: Sequence[float] = (0, 0.25, 0.5, 0.75, 1.),
                 out_dir: Optional[str] = None):
        if unit not in ('s', 'images'):
            raise ValueError(f"TrainBudgetHook: unit must be 's' or "
                             f"'images', got {unit!r}")
        if not budget > 0:
            raise ValueError(f'TrainBudgetHook: budget must be > 0, got '
                             f'{budget}')
        if not 0 <= warmup < 1:
            raise ValueError(f'TrainBudgetHook: warmup must be in [0, 1), '
                             f'got {warmup}')
        bad = [s for s in snapshots if not 0 <= s <= 1]
        if bad:
            raise ValueError(f'TrainBudgetHook: snapshot fractions must be '
                             f'in [0, 1], got {bad}')
        self.budget = float(budget)
        self.unit = unit
        self.warmup = warmup
        self.min_lr_ratio = min_lr_ratio
        self.snapshots = sorted(set(float(s) for s in snapshots))
        self.out_dir = out_dir

    # ------------------------------------------------------------ budget
    def lr_factor(self, p: float) -> float:
        """The learning-rate multiplier at budget fraction ``p``."""
        p = min(max(p, 0.), 1.)
        if p < self.warmup:
            return p / self.warmup
        q = (p - self.warmup) / (1 - self.warmup)
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (
            1 + math.cos(math.pi * q))

    def _elapsed(self) -> float:
        return time.perf_counter() - self._t0 - self._paused

    def used(self) -> float:
        """Budget used so far, in the budget's unit (rank 0's clock)."""
        if self.unit == 'images':
            return float(self._images)
        value = torch.tensor([self._elapsed()], dtype=torch.float64)
        if self._world > 1:
            broadcast(value, 0)  # every rank stops at the same iteration
        return float(value)

    def _apply(self, runner, p: float) -> None:
        factor = self.lr_factor(p)
        for group, lr in zip(self._param_groups(runner), self._base_lrs):
            group['lr'] = lr * factor
        for module in self._progress_modules:
            module.set_progress(min(p, 1.))

    @staticmethod
    def _param_groups(runner):
        wrapper = runner.optim_wrapper
        if hasattr(wrapper, 'optim_wrappers'):  # OptimWrapperDict
            return [g for w in wrapper.optim_wrappers.values()
                    for g in w.param_groups]
        return wrapper.param_groups

    # ------------------------------------------------------------- hooks
    def before_train(self, runner) -> None:
        if not isinstance(runner.train_loop, IterBasedTrainLoop):
            raise ValueError(
                'TrainBudgetHook needs an IterBasedTrainLoop (set a large '
                f'max_iters; the budget stops it), got '
                f'{type(runner.train_loop).__name__}')
        if runner.param_schedulers:
            raise ValueError(
                'TrainBudgetHook sets the learning rate from the budget; '
                'remove param_scheduler from the config')
        _, self._world = get_dist_info()
        self._out_dir = self.out_dir or osp.join(runner.work_dir, 'budget')
        self._base_lrs = [g['lr'] for g in self._param_groups(runner)]
        model = unwrap_model(runner.model)
        self._progress_modules = [
            m for m in model.modules() if callable(
                getattr(m, 'set_progress', None))
        ]
        self._images = 0
        self._iters = 0
        self._paused = 0.
        self._next = 0
        self._log = []
        self._cpu0 = time.process_time()
        self._t0 = time.perf_counter()
        self._maybe_snapshot(runner, 0.)
        runner.logger.info(
            f'TrainBudgetHook: {self.budget:g} '
            f'{"seconds" if self.unit == "s" else "images"}, warm-up '
            f'{self.warmup:g}, snapshots at {self.snapshots} -> '
            f'{self._out_dir}')

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._apply(runner, self.used() / self.budget)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        inputs = data_batch['inputs'] if isinstance(data_batch,
                                                     dict) else None
        n = len(inputs) if inputs is not None else 0
        self._images += n * self._world
        self._iters += 1
        p = self.used() / self.budget
        self._maybe_snapshot(runner, p)
        if p >= 1:
            runner.train_loop.stop_training = True
            runner.logger.info(
                f'TrainBudgetHook: budget spent after {self._iters} '
                f'iterations, {self._images} images, '
                f'{self._elapsed():.1f} s')

    def _maybe_snapshot(self, runner, p: float) -> None:
        while self._next < len(self.snapshots) and \
                p >= self.snapshots[self._next]:
            frac = self.snapshots[self._next]
            self._next += 1
            start = time.perf_counter()
            entry = dict(
                fraction=frac,
                seconds=self._elapsed(),
                images=self._images,
                iters=self._iters,
                cpu_s=time.process_time() - self._cpu0,
                lr_factor=self.lr_factor(p),
                file=f'budget_{int(round(frac * 100)):03d}.pth')
            if is_main_process():
                os.makedirs(self._out_dir, exist_ok=True)
                path = osp.join(self._out_dir, entry['file'])
                state = {
                    k: v.detach().cpu()
                    for k, v in unwrap_model(runner.model).state_dict().items()
                }
                torch.save(dict(state_dict=state, meta=dict(budget=entry)),
                           path + '.tmp')
                os.replace(path + '.tmp', path)
                self._log.append(entry)
                with open(osp.join(self._out_dir, 'budget_log.json.tmp'),
                          'w') as f:
                    json.dump(
                        dict(budget=self.budget, unit=self.unit,
                             warmup=self.warmup, snapshots=self._log), f,
                        indent=1)
                os.replace(
                    osp.join(self._out_dir, 'budget_log.json.tmp'),
                    osp.join(self._out_dir, 'budget_log.json'))
            self._paused += time.perf_counter() - start
