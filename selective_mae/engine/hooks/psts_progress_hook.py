"""Drive the PSTS curriculum by training progress."""
from typing import List, Optional

from mmengine.dist import broadcast_object_list
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop

from mmpretrain.registry import HOOKS
from ...models.selectors.psts import PSTS


def broadcast_seed(seed):
    """Rank 0's seed on every rank (the run's seed: with
    ``randomness.diff_rank_seed`` the other ranks add their rank)."""
    box = [seed]
    broadcast_object_list(box, src=0)
    return box[0]


@HOOKS.register_module()
class PSTSProgressHook(Hook):
    """Set the training progress t in [0, 1] on every PSTS module.

    Before every training iteration, ``t`` is the fraction of training
    done: ``(epoch + batch_idx / len(train_dataloader)) / max_epochs`` in an
    epoch-based loop (exact even when data pruning changes the length of an
    epoch), ``iter / max_iters`` in an iteration-based loop. The value is
    also written to ``checkpoint['meta']['psts_progress']`` and set back
    from it when a checkpoint is loaded, so a resumed run starts where the
    curriculum stopped.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._cached = None  # (model, [PSTS modules]) found in before_train

    def _selectors(self, runner) -> List[PSTS]:
        """The PSTS modules of the runner's model, looked up once per model
        (not by walking ``model.modules()`` every iteration)."""
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        if self._cached is None or self._cached[0] is not model:
            self._cached = (model, [
                m for m in model.modules() if isinstance(m, PSTS)
            ])
        return self._cached[1]

    def _set(self, runner, t: float) -> None:
        t = min(max(float(t), 0.), 1.)
        for selector in self._selectors(runner):
            selector.set_progress(t)

    @staticmethod
    def progress(runner, batch_idx: Optional[int] = None) -> float:
        """Fraction of training done before the current iteration.

        Args:
            runner (Runner): The runner.
            batch_idx (int, optional): Index of the batch in the epoch
                (epoch-based loops).

        Returns:
            float: t in [0, 1].
        """
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop) and batch_idx is not None:
            return (runner.epoch + batch_idx / max(
                len(loop.dataloader), 1)) / loop.max_epochs
        return runner.iter / runner.max_iters

    def before_train(self, runner) -> None:
        if not self._selectors(runner):
            raise RuntimeError('PSTSProgressHook: the model has no PSTS '
                               'module; remove the hook or add a selector')
        self._set(runner, self.progress(runner))
        self._seed = broadcast_seed(runner.seed)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        t = min(max(float(self.progress(runner, batch_idx)), 0.), 1.)
        # PSTS draws keyed by (run seed, iteration, sample): see set_noise_key
        for selector in self._selectors(runner):
            selector.set_progress(t)
            selector.set_noise_key(self._seed, runner.iter)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        selectors = self._selectors(runner)
        if selectors:
            checkpoint.setdefault('meta', {})['psts_progress'] = \
                selectors[0].progress

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        t = checkpoint.get('meta', {}).get('psts_progress')
        if t is not None:
            self._set(runner, t)
